/*
 * libotr-keytool: a tiny command-line front end to REAL libotr 4.1.1's key and file handling,
 * for test/interop/libotr-keys.test.ts. Every answer goes to stdout; failures print
 * "error: ..." on stderr and exit 1.
 *
 *   generate <keyfile> <account> <protocol>
 *       otrl_privkey_read (if the file exists) + otrl_privkey_generate; prints the raw
 *       fingerprint (40 lower-case hex digits).
 *   list <keyfile>
 *       otrl_privkey_read; one line per key: account TAB protocol TAB raw fingerprint hex
 *       TAB human fingerprint (otrl_privkey_fingerprint) TAB pubkey_data hex.
 *   sign <keyfile> <account> <protocol> <data-hex>
 *       otrl_privkey_sign over the given bytes; prints the signature hex.
 *   verify <otr-pubkey-hex> <sig-hex> <data-hex>
 *       parses an OTR public key (SHORT type, MPI p, q, g, y), then otrl_privkey_verify;
 *       prints "valid" or "invalid".
 *   fingerprints-list <fpfile>
 *       otrl_privkey_read_fingerprints; one line per fingerprint: username TAB account TAB
 *       protocol TAB hex TAB trust (empty when none).
 *   fingerprints-copy <in-fpfile> <out-fpfile>
 *       otrl_privkey_read_fingerprints then otrl_privkey_write_fingerprints.
 *   instags-list <instagfile>
 *       otrl_instag_read; one line per tag: account TAB protocol TAB %08x.
 *   instags-copy <in> <out>
 *       otrl_instag_read then otrl_instag_write.
 *   instag-generate <instagfile> <account> <protocol>
 *       otrl_instag_read (if the file exists) + otrl_instag_generate; prints the tag (%08x).
 *   sexp-print <bytes-hex>
 *       libgcrypt's advanced rendering (what libotr writes into otr.private_key) of the list
 *       (v <bytes>), i.e. gcry_sexp_build "(v %b)" then gcry_sexp_sprint ADVANCED.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <gcrypt.h>
#include <libotr/proto.h>
#include <libotr/privkey.h>
#include <libotr/userstate.h>
#include <libotr/context.h>
#include <libotr/instag.h>

static void die(const char *what, gcry_error_t err) {
    if (err) fprintf(stderr, "error: %s: %s\n", what, gcry_strerror(err));
    else fprintf(stderr, "error: %s\n", what);
    exit(1);
}

static void print_hex(const unsigned char *bytes, size_t len) {
    for (size_t i = 0; i < len; i++) printf("%02x", bytes[i]);
}

static unsigned char *from_hex(const char *hex, size_t *len) {
    size_t n = strlen(hex);
    if (n % 2 != 0) die("odd-length hex", 0);
    unsigned char *out = malloc(n / 2 + 1);
    if (!out) die("out of memory", 0);
    for (size_t i = 0; i < n / 2; i++) {
        unsigned int byte;
        if (sscanf(hex + 2 * i, "%2x", &byte) != 1) die("bad hex", 0);
        out[i] = (unsigned char)byte;
    }
    *len = n / 2;
    return out;
}

static void read_keys_if_present(OtrlUserState us, const char *file) {
    if (access(file, F_OK) != 0) return;
    gcry_error_t err = otrl_privkey_read(us, file);
    if (err) die("otrl_privkey_read", err);
}

static int cmd_generate(const char *file, const char *account, const char *protocol) {
    OtrlUserState us = otrl_userstate_create();
    read_keys_if_present(us, file);
    gcry_error_t err = otrl_privkey_generate(us, file, account, protocol);
    if (err) die("otrl_privkey_generate", err);
    unsigned char raw[20];
    if (!otrl_privkey_fingerprint_raw(us, raw, account, protocol)) die("no key after generate", 0);
    print_hex(raw, 20);
    printf("\n");
    otrl_userstate_free(us);
    return 0;
}

static int cmd_list(const char *file) {
    OtrlUserState us = otrl_userstate_create();
    gcry_error_t err = otrl_privkey_read(us, file);
    if (err) die("otrl_privkey_read", err);
    for (OtrlPrivKey *key = us->privkey_root; key; key = key->next) {
        unsigned char raw[20];
        char human[OTRL_PRIVKEY_FPRINT_HUMAN_LEN];
        if (!otrl_privkey_fingerprint_raw(us, raw, key->accountname, key->protocol)) die("fingerprint_raw", 0);
        if (!otrl_privkey_fingerprint(us, human, key->accountname, key->protocol)) die("fingerprint", 0);
        printf("%s\t%s\t", key->accountname, key->protocol);
        print_hex(raw, 20);
        printf("\t%s\t", human);
        print_hex(key->pubkey_data, key->pubkey_datalen);
        printf("\n");
    }
    otrl_userstate_free(us);
    return 0;
}

static int cmd_sign(const char *file, const char *account, const char *protocol, const char *datahex) {
    OtrlUserState us = otrl_userstate_create();
    gcry_error_t err = otrl_privkey_read(us, file);
    if (err) die("otrl_privkey_read", err);
    OtrlPrivKey *key = otrl_privkey_find(us, account, protocol);
    if (!key) die("no such key", 0);
    size_t len;
    unsigned char *data = from_hex(datahex, &len);
    unsigned char *sig = NULL;
    size_t siglen = 0;
    err = otrl_privkey_sign(&sig, &siglen, key, data, len);
    if (err) die("otrl_privkey_sign", err);
    print_hex(sig, siglen);
    printf("\n");
    free(sig);
    free(data);
    otrl_userstate_free(us);
    return 0;
}

/* Reads one OTR MPI (4-byte big-endian length, magnitude) from buf at *off. */
static gcry_mpi_t read_mpi(const unsigned char *buf, size_t len, size_t *off) {
    if (*off + 4 > len) die("truncated MPI length", 0);
    size_t n = ((size_t)buf[*off] << 24) | ((size_t)buf[*off + 1] << 16) | ((size_t)buf[*off + 2] << 8) | buf[*off + 3];
    *off += 4;
    if (n > len - *off) die("truncated MPI", 0);
    gcry_mpi_t mpi = NULL;
    gcry_error_t err = gcry_mpi_scan(&mpi, GCRYMPI_FMT_USG, buf + *off, n, NULL);
    if (err) die("gcry_mpi_scan", err);
    *off += n;
    return mpi;
}

