/*
 * libotr test harness: drives Debian's libotr 4.1.1 (the OTR reference implementation) so
 * TypeScript tests can talk to a REAL libotr peer.
 *
 * Build (lib/conformance/libotr-harness.ts does this, and again when this file is newer):
 *   gcc -O2 libotr-harness.c $(libgcrypt-config --cflags --libs) -lotr -o libotr-harness
 *
 * Its JSON-lines mode is the conformance kit's line protocol (docs/CONFORMANCE.md).
 *
 * ---------------------------------------------------------------------------------------
 * MODE 1: JSON lines (default).  One process = one libotr account (one OtrlUserState) that
 * may talk to any number of peers (by name).  Each stdin line is one flat JSON object (string,
 * number, boolean or null values only); each command answers with exactly one JSON line:
 *   {"ok":true, ...}   or   {"ok":false,"error":"..."}
 * Every answer of a command that can make libotr act also carries
 *   "wire":   [string]  every message libotr wants sent to the peer, in order (inject_message
 *                       callbacks, then the ciphertext/plaintext returned by otrl_message_sending)
 *   "events": [object]  what libotr reported meanwhile, each {"type": ...}:
 *       gone_secure | gone_insecure | still_secure {"reply":bool} | new_fingerprint {"fingerprint"}
 *       | smp {"event": "ask_for_secret"|"ask_for_answer"|"in_progress"|"success"|"failure"|
 *                      "abort"|"cheated"|"error", "progress": n, "question"?: string}
 *       | msg {"event": "encryption_required"|"encryption_error"|"connection_ended"|
 *              "setup_error"|"msg_reflected"|"msg_resent"|"rcvdmsg_not_in_private"|
 *              "rcvdmsg_unreadable"|"rcvdmsg_malformed"|"log_heartbeat_rcvd"|
 *              "log_heartbeat_sent"|"rcvdmsg_general_err"|"rcvdmsg_unencrypted"|
 *              "rcvdmsg_unrecognized"|"rcvdmsg_for_other_instance", "message"?: string,
 *              "error"?: string}
 *       | symkey {"use": n, "usedata": hex, "key": hex}     (received_symkey callback)
 *
 * Commands ("cmd" field; "peer" is the other side's account name):
 *   init {account, protocol?="xmpp", policy?="default", keyfile, instagfile, fragment_size?=0}
 *        policy: comma-separated tokens: v2, v3, require, whitespace (SEND_WHITESPACE_TAG),
 *        whitespace_start, error_start, or one of default|manual|opportunistic|always|never.
 *        The key file is generated (otrl_privkey_generate, slow) if absent; the instance tag
 *        file too (generated up front, so create_instag never fires mid-send).
 *        -> {fingerprint: hex40, fingerprint_human, instance_tag}
 *   send {peer, text, tlvs?: "type:hex,type:hex"} -> {wire, events}
 *        (fragment_size > 0: OTRL_FRAGMENT_SEND_ALL_BUT_LAST, every fragment in "wire";
 *         otherwise OTRL_FRAGMENT_SEND_SKIP and the ciphertext is the last "wire" entry.
 *         Not encrypted and libotr left the message alone: the original text is sent.)
 *   receive {peer, wire} -> {ignore: bool, show: string|null, decrypted: bool,
 *                             tlvs: [{"type": n, "data": hex}], wire, events}
 *        show is what a client would display (libotr's replacement text, or the received
 *        text itself for an ordinary non-OTR message); null when libotr swallowed it.
 *   start_ake {peer} -> {wire: [query message]}
 *   end {peer} -> {wire, events}                  (otrl_message_disconnect_all_instances)
 *   status {peer} -> {msgstate: "plaintext"|"encrypted"|"finished", protocol_version,
 *        our_instance, their_instance, fingerprint, their_fingerprint: hex40|null,
 *        ssid: hex16, ssid_half: "first"|"second"|"none", smp_in_progress: bool}
 *        (status of the best CHILD context: the encrypted state lives there, not on the master)
 *   extra_symkey {peer, use, usedata: hex} -> {key: hex64, wire, events}
 *   smp_start {peer, secret, question?} / smp_respond {peer, secret} / smp_abort {peer}
 *        -> {wire, events}   (SMP messages are data messages with an empty body + TLVs)
 *   smp_start_tampered {peer, secret, mpi} -> {wire, events}
 *        starts SMP as otrl_message_initiate_smp does (libotr's own otrl_sm_step1, state left
 *        in EXPECT2), but flips the last byte of MPI number `mpi` (0-based: 0 g2a, 1 c2, 2 D2,
 *        3 g3a, 4 c3, 5 D3) of the serialized message 1 before it is encrypted: a message
 *        whose zero-knowledge proof does not verify, for the peer's "cheated" path. mpi -1
 *        flips nothing (a control: the message is then valid, but its secret is the raw
 *        text, not libotr's combined secret, so a completed run ends in failure).
 *   fingerprint {} -> {fingerprint, fingerprint_human}
 *   quit {} -> {} and exit
 *
 * MODE 2: benchmark.  `libotr-harness --bench KEYDIR POLICY AKE_RUNS N_ALT N_ONEWAY N_BIG SMP_RUNS [TRIALS=5]`
 * runs two accounts (alice, bob) in-process, wired by an in-memory queue, times its own loops
 * (so no IPC is measured) and prints one JSON object of medians:
 *   {"ake_ms", "alt100_msgs_per_s", "oneway100_msgs_per_s", "oneway10k_msgs_per_s", "smp_ms"}
 * Key/instag files KEYDIR/{alice,bob}.{key,instag} are generated when absent.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <gcrypt.h>
#include <libotr/proto.h>
#include <libotr/userstate.h>
#include <libotr/privkey.h>
#include <libotr/instag.h>
#include <libotr/message.h>
#include <libotr/context.h>
#include <libotr/tlv.h>
#include <libotr/sm.h>

/* ------------------------------------------------------------------ growable buffer */
typedef struct { char *p; size_t len, cap; } Buf;
static void buf_add(Buf *b, const char *s, size_t n) {
    if (b->len + n + 1 > b->cap) {
        size_t nc = b->cap ? b->cap * 2 : 256;
        while (nc < b->len + n + 1) nc *= 2;
        b->p = realloc(b->p, nc);
        if (!b->p) { perror("realloc"); exit(2); }
        b->cap = nc;
    }
    memcpy(b->p + b->len, s, n); b->len += n; b->p[b->len] = 0;
}
static void buf_s(Buf *b, const char *s) { buf_add(b, s, strlen(s)); }
static void buf_fmt(Buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#include <stdarg.h>
static void buf_fmt(Buf *b, const char *fmt, ...) {
    char tmp[512]; va_list ap; va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap); va_end(ap);
    if (n < 0) return;
    if ((size_t)n >= sizeof tmp) n = sizeof tmp - 1;
    buf_add(b, tmp, (size_t)n);
}
static void buf_clear(Buf *b) { b->len = 0; if (b->p) b->p[0] = 0; }
/* JSON string literal; bytes >= 0x80 pass through (UTF-8 in, UTF-8 out). */
static void buf_jstr(Buf *b, const char *s) {
    buf_s(b, "\"");
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if (*c == '"') buf_s(b, "\\\"");
        else if (*c == '\\') buf_s(b, "\\\\");
        else if (*c == '\n') buf_s(b, "\\n");
        else if (*c == '\r') buf_s(b, "\\r");
        else if (*c == '\t') buf_s(b, "\\t");
        else if (*c < 0x20) buf_fmt(b, "\\u%04x", *c);
        else buf_add(b, (const char *)c, 1);
    }
    buf_s(b, "\"");
}
static void buf_hex(Buf *b, const unsigned char *d, size_t n) {
    buf_s(b, "\"");
    for (size_t i = 0; i < n; i++) buf_fmt(b, "%02x", d[i]);
    buf_s(b, "\"");
}

