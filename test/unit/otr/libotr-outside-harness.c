/*
 * Test harness: runs libotr 4.1.1's own parsers and builders for the "outside" of OTR
 * messages (message type, query and whitespace-tag versions, default query message, TLV
 * parsing, fragment creation and reassembly, instance tags), so that
 * libotr-outside.test.ts can compare them with ours. One command per input line, arguments
 * separated by spaces, strings hex-encoded; one output line per command.
 *
 * Build: gcc -O2 libotr-outside-harness.c $(libgcrypt-config --cflags --libs) -lotr
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gcrypt.h>
#include <libotr/proto.h>
#include <libotr/context.h>
#include <libotr/userstate.h>
#include <libotr/tlv.h>

/* Hex to bytes (NUL-terminated); a missing argument or "-" is the empty string. */
static unsigned char *unhex(const char *hex, size_t *len) {
    if (hex == NULL || !strcmp(hex, "-")) hex = "";
    size_t n = strlen(hex) / 2;
    unsigned char *out = malloc(n + 1);
    for (size_t i = 0; i < n; i++) {
        unsigned int b;
        sscanf(hex + 2 * i, "%2x", &b);
        out[i] = (unsigned char)b;
    }
    out[n] = 0;
    if (len) *len = n;
    return out;
}

static void puthex(const unsigned char *data, size_t len) {
    if (len == 0) { putchar('-'); return; }
    for (size_t i = 0; i < len; i++) printf("%02x", data[i]);
}

static ConnContext *fresh_context(OtrlUserState us, const char *name) {
    return otrl_context_find(us, name, "me@example.org", "xmpp", OTRL_INSTAG_MASTER, 1, NULL, NULL, NULL);
}

int main(void) {
    static char line[1 << 22];
    OTRL_INIT;
    OtrlUserState us = otrl_userstate_create();
    ConnContext *acc = fresh_context(us, "accumulate");
    int counter = 0;
    while (fgets(line, sizeof line, stdin)) {
        char *cmd = strtok(line, " \n");
        if (!cmd) continue;
        if (!strcmp(cmd, "type")) {
            char *msg = (char *)unhex(strtok(NULL, " \n"), NULL);
            printf("%d\n", (int)otrl_proto_message_type(msg));
            free(msg);
        } else if (!strcmp(cmd, "query")) {
            char *msg = (char *)unhex(strtok(NULL, " \n"), NULL);
            printf("%u %u %u\n", otrl_proto_query_bestversion(msg, OTRL_POLICY_ALLOW_V1),
                   otrl_proto_query_bestversion(msg, OTRL_POLICY_ALLOW_V2),
                   otrl_proto_query_bestversion(msg, OTRL_POLICY_ALLOW_V3));
            free(msg);
        } else if (!strcmp(cmd, "white")) {
            char *msg = (char *)unhex(strtok(NULL, " \n"), NULL);
            const char *s = NULL, *e = NULL;
            unsigned int v1 = otrl_proto_whitespace_bestversion(msg, &s, &e, OTRL_POLICY_ALLOW_V1);
            unsigned int v2 = otrl_proto_whitespace_bestversion(msg, &s, &e, OTRL_POLICY_ALLOW_V2);
            unsigned int v3 = otrl_proto_whitespace_bestversion(msg, &s, &e, OTRL_POLICY_ALLOW_V3);
            printf("%u %u %u %ld %ld\n", v1, v2, v3, s ? (long)(s - msg) : -1L, e ? (long)(e - msg) : -1L);
            free(msg);
        } else if (!strcmp(cmd, "defq")) {
            char *name = (char *)unhex(strtok(NULL, " \n"), NULL);
            unsigned int policy = (unsigned int)strtoul(strtok(NULL, " \n"), NULL, 10);
            char *q = otrl_proto_default_query_msg(name, policy);
            puthex((unsigned char *)q, strlen(q));
            putchar('\n');
            free(q);
            free(name);
        } else if (!strcmp(cmd, "tlv")) {
            size_t len;
            unsigned char *data = unhex(strtok(NULL, " \n"), &len);
            OtrlTLV *tlvs = otrl_tlv_parse(data, len);
            if (!tlvs) putchar('-');
            for (OtrlTLV *t = tlvs; t; t = t->next) {
                printf("%u:", t->type);
                puthex(t->data, t->len);
                if (t->next) putchar(' ');
            }
            putchar('\n');
            otrl_tlv_free(tlvs);
            free(data);
        } else if (!strcmp(cmd, "frag")) {
            int version = atoi(strtok(NULL, " \n"));
            unsigned int ours = (unsigned int)strtoul(strtok(NULL, " \n"), NULL, 10);
            unsigned int theirs = (unsigned int)strtoul(strtok(NULL, " \n"), NULL, 10);
            int mms = atoi(strtok(NULL, " \n"));
            char *msg = (char *)unhex(strtok(NULL, " \n"), NULL);
            char name[32];
            snprintf(name, sizeof name, "frag%d", counter++);
            ConnContext *ctx = fresh_context(us, name);
            ctx->protocol_version = version;
            ctx->auth.protocol_version = version;
            ctx->our_instance = ours;
            ctx->their_instance = theirs;
            /* message.c fragment_and_send: same header length and count formula. */
            int headerlen = version == 3 ? 37 : 19;
            int msglen = (int)strlen(msg);
            int count = ((msglen - 1) / (mms - headerlen)) + 1;
            char **fragments = NULL;
            if (otrl_proto_fragment_create(mms, count, &fragments, ctx, msg)) {
                printf("error\n");
            } else {
                for (int i = 0; i < count; i++) {
                    puthex((unsigned char *)fragments[i], strlen(fragments[i]));
                    putchar(i + 1 < count ? ' ' : '\n');
                }
                otrl_proto_fragment_free(&fragments, (unsigned short)count);
            }
            free(msg);
        } else if (!strcmp(cmd, "acc")) {
            char *msg = (char *)unhex(strtok(NULL, " \n"), NULL);
            char *out = NULL;
            OtrlFragmentResult r = otrl_proto_fragment_accumulate(&out, acc, msg);
            if (r == OTRL_FRAGMENT_UNFRAGMENTED) printf("U\n");
            else if (r == OTRL_FRAGMENT_INCOMPLETE) printf("I\n");
            else { printf("C "); puthex((unsigned char *)out, strlen(out)); putchar('\n'); free(out); }
            free(msg);
        } else if (!strcmp(cmd, "reset")) {
            char *out = NULL;
            otrl_proto_fragment_accumulate(&out, acc, "reset");
            printf("ok\n");
        } else if (!strcmp(cmd, "inst")) {
            char *msg = (char *)unhex(strtok(NULL, " \n"), NULL);
            unsigned int from = 0, to = 0;
            if (otrl_proto_instance(msg, &from, &to)) printf("error\n");
            else printf("%u %u\n", from, to);
            free(msg);
        } else {
            printf("unknown\n");
        }
        fflush(stdout);
    }
    otrl_userstate_free(us);
    return 0;
}