static int cmd_verify(const char *pubhex, const char *sighex, const char *datahex) {
    size_t publen, siglen, datalen;
    unsigned char *pub = from_hex(pubhex, &publen);
    unsigned char *sig = from_hex(sighex, &siglen);
    unsigned char *data = from_hex(datahex, &datalen);
    if (publen < 2) die("public key too short", 0);
    unsigned short type = (unsigned short)((pub[0] << 8) | pub[1]);
    size_t off = 2;
    gcry_mpi_t p = read_mpi(pub, publen, &off);
    gcry_mpi_t q = read_mpi(pub, publen, &off);
    gcry_mpi_t g = read_mpi(pub, publen, &off);
    gcry_mpi_t y = read_mpi(pub, publen, &off);
    if (off != publen) die("trailing bytes after public key", 0);
    gcry_sexp_t pubs = NULL;
    gcry_error_t err = gcry_sexp_build(&pubs, NULL, "(public-key (dsa (p %m)(q %m)(g %m)(y %m)))", p, q, g, y);
    if (err) die("gcry_sexp_build", err);
    err = otrl_privkey_verify(sig, siglen, type, pubs, data, datalen);
    printf("%s\n", err ? "invalid" : "valid");
    gcry_sexp_release(pubs);
    gcry_mpi_release(p);
    gcry_mpi_release(q);
    gcry_mpi_release(g);
    gcry_mpi_release(y);
    free(pub);
    free(sig);
    free(data);
    return 0;
}

static int cmd_fingerprints_list(const char *file) {
    OtrlUserState us = otrl_userstate_create();
    gcry_error_t err = otrl_privkey_read_fingerprints(us, file, NULL, NULL);
    if (err) die("otrl_privkey_read_fingerprints", err);
    for (ConnContext *ctx = us->context_root; ctx; ctx = ctx->next) {
        for (Fingerprint *fp = ctx->fingerprint_root.next; fp; fp = fp->next) {
            printf("%s\t%s\t%s\t", ctx->username, ctx->accountname, ctx->protocol);
            print_hex(fp->fingerprint, 20);
            printf("\t%s\n", fp->trust ? fp->trust : "");
        }
    }
    otrl_userstate_free(us);
    return 0;
}