/* ------------------------------------------------------------------ tiny JSON reader */
/* Flat objects only: {"key": "string" | number | true | false | null, ...}. */
#define MAXF 24
typedef struct { char *key; char *str; double num; int kind; /* 0 str 1 num 2 bool 3 null */ } Field;
typedef struct { Field f[MAXF]; int n; } Obj;

static void skip_ws(const char **p) { while (**p == ' ' || **p == '\t' || **p == '\r' || **p == '\n') (*p)++; }
static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}
static void put_utf8(Buf *b, unsigned long cp) {
    char o[4]; size_t n;
    if (cp < 0x80) { o[0] = (char)cp; n = 1; }
    else if (cp < 0x800) { o[0] = (char)(0xc0 | (cp >> 6)); o[1] = (char)(0x80 | (cp & 0x3f)); n = 2; }
    else if (cp < 0x10000) { o[0] = (char)(0xe0 | (cp >> 12)); o[1] = (char)(0x80 | ((cp >> 6) & 0x3f)); o[2] = (char)(0x80 | (cp & 0x3f)); n = 3; }
    else { o[0] = (char)(0xf0 | (cp >> 18)); o[1] = (char)(0x80 | ((cp >> 12) & 0x3f)); o[2] = (char)(0x80 | ((cp >> 6) & 0x3f)); o[3] = (char)(0x80 | (cp & 0x3f)); n = 4; }
    buf_add(b, o, n);
}
static int read_u4(const char **p, unsigned long *out) {
    unsigned long v = 0;
    for (int i = 0; i < 4; i++) { int h = hexval((*p)[i]); if (h < 0) return -1; v = v * 16 + (unsigned long)h; }
    *p += 4; *out = v; return 0;
}
/* Parses a JSON string at *p (which points at the opening quote); NUL bytes are refused. */
static char *parse_jstr(const char **p) {
    if (**p != '"') return NULL;
    (*p)++;
    Buf b = {0}; buf_s(&b, "");
    while (**p && **p != '"') {
        if (**p == '\\') {
            (*p)++;
            char e = **p; (*p)++;
            switch (e) {
            case '"': buf_s(&b, "\""); break; case '\\': buf_s(&b, "\\"); break;
            case '/': buf_s(&b, "/"); break; case 'b': buf_s(&b, "\b"); break;
            case 'f': buf_s(&b, "\f"); break; case 'n': buf_s(&b, "\n"); break;
            case 'r': buf_s(&b, "\r"); break; case 't': buf_s(&b, "\t"); break;
            case 'u': {
                unsigned long cp;
                if (read_u4(p, &cp)) { free(b.p); return NULL; }
                if (cp >= 0xd800 && cp < 0xdc00 && (*p)[0] == '\\' && (*p)[1] == 'u') {
                    unsigned long lo; const char *q = *p + 2;
                    if (!read_u4(&q, &lo) && lo >= 0xdc00 && lo < 0xe000) {
                        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00); *p = q;
                    }
                }
                if (cp == 0) { free(b.p); return NULL; }
                put_utf8(&b, cp); break;
            }
            default: free(b.p); return NULL;
            }
        } else { buf_add(&b, *p, 1); (*p)++; }
    }
    if (**p != '"') { free(b.p); return NULL; }
    (*p)++;
    return b.p;
}
static void obj_free(Obj *o) { for (int i = 0; i < o->n; i++) { free(o->f[i].key); free(o->f[i].str); } o->n = 0; }
static int parse_obj(const char *s, Obj *o) {
    const char *p = s; o->n = 0;
    skip_ws(&p); if (*p != '{') return -1; p++;
    skip_ws(&p);
    if (*p == '}') return 0;
    for (;;) {
        if (o->n >= MAXF) return -1;
        skip_ws(&p);
        Field *f = &o->f[o->n]; memset(f, 0, sizeof *f);
        f->key = parse_jstr(&p); if (!f->key) return -1;
        o->n++;
        skip_ws(&p); if (*p != ':') return -1; p++; skip_ws(&p);
        if (*p == '"') { f->str = parse_jstr(&p); if (!f->str) return -1; f->kind = 0; }
        else if (!strncmp(p, "true", 4)) { f->kind = 2; f->num = 1; p += 4; }
        else if (!strncmp(p, "false", 5)) { f->kind = 2; f->num = 0; p += 5; }
        else if (!strncmp(p, "null", 4)) { f->kind = 3; p += 4; }
        else { char *end; f->num = strtod(p, &end); if (end == p) return -1; f->kind = 1; p = end; }
        skip_ws(&p);
        if (*p == ',') { p++; continue; }
        if (*p == '}') return 0;
        return -1;
    }
}
static const Field *get(const Obj *o, const char *k) {
    for (int i = 0; i < o->n; i++) if (!strcmp(o->f[i].key, k)) return &o->f[i];
    return NULL;
}
static const char *get_str(const Obj *o, const char *k) { const Field *f = get(o, k); return f && f->kind == 0 ? f->str : NULL; }
static double get_num(const Obj *o, const char *k, double dflt) { const Field *f = get(o, k); return f && (f->kind == 1 || f->kind == 2) ? f->num : dflt; }

