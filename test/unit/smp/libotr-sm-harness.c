/*
 * Drives libotr 4.1.1's SMP maths (sm.h: otrl_sm_step1 .. otrl_sm_step5) directly, one
 * OtrlSMState per process, for test/unit/smp/libotr-sm.test.ts.
 *
 * Protocol: one command per line on stdin, one answer line on stdout.
 *   step1 <secret-hex>            -> "<err> <prog> <output-hex>"
 *   step2a <input-hex> <0|1>      -> "<err> <prog> -"
 *   step2b <secret-hex>           -> "<err> <prog> <output-hex>"
 *   step3 <input-hex>             -> "<err> <prog> <output-hex or ->"
 *   step4 <input-hex>             -> "<err> <prog> <output-hex or ->"
 *   step5 <input-hex>             -> "<err> <prog> -"
 * err is gcry_err_code (0 = success), prog is sm_prog_state (0 ok, 1 succeeded, -1 failed,
 * -2 cheated). Secrets are the 32-byte combined SMP secret (libotr's caller hashes it).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gcrypt.h>
#include <libotr/proto.h>
#include <libotr/sm.h>

static unsigned char *from_hex(const char *hex, int *len) {
    size_t n = strlen(hex) / 2;
    unsigned char *out = malloc(n ? n : 1);
    for (size_t i = 0; i < n; i++) {
        unsigned int b;
        sscanf(hex + 2 * i, "%2x", &b);
        out[i] = (unsigned char)b;
    }
    *len = (int)n;
    return out;
}

static void answer(gcry_error_t err, const OtrlSMState *st, const unsigned char *out, int outlen) {
    printf("%d %d ", (int)gcry_err_code(err), (int)st->sm_prog_state);
    if (out && outlen > 0) {
        for (int i = 0; i < outlen; i++) printf("%02x", out[i]);
    } else {
        printf("-");
    }
    printf("\n");
    fflush(stdout);
}

int main(void) {
    static char line[1 << 17];
    OtrlSMState st;
    OTRL_INIT;
    otrl_sm_state_new(&st);
    otrl_sm_state_init(&st);
    while (fgets(line, sizeof line, stdin)) {
        char cmd[16], arg[sizeof line];
        int flag = 0, len = 0, outlen = 0;
        unsigned char *in, *out = NULL;
        gcry_error_t err;
        line[strcspn(line, "\n")] = 0;
        if (sscanf(line, "%15s %s %d", cmd, arg, &flag) < 2) {
            if (strcmp(line, "quit") == 0) break;
            printf("bad command\n");
            fflush(stdout);
            continue;
        }
        in = from_hex(arg, &len);
        if (strcmp(cmd, "step1") == 0) {
            err = otrl_sm_step1(&st, in, len, &out, &outlen);
        } else if (strcmp(cmd, "step2a") == 0) {
            err = otrl_sm_step2a(&st, in, len, flag);
        } else if (strcmp(cmd, "step2b") == 0) {
            err = otrl_sm_step2b(&st, in, len, &out, &outlen);
        } else if (strcmp(cmd, "step3") == 0) {
            err = otrl_sm_step3(&st, in, len, &out, &outlen);
        } else if (strcmp(cmd, "step4") == 0) {
            err = otrl_sm_step4(&st, in, len, &out, &outlen);
        } else if (strcmp(cmd, "step5") == 0) {
            err = otrl_sm_step5(&st, in, len);
        } else {
            free(in);
            printf("bad command\n");
            fflush(stdout);
            continue;
        }
        answer(err, &st, out, outlen);
        free(out);
        free(in);
    }
    otrl_sm_state_free(&st);
    return 0;
}