static int cmd_fingerprints_copy(const char *in, const char *out) {
    OtrlUserState us = otrl_userstate_create();
    gcry_error_t err = otrl_privkey_read_fingerprints(us, in, NULL, NULL);
    if (err) die("otrl_privkey_read_fingerprints", err);
    err = otrl_privkey_write_fingerprints(us, out);
    if (err) die("otrl_privkey_write_fingerprints", err);
    otrl_userstate_free(us);
    return 0;
}

static int cmd_instags_list(const char *file) {
    OtrlUserState us = otrl_userstate_create();
    gcry_error_t err = otrl_instag_read(us, file);
    if (err) die("otrl_instag_read", err);
    for (OtrlInsTag *tag = us->instag_root; tag; tag = tag->next) {
        printf("%s\t%s\t%08x\n", tag->accountname, tag->protocol, tag->instag);
    }
    otrl_userstate_free(us);
    return 0;
}

static int cmd_instags_copy(const char *in, const char *out) {
    OtrlUserState us = otrl_userstate_create();
    gcry_error_t err = otrl_instag_read(us, in);
    if (err) die("otrl_instag_read", err);
    err = otrl_instag_write(us, out);
    if (err) die("otrl_instag_write", err);
    otrl_userstate_free(us);
    return 0;
}

static int cmd_instag_generate(const char *file, const char *account, const char *protocol) {
    OtrlUserState us = otrl_userstate_create();
    if (access(file, F_OK) == 0) {
        gcry_error_t err = otrl_instag_read(us, file);
        if (err) die("otrl_instag_read", err);
    }
    gcry_error_t err = otrl_instag_generate(us, file, account, protocol);
    if (err) die("otrl_instag_generate", err);
    OtrlInsTag *tag = otrl_instag_find(us, account, protocol);
    if (!tag) die("no instag after generate", 0);
    printf("%08x\n", tag->instag);
    otrl_userstate_free(us);
    return 0;
}

static int cmd_sexp_print(const char *hex) {
    size_t len;
    unsigned char *bytes = from_hex(hex, &len);
    gcry_sexp_t sexp = NULL;
    gcry_error_t err = gcry_sexp_build(&sexp, NULL, "(v %b)", (int)len, bytes);
    if (err) die("gcry_sexp_build", err);
    size_t size = gcry_sexp_sprint(sexp, GCRYSEXP_FMT_ADVANCED, NULL, 0);
    char *out = malloc(size);
    if (!out) die("out of memory", 0);
    size_t written = gcry_sexp_sprint(sexp, GCRYSEXP_FMT_ADVANCED, out, size);
    fwrite(out, 1, written, stdout);
    free(out);
    free(bytes);
    gcry_sexp_release(sexp);
    return 0;
}

int main(int argc, char **argv) {
    OTRL_INIT;
    if (argc < 2) die("usage: keytool <command> ...", 0);
    const char *cmd = argv[1];
    if (strcmp(cmd, "generate") == 0 && argc == 5) return cmd_generate(argv[2], argv[3], argv[4]);
    if (strcmp(cmd, "list") == 0 && argc == 3) return cmd_list(argv[2]);
    if (strcmp(cmd, "sign") == 0 && argc == 6) return cmd_sign(argv[2], argv[3], argv[4], argv[5]);
    if (strcmp(cmd, "verify") == 0 && argc == 5) return cmd_verify(argv[2], argv[3], argv[4]);
    if (strcmp(cmd, "fingerprints-list") == 0 && argc == 3) return cmd_fingerprints_list(argv[2]);
    if (strcmp(cmd, "fingerprints-copy") == 0 && argc == 4) return cmd_fingerprints_copy(argv[2], argv[3]);
    if (strcmp(cmd, "instags-list") == 0 && argc == 3) return cmd_instags_list(argv[2]);
    if (strcmp(cmd, "instags-copy") == 0 && argc == 4) return cmd_instags_copy(argv[2], argv[3]);
    if (strcmp(cmd, "instag-generate") == 0 && argc == 5) return cmd_instag_generate(argv[2], argv[3], argv[4]);
    if (strcmp(cmd, "sexp-print") == 0 && argc == 3) return cmd_sexp_print(argv[2]);
    die("unknown command or wrong number of arguments", 0);
    return 1;
}