static unsigned char *unhex(const char *h, size_t *len) {
    size_t n = strlen(h);
    if (n % 2) return NULL;
    unsigned char *out = malloc(n / 2 + 1);
    for (size_t i = 0; i < n / 2; i++) {
        int a = hexval(h[2 * i]), b = hexval(h[2 * i + 1]);
        if (a < 0 || b < 0) { free(out); return NULL; }
        out[i] = (unsigned char)(a * 16 + b);
    }
    *len = n / 2; return out;
}

/* ------------------------------------------------------------------ accounts */
typedef struct Account {
    char account[256];
    char protocol[64];
    OtrlUserState us;
    OtrlPolicy policy;
    int fragment_size;
    struct Account *bench_peer;   /* bench mode: inject goes to the in-memory queue */
    Buf wire;                     /* JSON array body: messages to send */
    int nwire;
    Buf events;                   /* JSON array body: events */
    int nevents;
    /* bench mode flags */
    int secure, smp_ask, smp_success, smp_fail;
    ConnContext *smp_ctx;
    ConnContext *pending_abort;   /* SMP to abort once the current libotr call returns */
} Account;

static void add_wire(Account *a, const char *m) {
    if (a->nwire++) buf_s(&a->wire, ",");
    buf_jstr(&a->wire, m);
}
static void ev_begin(Account *a, const char *type) {
    if (a->nevents++) buf_s(&a->events, ",");
    buf_s(&a->events, "{\"type\":"); buf_jstr(&a->events, type);
}
static void ev_end(Account *a) { buf_s(&a->events, "}"); }

/* bench-mode queue */
typedef struct Msg { Account *to, *from; char *text; struct Msg *next; } Msg;
static Msg *qhead = NULL, *qtail = NULL;
static void enqueue(Account *from, Account *to, const char *text) {
    Msg *m = malloc(sizeof *m);
    m->to = to; m->from = from; m->text = strdup(text); m->next = NULL;
    if (qtail) qtail->next = m; else qhead = m;
    qtail = m;
}

