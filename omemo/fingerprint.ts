/**
 * OMEMO fingerprints (XEP-0384 section 9, "Security Considerations"): the public identity key
 * in its byte-encoded Curve25519 form (32 bytes, no 0x05 type byte), shown as 64 lower-case hex
 * characters in 8 groups of 8. An omemo:2 device publishes an Ed25519 identity key; its
 * fingerprint is the birational Curve25519 image, so one device shows one fingerprint under
 * both versions (and the same one Conversations, Dino and Gajim show for it).
 *
 * Renderings:
 * - `conversations`: 8 lower-case groups of 8 separated by single spaces (Conversations,
 *   Dino, the XEP's recommendation);
 * - `gajim`: the same groups upper-case, 4 groups per line (Gajim wraps at 36 columns);
 * - `hex`: the 64 bare lower-case hex characters (what goes into URIs and QR codes).
 *
 * The `xmpp:` URI for QR codes follows Conversations (and Dino, Gajim, Monal):
 * `xmpp:<bare jid>?omemo-sid-<device id>=<64 hex>[;omemo-sid-<id>=<hex>...]`, parameters
 * separated by ';' (RFC 5122 query syntax).
 */
import { bytesToHex, hexToBytes } from '../lib/core/bytes.js';
import { MalformedMessageError } from '../lib/core/errors.js';
import { KEY_LENGTH } from './crypto/curve25519.js';
import { edwardsToMontgomery } from './crypto/xeddsa.js';
import { MAX_DEVICE_ID } from './versions/xml-fields.js';

/** The two OMEMO versions the manager speaks. */
export type OmemoVersion = '0.3' | '2';

/** How to render a fingerprint. */
export type FingerprintStyle = 'conversations' | 'gajim' | 'hex';

/**
 * The 32-byte Curve25519 fingerprint of an identity key in `version`'s wire form (0.3: the raw
 * Curve25519 key; omemo:2: Ed25519, converted). RangeError for a wrong length; VerificationError
 * from the conversion for an Ed25519 encoding that is not a point.
 */
export function fingerprintOf(version: OmemoVersion, identityKey: Uint8Array): Uint8Array {
  if (identityKey.length !== KEY_LENGTH) throw new RangeError('fingerprintOf: identity key must be 32 bytes');
  return version === '0.3' ? Uint8Array.from(identityKey) : edwardsToMontgomery(identityKey);
}

/** Renders a 32-byte fingerprint (or its 64-hex form) in `style` (default `conversations`). */
export function formatFingerprint(fingerprint: Uint8Array | string, style: FingerprintStyle = 'conversations'): string {
  const hex = typeof fingerprint === 'string' ? fingerprint.toLowerCase() : bytesToHex(fingerprint);
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new RangeError('formatFingerprint: expected 32 bytes / 64 hex characters');
  if (style === 'hex') return hex;
  const groups = hex.match(/.{8}/g) as string[];
  if (style === 'conversations') return groups.join(' ');
  const upper = groups.map((g) => g.toUpperCase());
  return `${upper.slice(0, 4).join(' ')}\n${upper.slice(4).join(' ')}`;
}

/** One device of a fingerprint URI. */
export interface UriFingerprint {
  readonly deviceId: number;
  /** 32 bytes, or 64 hex characters. */
  readonly fingerprint: Uint8Array | string;
}

/**
 * `xmpp:jid?omemo-sid-<id>=<hex>;...` for QR codes (Conversations' XmppUri form). The JID is
 * written as given (percent-encoding characters RFC 5122 does not allow in the path).
 */
export function fingerprintUri(bareJid: string, devices: readonly UriFingerprint[]): string {
  if (bareJid === '' || bareJid.includes('/') || /[\s?#;]/.test(bareJid)) throw new RangeError('fingerprintUri: expected a bare JID');
  const jid = encodeURI(bareJid);
  if (devices.length === 0) return `xmpp:${jid}`;
  const params = devices.map((d) => {
    if (!Number.isInteger(d.deviceId) || d.deviceId < 1 || d.deviceId > MAX_DEVICE_ID) throw new RangeError('fingerprintUri: bad device id');
    return `omemo-sid-${d.deviceId}=${formatFingerprint(d.fingerprint, 'hex')}`;
  });
  return `xmpp:${jid}?${params.join(';')}`;
}

/** A parsed fingerprint URI. */
export interface ParsedFingerprintUri {
  readonly jid: string;
  readonly devices: readonly { readonly deviceId: number; readonly fingerprint: Uint8Array }[];
}

/**
 * Parses a scanned `xmpp:` URI: the JID and every `omemo-sid-<id>=<64 hex>` parameter (case of
 * the hex ignored, other parameters skipped). MalformedMessageError `omemo.bad-uri` otherwise:
 * a QR code is untrusted input.
 */
export function parseFingerprintUri(uri: string): ParsedFingerprintUri {
  const bad = (): never => {
    throw new MalformedMessageError('omemo.bad-uri', 'Not an xmpp: URI with OMEMO fingerprints');
  };
  if (uri.length > 8192 || !/^xmpp:/i.test(uri)) bad();
  const rest = uri.slice(5).replace(/^\/\/[^/]*\//, '');
  const q = rest.indexOf('?');
  let jid: string;
  try {
    jid = decodeURIComponent(q < 0 ? rest : rest.slice(0, q));
  } catch {
    return bad();
  }
  if (jid === '' || jid.includes('/') || /\s/.test(jid)) bad();
  const devices: { deviceId: number; fingerprint: Uint8Array }[] = [];
  if (q >= 0) {
    for (const param of rest.slice(q + 1).split(/[;&]/)) {
      const match = /^omemo-sid-([1-9][0-9]{0,9})=([0-9a-fA-F]{64})$/i.exec(param);
      if (match === null) {
        if (/^omemo-sid-/i.test(param)) bad();
        continue;
      }
      const deviceId = Number(match[1]);
      if (deviceId > MAX_DEVICE_ID) bad();
      devices.push({ deviceId, fingerprint: hexToBytes((match[2] as string).toLowerCase()) });
    }
  }
  return { jid, devices };
}
