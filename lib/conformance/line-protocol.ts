/**
 * The conformance kit's line protocol: how the kit talks to an OTR implementation under test
 * (or to a reference peer) that runs as a local program. It is the protocol of our libotr
 * harness (lib/conformance/libotr-harness.c), so libotr itself speaks it natively; our engine
 * speaks it through `xmpp-otr-omemo line-peer`. docs/CONFORMANCE.md is the full description.
 *
 * One JSON object per line on the program's stdin; exactly one JSON line answers each on its
 * stdout: `{"ok":true, ...}` or `{"ok":false,"error":"..."}`. Every command that can make the
 * implementation act answers with `wire` (messages to transmit to the peer, in order) and
 * `events` (what it reported meanwhile).
 */
import { OTR_POLICY_ALWAYS, OTR_POLICY_MANUAL, OTR_POLICY_NEVER, OTR_POLICY_OPPORTUNISTIC, type OtrPolicy } from '../../otr/policy.js';

/** An event reported by the implementation while it handled one command. */
export type LineEvent =
  | { readonly type: 'gone_secure' }
  | { readonly type: 'gone_insecure' }
  | { readonly type: 'still_secure'; readonly reply?: boolean }
  | { readonly type: 'new_fingerprint'; readonly fingerprint: string }
  | {
      readonly type: 'smp';
      /** ask_for_secret | ask_for_answer | in_progress | success | failure | abort | cheated | error */
      readonly event: string;
      readonly progress?: number;
      readonly question?: string;
    }
  | { readonly type: 'msg'; readonly event: string; readonly message?: string; readonly error?: string }
  | { readonly type: 'symkey'; readonly use: number; readonly usedata: string; readonly key: string };

/** A request: `cmd` plus flat string/number/boolean fields. */
export type LineRequest =
  | {
      readonly cmd: 'init';
      readonly account: string;
      readonly protocol?: string;
      /** Comma-separated: v2, v3, require, whitespace, whitespace_start, error_start, or default|manual|opportunistic|always|never. */
      readonly policy?: string;
      /** Where the implementation keeps its long-term key (it may generate it there). */
      readonly keyfile: string;
      /** Where it keeps its instance tag. */
      readonly instagfile: string;
      /** Longest wire message; 0 = no fragmentation. */
      readonly fragment_size?: number;
    }
  | { readonly cmd: 'send'; readonly peer: string; readonly text: string }
  | { readonly cmd: 'receive'; readonly peer: string; readonly wire: string }
  | { readonly cmd: 'start_ake'; readonly peer: string }
  | { readonly cmd: 'end'; readonly peer: string }
  | { readonly cmd: 'status'; readonly peer: string }
  | { readonly cmd: 'extra_symkey'; readonly peer: string; readonly use: number; readonly usedata: string }
  | { readonly cmd: 'smp_start'; readonly peer: string; readonly secret: string; readonly question?: string }
  | { readonly cmd: 'smp_respond'; readonly peer: string; readonly secret: string }
  | { readonly cmd: 'smp_abort'; readonly peer: string }
  | { readonly cmd: 'fingerprint' }
  | { readonly cmd: 'quit' };

/** Answer of every acting command. */
export interface LineAction {
  readonly wire: string[];
  readonly events: LineEvent[];
}

/** Answer of `init` and `fingerprint`. */
export interface LineFingerprint {
  /** 40 lowercase hex digits. */
  readonly fingerprint: string;
  readonly fingerprint_human?: string;
  readonly instance_tag?: number;
}

/** Answer of `receive`. */
export interface LineReceived extends LineAction {
  /** What a client would display; null when the implementation swallowed the message. */
  readonly show: string | null;
  /** True when `show` came out of an encrypted data message. */
  readonly decrypted: boolean;
}

/** Answer of `status` (of the best session with the peer). */
export interface LineStatus {
  readonly msgstate: 'plaintext' | 'encrypted' | 'finished';
  readonly protocol_version: number;
  /** 40 lowercase hex digits, or null when no session. */
  readonly their_fingerprint: string | null;
  /** 16 lowercase hex digits, or null. */
  readonly ssid: string | null;
  readonly smp_in_progress: boolean;
}

/** Answer of `extra_symkey`. */
export interface LineExtraKey extends LineAction {
  /** 64 lowercase hex digits. */
  readonly key: string;
}

/**
 * Parses a policy string of the line protocol: libotr's OTRL_POLICY_* words, as the harness
 * reads them (OTRL_POLICY_DEFAULT is OTRL_POLICY_OPPORTUNISTIC). Undefined for an unknown word.
 */
export function parseLinePolicy(text: string): OtrPolicy | undefined {
  let p: { -readonly [K in keyof OtrPolicy]: boolean } = { ...OTR_POLICY_NEVER };
  for (const token of text.split(/[ ,|]+/).filter((t) => t.length > 0)) {
    switch (token) {
      case 'v2':
        p.allowV2 = true;
        break;
      case 'v3':
        p.allowV3 = true;
        break;
      case 'require':
        p.requireEncryption = true;
        break;
      case 'whitespace':
        p.sendWhitespaceTag = true;
        break;
      case 'whitespace_start':
        p.whitespaceStartAke = true;
        break;
      case 'error_start':
        p.errorStartAke = true;
        break;
      case 'manual':
        p = { ...p, ...OTR_POLICY_MANUAL };
        break;
      case 'default':
      case 'opportunistic':
        p = { ...p, ...OTR_POLICY_OPPORTUNISTIC };
        break;
      case 'always':
        p = { ...p, ...OTR_POLICY_ALWAYS };
        break;
      case 'never':
        break;
      default:
        return undefined;
    }
  }
  return p;
}