/* ------------------------------------------------------------------ app ops */
static OtrlPolicy op_policy(void *opdata, ConnContext *c) { (void)c; return ((Account *)opdata)->policy; }
static int op_logged_in(void *o, const char *a, const char *p, const char *r) { (void)o; (void)a; (void)p; (void)r; return 1; }
static void op_inject(void *opdata, const char *acct, const char *proto, const char *recip, const char *msg) {
    Account *me = opdata; (void)acct; (void)proto; (void)recip;
    if (me->bench_peer) enqueue(me, me->bench_peer, msg);
    else add_wire(me, msg);
}
static void op_update(void *o) { (void)o; }
static void op_newfp(void *opdata, OtrlUserState us, const char *a, const char *p, const char *u, unsigned char fp[20]) {
    Account *me = opdata; (void)us; (void)a; (void)p; (void)u;
    if (me->bench_peer) return;
    ev_begin(me, "new_fingerprint"); buf_s(&me->events, ",\"fingerprint\":"); buf_hex(&me->events, fp, 20); ev_end(me);
}
static void op_writefp(void *o) { (void)o; }
static void op_gone_secure(void *opdata, ConnContext *c) {
    Account *me = opdata; (void)c; me->secure = 1;
    if (!me->bench_peer) { ev_begin(me, "gone_secure"); ev_end(me); }
}
static void op_gone_insecure(void *opdata, ConnContext *c) {
    Account *me = opdata; (void)c;
    if (!me->bench_peer) { ev_begin(me, "gone_insecure"); ev_end(me); }
}
static void op_still_secure(void *opdata, ConnContext *c, int r) {
    Account *me = opdata; (void)c; me->secure = 1;
    if (!me->bench_peer) { ev_begin(me, "still_secure"); buf_fmt(&me->events, ",\"reply\":%s", r ? "true" : "false"); ev_end(me); }
}
static int op_max_size(void *opdata, ConnContext *c) { (void)c; return ((Account *)opdata)->fragment_size; }
static const char *op_errmsg(void *o, ConnContext *c, OtrlErrorCode e) {
    (void)o; (void)c;
    switch (e) {
    case OTRL_ERRCODE_ENCRYPTION_ERROR: return strdup("encryption error");
    case OTRL_ERRCODE_MSG_NOT_IN_PRIVATE: return strdup("not in private");
    case OTRL_ERRCODE_MSG_UNREADABLE: return strdup("unreadable");
    case OTRL_ERRCODE_MSG_MALFORMED: return strdup("malformed");
    default: return strdup("error");
    }
}
static void op_errmsg_free(void *o, const char *m) { (void)o; free((void *)m); }
static void op_smp(void *opdata, OtrlSMPEvent ev, ConnContext *c, unsigned short pct, char *q) {
    Account *me = opdata;
    const char *name = "none";
    switch (ev) {
    case OTRL_SMPEVENT_ASK_FOR_SECRET: name = "ask_for_secret"; me->smp_ask = 1; me->smp_ctx = c; break;
    case OTRL_SMPEVENT_ASK_FOR_ANSWER: name = "ask_for_answer"; me->smp_ask = 1; me->smp_ctx = c; break;
    case OTRL_SMPEVENT_IN_PROGRESS: name = "in_progress"; break;
    case OTRL_SMPEVENT_SUCCESS: name = "success"; me->smp_success = 1; break;
    case OTRL_SMPEVENT_FAILURE: name = "failure"; me->smp_fail = 1; break;
    case OTRL_SMPEVENT_ABORT: name = "abort"; me->smp_fail = 1; break;
    case OTRL_SMPEVENT_CHEATED: name = "cheated"; me->smp_fail = 1; break;
    case OTRL_SMPEVENT_ERROR: name = "error"; me->smp_fail = 1; break;
    default: break;
    }
    if (me->bench_peer) return;
    ev_begin(me, "smp");
    buf_s(&me->events, ",\"event\":"); buf_jstr(&me->events, name);
    buf_fmt(&me->events, ",\"progress\":%u", pct);
    if (q) { buf_s(&me->events, ",\"question\":"); buf_jstr(&me->events, q); }
    ev_end(me);
    /* libotr expects the application to abort the SMP after a cheated/error event; done
     * after otrl_message_receiving returns, not from inside the callback */
    if (ev == OTRL_SMPEVENT_CHEATED || ev == OTRL_SMPEVENT_ERROR) me->pending_abort = c;
}
static const char *msgevent_name(OtrlMessageEvent ev) {
    switch (ev) {
    case OTRL_MSGEVENT_ENCRYPTION_REQUIRED: return "encryption_required";
    case OTRL_MSGEVENT_ENCRYPTION_ERROR: return "encryption_error";
    case OTRL_MSGEVENT_CONNECTION_ENDED: return "connection_ended";
    case OTRL_MSGEVENT_SETUP_ERROR: return "setup_error";
    case OTRL_MSGEVENT_MSG_REFLECTED: return "msg_reflected";
    case OTRL_MSGEVENT_MSG_RESENT: return "msg_resent";
    case OTRL_MSGEVENT_RCVDMSG_NOT_IN_PRIVATE: return "rcvdmsg_not_in_private";
    case OTRL_MSGEVENT_RCVDMSG_UNREADABLE: return "rcvdmsg_unreadable";
    case OTRL_MSGEVENT_RCVDMSG_MALFORMED: return "rcvdmsg_malformed";
    case OTRL_MSGEVENT_LOG_HEARTBEAT_RCVD: return "log_heartbeat_rcvd";
    case OTRL_MSGEVENT_LOG_HEARTBEAT_SENT: return "log_heartbeat_sent";
    case OTRL_MSGEVENT_RCVDMSG_GENERAL_ERR: return "rcvdmsg_general_err";
    case OTRL_MSGEVENT_RCVDMSG_UNENCRYPTED: return "rcvdmsg_unencrypted";
    case OTRL_MSGEVENT_RCVDMSG_UNRECOGNIZED: return "rcvdmsg_unrecognized";
    case OTRL_MSGEVENT_RCVDMSG_FOR_OTHER_INSTANCE: return "rcvdmsg_for_other_instance";
    default: return "none";
    }
}
static void op_msgevent(void *opdata, OtrlMessageEvent ev, ConnContext *c, const char *m, gcry_error_t err) {
    Account *me = opdata; (void)c;
    if (me->bench_peer) {
        if (ev != OTRL_MSGEVENT_LOG_HEARTBEAT_RCVD && ev != OTRL_MSGEVENT_LOG_HEARTBEAT_SENT)
            fprintf(stderr, "[%s] msg event %s\n", me->account, msgevent_name(ev));
        return;
    }
    ev_begin(me, "msg");
    buf_s(&me->events, ",\"event\":"); buf_jstr(&me->events, msgevent_name(ev));
    if (m) { buf_s(&me->events, ",\"message\":"); buf_jstr(&me->events, m); }
    if (err) { buf_s(&me->events, ",\"error\":"); buf_jstr(&me->events, gcry_strerror(err)); }
    ev_end(me);
}
static void op_symkey(void *opdata, ConnContext *c, unsigned int use, const unsigned char *ud, size_t udlen, const unsigned char *key) {
    Account *me = opdata; (void)c;
    if (me->bench_peer) return;
    ev_begin(me, "symkey");
    buf_fmt(&me->events, ",\"use\":%u,\"usedata\":", use); buf_hex(&me->events, ud, udlen);
    buf_s(&me->events, ",\"key\":"); buf_hex(&me->events, key, OTRL_EXTRAKEY_BYTES);
    ev_end(me);
}
static void op_create_instag(void *opdata, const char *a, const char *p) {
    Account *me = opdata; (void)a; (void)p;
    fprintf(stderr, "[%s] create_instag called (unexpected: tags are made at init)\n", me->account);
}
static void op_create_privkey(void *opdata, const char *a, const char *p) {
    Account *me = opdata; (void)a; (void)p;
    fprintf(stderr, "[%s] create_privkey called (unexpected: keys are made at init)\n", me->account);
}

static OtrlMessageAppOps ops;
static void init_ops(void) {
    memset(&ops, 0, sizeof ops);
    ops.policy = op_policy;
    ops.create_privkey = op_create_privkey;
    ops.is_logged_in = op_logged_in;
    ops.inject_message = op_inject;
    ops.update_context_list = op_update;
    ops.new_fingerprint = op_newfp;
    ops.write_fingerprints = op_writefp;
    ops.gone_secure = op_gone_secure;
    ops.gone_insecure = op_gone_insecure;
    ops.still_secure = op_still_secure;
    ops.max_message_size = op_max_size;
    ops.received_symkey = op_symkey;
    ops.otr_error_message = op_errmsg;
    ops.otr_error_message_free = op_errmsg_free;
    ops.handle_smp_event = op_smp;
    ops.handle_msg_event = op_msgevent;
    ops.create_instag = op_create_instag;
    /* timer_control NULL: we never poll; fine for short-lived test processes */
}

