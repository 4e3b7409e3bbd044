/**
 * The conformance kit's OMEMO line protocol: how the kit talks to an OMEMO implementation under
 * test (or to a reference peer) that runs as a local program, or in-process. Same conventions as
 * the OTR one (line-protocol.ts): one JSON object per line on stdin, exactly one JSON line
 * answers it on stdout, `{"ok":true, ...}` or `{"ok":false,"error":"..."}`.
 *
 * One program is one JID with one or more devices (XEP-0384 section 4.2: a device list), all in
 * one OMEMO version, `0.3` (`eu.siacs.conversations.axolotl`) or `2` (`urn:xmpp:omemo:2`). The
 * kit plays the server: it carries device lists and bundles (PEP, XEP-0384 section 4.3) and
 * `<encrypted>` elements (section 4.4) between the two programs as XML strings. Plaintext is
 * text: under omemo:2 the implementation wraps it in (and takes it out of) an SCE envelope's
 * `<body xmlns="jabber:client">` (XEP-0420). docs/CONFORMANCE.md is the full description.
 */

/** The OMEMO versions the kit tests. */
export type LineOmemoVersion = '0.3' | '2';

/** Namespace of each version. */
export const OMEMO_LINE_NAMESPACES: Readonly<Record<LineOmemoVersion, string>> = {
  '0.3': 'eu.siacs.conversations.axolotl',
  '2': 'urn:xmpp:omemo:2',
};

/** A request: `cmd` plus flat fields. */
export type OmemoLineRequest =
  | {
      readonly cmd: 'init';
      /** The program's bare JID. */
      readonly jid: string;
      readonly version: LineOmemoVersion;
      /** Where the implementation may keep its state (it may also keep it in memory). */
      readonly state_dir?: string;
      /** How many devices this JID has (default 1; the kit asks for at most 3). */
      readonly devices?: number;
    }
  | { readonly cmd: 'info' }
  | {
      readonly cmd: 'peer_devices';
      /** The other program's bare JID. */
      readonly jid: string;
      /** Its published device list (`<list>` / `<devices>`). */
      readonly device_list: string;
      /** Its published bundles by device id (`<bundle>`). */
      readonly bundles: Readonly<Record<string, string>>;
    }
  | {
      readonly cmd: 'encrypt';
      readonly to_jid: string;
      readonly plaintext: string;
      /** Which of our devices sends (default: the first). */
      readonly device?: number;
    }
  | { readonly cmd: 'decrypt'; readonly from_jid: string; readonly xml: string }
  | { readonly cmd: 'quit' };

/** One of the program's devices. */
export interface OmemoLineDevice {
  readonly device_id: number;
  /** The identity key's fingerprint, lowercase hex (informative). */
  readonly fingerprint?: string;
}

/** Answer of `init` and `info`: what the program publishes. */
export interface OmemoLineInfo {
  readonly jid: string;
  readonly version: LineOmemoVersion;
  /** In order: `devices[0]` is the default sender. */
  readonly devices: readonly OmemoLineDevice[];
  /** The device list to publish (all devices). */
  readonly device_list: string;
  /** Current bundle of each device, by device id. */
  readonly bundles: Readonly<Record<string, string>>;
}

/** A message the implementation sent on its own (XEP-0384 4.5 empty messages: key-exchange completion, heartbeat, repair). */
export interface OmemoLineOutgoing {
  readonly to_jid: string;
  readonly xml: string;
}

/** An event the implementation reported (informative; `type` is free-form, e.g. `session-built`). */
export interface OmemoLineEvent {
  readonly type: string;
  readonly [field: string]: unknown;
}

/** Fields of every acting answer. */
export interface OmemoLineAction {
  /** Messages to deliver to `to_jid` (the kit delivers them to the other program). */
  readonly outbox: readonly OmemoLineOutgoing[];
  readonly events?: readonly OmemoLineEvent[];
}

/** Answer of `encrypt`. */
export interface OmemoLineEncrypted extends OmemoLineAction {
  /** The `<encrypted>` element to put in the `<message>`. */
  readonly xml: string;
}

/** What one device made of a message addressed to it. */
export interface OmemoLineDecryption {
  readonly device_id: number;
  /** The text; null for an empty (key-transport) message or when rejected. */
  readonly plaintext: string | null;
  /** Why the device rejected it (null when it accepted it). */
  readonly error: string | null;
}

/** Answer of `decrypt`. */
export interface OmemoLineDecrypted extends OmemoLineAction {
  /** One entry per device of ours the message has a `<key>` for, in device order. */
  readonly results: readonly OmemoLineDecryption[];
}