static int parse_policy(const char *s, OtrlPolicy *out) {
    OtrlPolicy p = 0;
    char *copy = strdup(s), *save = NULL;
    for (char *t = strtok_r(copy, ", |", &save); t; t = strtok_r(NULL, ", |", &save)) {
        if (!strcmp(t, "v2")) p |= OTRL_POLICY_ALLOW_V2;
        else if (!strcmp(t, "v3")) p |= OTRL_POLICY_ALLOW_V3;
        else if (!strcmp(t, "require")) p |= OTRL_POLICY_REQUIRE_ENCRYPTION;
        else if (!strcmp(t, "whitespace")) p |= OTRL_POLICY_SEND_WHITESPACE_TAG;
        else if (!strcmp(t, "whitespace_start")) p |= OTRL_POLICY_WHITESPACE_START_AKE;
        else if (!strcmp(t, "error_start")) p |= OTRL_POLICY_ERROR_START_AKE;
        else if (!strcmp(t, "default")) p |= OTRL_POLICY_DEFAULT;
        else if (!strcmp(t, "manual")) p |= OTRL_POLICY_MANUAL;
        else if (!strcmp(t, "opportunistic")) p |= OTRL_POLICY_OPPORTUNISTIC;
        else if (!strcmp(t, "always")) p |= OTRL_POLICY_ALWAYS;
        else if (!strcmp(t, "never")) p |= OTRL_POLICY_NEVER;
        else { free(copy); return -1; }
    }
    free(copy);
    *out = p; return 0;
}

static int load_keys(Account *a, const char *keyfile, const char *instagfile, Buf *err) {
    if (access(keyfile, R_OK) != 0) {
        gcry_error_t e = otrl_privkey_generate(a->us, keyfile, a->account, a->protocol);
        if (e) { buf_fmt(err, "privkey_generate: %s", gcry_strerror(e)); return -1; }
    } else {
        gcry_error_t e = otrl_privkey_read(a->us, keyfile);
        if (e) { buf_fmt(err, "privkey_read: %s", gcry_strerror(e)); return -1; }
    }
    if (!otrl_privkey_find(a->us, a->account, a->protocol)) { buf_s(err, "key file has no key for this account/protocol"); return -1; }
    if (access(instagfile, R_OK) != 0) {
        gcry_error_t e = otrl_instag_generate(a->us, instagfile, a->account, a->protocol);
        if (e) { buf_fmt(err, "instag_generate: %s", gcry_strerror(e)); return -1; }
    } else {
        gcry_error_t e = otrl_instag_read(a->us, instagfile);
        if (e) { buf_fmt(err, "instag_read: %s", gcry_strerror(e)); return -1; }
    }
    if (!otrl_instag_find(a->us, a->account, a->protocol)) { buf_s(err, "no instance tag for this account/protocol"); return -1; }
    return 0;
}

/* The best CHILD context for a peer (the encrypted state lives there); NULL if none yet. */
static ConnContext *child_ctx(Account *a, const char *peer) {
    return otrl_context_find(a->us, peer, a->account, a->protocol, OTRL_INSTAG_BEST, 0, NULL, NULL, NULL);
}

/* ------------------------------------------------------------------ JSON mode */
static Account A;
static int initialized = 0;
static int quit_requested = 0;

static void reply_common(Buf *out) {
    buf_s(out, ",\"wire\":["); buf_add(out, A.wire.p ? A.wire.p : "", A.wire.len); buf_s(out, "]");
    buf_s(out, ",\"events\":["); buf_add(out, A.events.p ? A.events.p : "", A.events.len); buf_s(out, "]");
}
static void fingerprint_fields(Buf *out) {
    char human[OTRL_PRIVKEY_FPRINT_HUMAN_LEN];
    unsigned char raw[20];
    otrl_privkey_fingerprint(A.us, human, A.account, A.protocol);
    otrl_privkey_fingerprint_raw(A.us, raw, A.account, A.protocol);
    buf_s(out, ",\"fingerprint\":"); buf_hex(out, raw, 20);
    buf_s(out, ",\"fingerprint_human\":"); buf_jstr(out, human);
}

static OtrlTLV *parse_tlvs(const char *s, int *bad) {
    OtrlTLV *head = NULL, *tail = NULL;
    char *copy = strdup(s), *save = NULL;
    *bad = 0;
    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        char *colon = strchr(t, ':');
        size_t len = 0; unsigned char *data = NULL;
        if (colon) { *colon = 0; data = unhex(colon + 1, &len); if (!data) { *bad = 1; break; } }
        OtrlTLV *n = otrl_tlv_new((unsigned short)atoi(t), (unsigned short)len, data);
        free(data);
        if (tail) tail->next = n; else head = n;
        tail = n;
    }
    free(copy);
    if (*bad) { otrl_tlv_free(head); return NULL; }
    return head;
}

static void handle(const char *line, Buf *out) {
    Obj o;
    buf_clear(out); buf_clear(&A.wire); buf_clear(&A.events); A.nwire = 0; A.nevents = 0;
    if (parse_obj(line, &o)) { obj_free(&o); buf_s(out, "{\"ok\":false,\"error\":\"bad JSON\"}"); return; }
    const char *cmd = get_str(&o, "cmd");
    const char *peer = get_str(&o, "peer");
    Buf err = {0}; buf_s(&err, "");
    if (!cmd) { buf_s(&err, "missing cmd"); goto fail; }
    if (!strcmp(cmd, "quit")) { quit_requested = 1; buf_s(out, "{\"ok\":true}"); obj_free(&o); free(err.p); return; }
    if (!strcmp(cmd, "init")) {
        if (initialized) { buf_s(&err, "already initialized"); goto fail; }
        const char *acct = get_str(&o, "account"), *kf = get_str(&o, "keyfile"), *tf = get_str(&o, "instagfile");
        const char *proto = get_str(&o, "protocol"), *pol = get_str(&o, "policy");
        if (!acct || !kf || !tf) { buf_s(&err, "init needs account, keyfile, instagfile"); goto fail; }
        snprintf(A.account, sizeof A.account, "%s", acct);
        snprintf(A.protocol, sizeof A.protocol, "%s", proto ? proto : "xmpp");
        if (parse_policy(pol ? pol : "default", &A.policy)) { buf_s(&err, "bad policy"); goto fail; }
        A.fragment_size = (int)get_num(&o, "fragment_size", 0);
        A.us = otrl_userstate_create();
        if (load_keys(&A, kf, tf, &err)) goto fail;
        initialized = 1;
        buf_s(out, "{\"ok\":true");
        fingerprint_fields(out);
        buf_fmt(out, ",\"instance_tag\":%u,\"policy_bits\":%u}", otrl_instag_find(A.us, A.account, A.protocol)->instag, A.policy);
        obj_free(&o); free(err.p); return;
    }
    if (!initialized) { buf_s(&err, "not initialized"); goto fail; }
    if (!strcmp(cmd, "fingerprint")) {
        buf_s(out, "{\"ok\":true"); fingerprint_fields(out); buf_s(out, "}");
        obj_free(&o); free(err.p); return;
    }
    if (!peer) { buf_s(&err, "missing peer"); goto fail; }

    if (!strcmp(cmd, "send")) {
        const char *text = get_str(&o, "text"), *tl = get_str(&o, "tlvs");
        if (!text) { buf_s(&err, "missing text"); goto fail; }
        int bad = 0;
        OtrlTLV *tlvs = tl ? parse_tlvs(tl, &bad) : NULL;
        if (bad) { buf_s(&err, "bad tlvs"); goto fail; }
        char *msg = NULL;
        /* SEND_ALL_BUT_LAST (as pidgin-otr): earlier fragments are injected, the last comes back in
         * *messagep; with SEND_ALL, *messagep would still hold the whole unsent ciphertext */
        OtrlFragmentPolicy fp = A.fragment_size > 0 ? OTRL_FRAGMENT_SEND_ALL_BUT_LAST : OTRL_FRAGMENT_SEND_SKIP;
        gcry_error_t e = otrl_message_sending(A.us, &ops, &A, A.account, A.protocol, peer, OTRL_INSTAG_BEST,
                                              text, tlvs, &msg, fp, NULL, NULL, NULL);
        if (tlvs) otrl_tlv_free(tlvs);
        if (e) { buf_fmt(&err, "otrl_message_sending: %s", gcry_strerror(e)); if (msg) otrl_message_free(msg); goto fail; }
        if (msg) { if (msg[0]) add_wire(&A, msg); otrl_message_free(msg); }
        else add_wire(&A, text); /* libotr left it alone: send the original */
        buf_s(out, "{\"ok\":true"); reply_common(out); buf_s(out, "}");
    } else if (!strcmp(cmd, "receive")) {
        const char *wire = get_str(&o, "wire");
        if (!wire) { buf_s(&err, "missing wire"); goto fail; }
        char *newmsg = NULL; OtrlTLV *tlvs = NULL;
        int ignore = otrl_message_receiving(A.us, &ops, &A, A.account, A.protocol, peer, wire, &newmsg, &tlvs, NULL, NULL, NULL);
        if (A.pending_abort) { ConnContext *c = A.pending_abort; A.pending_abort = NULL; otrl_message_abort_smp(A.us, &ops, &A, c); }
        buf_fmt(out, "{\"ok\":true,\"ignore\":%s,\"show\":", ignore ? "true" : "false");
        if (ignore) buf_s(out, "null");
        else buf_jstr(out, newmsg ? newmsg : wire);
        buf_fmt(out, ",\"decrypted\":%s,\"tlvs\":[", (!ignore && newmsg && !strncmp(wire, "?OTR", 4) && wire[4] != 'v' && wire[4] != '?' && wire[4] != ' ') ? "true" : "false");
        int first = 1;
        for (OtrlTLV *t = tlvs; t; t = t->next) {
            buf_fmt(out, "%s{\"type\":%u,\"data\":", first ? "" : ",", t->type); buf_hex(out, t->data, t->len); buf_s(out, "}");
            first = 0;
        }
        buf_s(out, "]");
        if (newmsg) otrl_message_free(newmsg);
        if (tlvs) otrl_tlv_free(tlvs);
        reply_common(out); buf_s(out, "}");
    } else if (!strcmp(cmd, "start_ake")) {
        char *q = otrl_proto_default_query_msg(A.account, A.policy);
        if (!q) { buf_s(&err, "policy allows no OTR version"); goto fail; }
        add_wire(&A, q); free(q);
        buf_s(out, "{\"ok\":true"); reply_common(out); buf_s(out, "}");
    } else if (!strcmp(cmd, "end")) {
        otrl_message_disconnect_all_instances(A.us, &ops, &A, A.account, A.protocol, peer);
        buf_s(out, "{\"ok\":true"); reply_common(out); buf_s(out, "}");
    } else if (!strcmp(cmd, "status")) {
        ConnContext *c = child_ctx(&A, peer);
        buf_s(out, "{\"ok\":true");
        if (!c) {
            buf_s(out, ",\"msgstate\":\"plaintext\",\"protocol_version\":0,\"their_instance\":0,\"their_fingerprint\":null,\"ssid\":null,\"ssid_half\":\"none\",\"smp_in_progress\":false");
        } else {
            const char *st = c->msgstate == OTRL_MSGSTATE_ENCRYPTED ? "encrypted" : c->msgstate == OTRL_MSGSTATE_FINISHED ? "finished" : "plaintext";
            buf_fmt(out, ",\"msgstate\":\"%s\",\"protocol_version\":%u,\"our_instance\":%u,\"their_instance\":%u,\"their_fingerprint\":",
                    st, c->protocol_version, c->our_instance, c->their_instance);
            if (c->active_fingerprint && c->active_fingerprint->fingerprint) buf_hex(out, c->active_fingerprint->fingerprint, 20);
            else buf_s(out, "null");
            buf_s(out, ",\"ssid\":");
            if (c->sessionid_len) buf_hex(out, c->sessionid, c->sessionid_len); else buf_s(out, "null");
            buf_fmt(out, ",\"ssid_half\":\"%s\"", c->sessionid_half == OTRL_SESSIONID_FIRST_HALF_BOLD ? "first" : "second");
            buf_fmt(out, ",\"smp_in_progress\":%s", c->smstate && c->smstate->nextExpected != OTRL_SMP_EXPECT1 ? "true" : "false");
        }
        fingerprint_fields(out);
        buf_s(out, "}");
    } else if (!strcmp(cmd, "extra_symkey")) {
        ConnContext *c = child_ctx(&A, peer);
        if (!c || c->msgstate != OTRL_MSGSTATE_ENCRYPTED) { buf_s(&err, "not encrypted"); goto fail; }
        const char *ud = get_str(&o, "usedata");
        size_t udlen = 0; unsigned char *udb = ud ? unhex(ud, &udlen) : calloc(1, 1);
        if (!udb) { buf_s(&err, "bad usedata hex"); goto fail; }
        unsigned char key[OTRL_EXTRAKEY_BYTES];
        gcry_error_t e = otrl_message_symkey(A.us, &ops, &A, c, (unsigned int)get_num(&o, "use", 0), udb, udlen, key);
        free(udb);
        if (e) { buf_fmt(&err, "otrl_message_symkey: %s", gcry_strerror(e)); goto fail; }
        buf_s(out, "{\"ok\":true,\"key\":"); buf_hex(out, key, sizeof key); reply_common(out); buf_s(out, "}");
    } else if (!strcmp(cmd, "smp_start") || !strcmp(cmd, "smp_respond")) {
        ConnContext *c = child_ctx(&A, peer);
        const char *secret = get_str(&o, "secret"), *q = get_str(&o, "question");
        if (!c || c->msgstate != OTRL_MSGSTATE_ENCRYPTED) { buf_s(&err, "not encrypted"); goto fail; }
        if (!secret) { buf_s(&err, "missing secret"); goto fail; }
        if (!strcmp(cmd, "smp_respond")) otrl_message_respond_smp(A.us, &ops, &A, c, (const unsigned char *)secret, strlen(secret));
        else if (q) otrl_message_initiate_smp_q(A.us, &ops, &A, c, q, (const unsigned char *)secret, strlen(secret));
        else otrl_message_initiate_smp(A.us, &ops, &A, c, (const unsigned char *)secret, strlen(secret));
        buf_s(out, "{\"ok\":true"); reply_common(out); buf_s(out, "}");
    } else if (!strcmp(cmd, "smp_start_tampered")) {
        ConnContext *c = child_ctx(&A, peer);
        const char *secret = get_str(&o, "secret");
        int mpi = (int)get_num(&o, "mpi", 1);
        if (!c || c->msgstate != OTRL_MSGSTATE_ENCRYPTED) { buf_s(&err, "not encrypted"); goto fail; }
        if (!secret) { buf_s(&err, "missing secret"); goto fail; }
        if (mpi < -1 || mpi > 5) { buf_s(&err, "mpi must be -1..5"); goto fail; }
        /* the secret's form does not matter here: the proof check fails before it is used */
        unsigned char *smp1 = NULL; int smp1len = 0;
        gcry_error_t e = otrl_sm_step1(c->smstate, (const unsigned char *)secret, (int)strlen(secret), &smp1, &smp1len);
        if (e || !smp1) { buf_fmt(&err, "otrl_sm_step1: %s", gcry_strerror(e)); goto fail; }
        /* serialization: INT count, then count x (INT length, bytes) */
        size_t off = 4;
        for (int i = 0; i <= mpi; i++) {
            if (off + 4 > (size_t)smp1len) { free(smp1); buf_s(&err, "short SMP message"); goto fail; }
            size_t len = ((size_t)smp1[off] << 24) | ((size_t)smp1[off + 1] << 16) | ((size_t)smp1[off + 2] << 8) | smp1[off + 3];
            off += 4 + len;
            if (off > (size_t)smp1len || len == 0) { free(smp1); buf_s(&err, "bad SMP message"); goto fail; }
        }
        if (mpi >= 0) smp1[off - 1] ^= 0x01;
        OtrlTLV *tlv = otrl_tlv_new(OTRL_TLV_SMP1, (unsigned short)smp1len, smp1);
        char *data = NULL;
        e = otrl_proto_create_data(&data, c, "", tlv, OTRL_MSGFLAGS_IGNORE_UNREADABLE, NULL);
        otrl_tlv_free(tlv); free(smp1);
        if (e || !data) { buf_fmt(&err, "otrl_proto_create_data: %s", gcry_strerror(e)); goto fail; }
        c->smstate->nextExpected = OTRL_SMP_EXPECT2;
        add_wire(&A, data);
        free(data);
        buf_s(out, "{\"ok\":true"); reply_common(out); buf_s(out, "}");
    } else if (!strcmp(cmd, "smp_abort")) {
        ConnContext *c = child_ctx(&A, peer);
        if (!c) { buf_s(&err, "no context"); goto fail; }
        otrl_message_abort_smp(A.us, &ops, &A, c);
        buf_s(out, "{\"ok\":true"); reply_common(out); buf_s(out, "}");
    } else {
        buf_fmt(&err, "unknown cmd");
        goto fail;
    }
    obj_free(&o); free(err.p);
    return;
fail:
    buf_clear(out);
    buf_s(out, "{\"ok\":false,\"error\":"); buf_jstr(out, err.p); reply_common(out); buf_s(out, "}");
    obj_free(&o); free(err.p);
}

static int json_main(void) {
    Buf line = {0}, out = {0};
    int c;
    for (;;) {
        buf_clear(&line);
        while ((c = getchar()) != EOF && c != '\n') { char ch = (char)c; buf_add(&line, &ch, 1); }
        if (c == EOF && line.len == 0) break;
        if (line.len == 0) continue;
        handle(line.p, &out);
        fputs(out.p, stdout); fputc('\n', stdout); fflush(stdout);
        if (quit_requested) break;
        if (c == EOF) break;
    }
    return 0;
}

/* ------------------------------------------------------------------ bench mode */
static double now(void) { struct timespec ts; clock_gettime(CLOCK_MONOTONIC, &ts); return ts.tv_sec + ts.tv_nsec * 1e-9; }
static int cmpd(const void *a, const void *b) { double x = *(const double *)a, y = *(const double *)b; return x < y ? -1 : x > y; }
static double median(double *v, int n) {
    qsort(v, n, sizeof *v, cmpd);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static int deliver(Msg *m, char **plain_out) {
    char *newmsg = NULL; OtrlTLV *tlvs = NULL;
    int ignore = otrl_message_receiving(m->to->us, &ops, m->to, m->to->account, m->to->protocol,
                                        m->from->account, m->text, &newmsg, &tlvs, NULL, NULL, NULL);
    if (tlvs) otrl_tlv_free(tlvs);
    int vis = 0;
    if (!ignore && newmsg) { vis = 1; if (plain_out) *plain_out = newmsg; else otrl_message_free(newmsg); }
    else if (newmsg) otrl_message_free(newmsg);
    return vis;
}
static void pump(void) {
    while (qhead) {
        Msg *m = qhead; qhead = m->next; if (!qhead) qtail = NULL;
        deliver(m, NULL);
        free(m->text); free(m);
    }
}
static ConnContext *bench_child(Account *a) {
    for (ConnContext *c = a->us->context_root; c; c = c->next)
        if (c->msgstate == OTRL_MSGSTATE_ENCRYPTED) return c;
    return NULL;
}
static void die(const char *m) { fprintf(stderr, "bench: %s\n", m); exit(1); }

static double bench_ake(Account *a, Account *b) {
    otrl_context_forget_all(a->us); otrl_context_forget_all(b->us);
    a->secure = b->secure = 0;
    double t0 = now();
    char *q = otrl_proto_default_query_msg(a->account, a->policy);
    enqueue(a, b, q); free(q);
    pump();
    double dt = now() - t0;
    if (!a->secure || !b->secure || !bench_child(a) || !bench_child(b)) die("AKE failed");
    return dt;
}
static void bench_send(Account *from, Account *to, const char *msg) {
    char *out = NULL;
    gcry_error_t e = otrl_message_sending(from->us, &ops, from, from->account, from->protocol, to->account,
                                          OTRL_INSTAG_BEST, msg, NULL, &out, OTRL_FRAGMENT_SEND_SKIP, NULL, NULL, NULL);
    if (e || !out) die("sending failed");
    Msg m = { to, from, out, NULL };
    char *plain = NULL;
    deliver(&m, &plain);
    if (!plain || strcmp(plain, msg)) die("decrypt mismatch");
    otrl_message_free(plain);
    otrl_message_free(out);
    pump();
}
static double bench_data(Account *a, Account *b, int size, int alternating, int n, int trials) {
    char *msg = malloc((size_t)size + 1);
    for (int i = 0; i < size; i++) msg[i] = (char)('a' + (i % 26));
    msg[size] = 0;
    double *tv = calloc((size_t)trials, sizeof(double));
    for (int t = 0; t < trials; t++) {
        double t0 = now();
        for (int i = 0; i < n; i++) {
            if (alternating && (i & 1)) bench_send(b, a, msg);
            else bench_send(a, b, msg);
        }
        tv[t] = n / (now() - t0);
    }
    double r = median(tv, trials);
    free(tv); free(msg);
    return r;
}
static double bench_smp(Account *a, Account *b) {
    a->smp_success = b->smp_success = a->smp_fail = b->smp_fail = 0; b->smp_ask = 0;
    const unsigned char secret[] = "correct horse battery staple";
    double t0 = now();
    otrl_message_initiate_smp(a->us, &ops, a, bench_child(a), secret, sizeof secret - 1);
    for (;;) {
        pump();
        if (b->smp_ask) {
            b->smp_ask = 0;
            otrl_message_respond_smp(b->us, &ops, b, b->smp_ctx, secret, sizeof secret - 1);
            continue;
        }
        break;
    }
    double dt = now() - t0;
    if (!a->smp_success || !b->smp_success) die("SMP failed");
    return dt;
}

static int bench_main(int argc, char **argv) {
    if (argc < 9) { fprintf(stderr, "usage: %s --bench KEYDIR POLICY AKE_RUNS N_ALT N_ONEWAY N_BIG SMP_RUNS [TRIALS]\n", argv[0]); return 2; }
    const char *dir = argv[2];
    OtrlPolicy pol;
    if (parse_policy(argv[3], &pol)) die("bad policy");
    int ake_runs = atoi(argv[4]), n_alt = atoi(argv[5]), n_one = atoi(argv[6]), n_big = atoi(argv[7]), smp_runs = atoi(argv[8]);
    if (ake_runs < 1 || n_alt < 1 || n_one < 1 || n_big < 1 || smp_runs < 1) die("counts must be >= 1");
    static Account alice, bob;
    snprintf(alice.account, sizeof alice.account, "alice@example.org");
    snprintf(bob.account, sizeof bob.account, "bob@example.org");
    Account *acc[2] = { &alice, &bob };
    const char *names[2] = { "alice", "bob" };
    for (int i = 0; i < 2; i++) {
        snprintf(acc[i]->protocol, sizeof acc[i]->protocol, "xmpp");
        acc[i]->policy = pol;
        acc[i]->us = otrl_userstate_create();
        acc[i]->bench_peer = acc[1 - i];
        char kf[1024], tf[1024];
        snprintf(kf, sizeof kf, "%s/%s.key", dir, names[i]);
        snprintf(tf, sizeof tf, "%s/%s.instag", dir, names[i]);
        Buf err = {0}; buf_s(&err, "");
        if (load_keys(acc[i], kf, tf, &err)) die(err.p);
        free(err.p);
    }
    double *v = calloc((size_t)(ake_runs > smp_runs ? ake_runs : smp_runs), sizeof(double));
    bench_ake(&alice, &bob); /* warm-up */
    for (int i = 0; i < ake_runs; i++) v[i] = bench_ake(&alice, &bob);
    double ake_ms = median(v, ake_runs) * 1e3;
    int trials = argc > 9 ? atoi(argv[9]) : 5;
    if (trials < 1) die("trials must be >= 1");
    double alt = bench_data(&alice, &bob, 100, 1, n_alt, trials);
    double one = bench_data(&alice, &bob, 100, 0, n_one, trials);
    double big = bench_data(&alice, &bob, 10240, 0, n_big, trials);
    bench_smp(&alice, &bob); /* warm-up */
    for (int i = 0; i < smp_runs; i++) v[i] = bench_smp(&alice, &bob);
    double smp_ms = median(v, smp_runs) * 1e3;
    printf("{\"libotr\":\"%s\",\"ake_ms\":%.4f,\"alt100_msgs_per_s\":%.2f,\"oneway100_msgs_per_s\":%.2f,"
           "\"oneway10k_msgs_per_s\":%.2f,\"smp_ms\":%.4f}\n", otrl_version(), ake_ms, alt, one, big, smp_ms);
    return 0;
}

int main(int argc, char **argv) {
    OTRL_INIT;
    init_ops();
    if (argc > 1 && !strcmp(argv[1], "--bench")) return bench_main(argc, argv);
    return json_main();
}
