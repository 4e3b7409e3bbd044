/**
 * Reading evidence off the wire: Data Messages decoded with our codecs (otr/), key ids, and
 * whether the MAC keys an implementation reveals really authenticate messages it sent
 * earlier (OTR v3 spec, "Revealing MAC keys": the point of publishing them is that anyone
 * could have forged those messages afterwards, so they must be the keys that were used).
 */
import { bytesToHex, constantTimeEqual } from '../core/bytes.js';
import { hmacSha1 } from '../core/crypto/hash.js';
import { decodeDataMessage, encodeOtrHeaderBytes, type DecodedDataMessage } from '../../otr/data-message.js';
import { decodeOtrMessage, encodeOtrMessage, type OtrMessageHeader } from '../../otr/encoded-message.js';
import { OTR_MESSAGE_TYPE } from '../../otr/message-types.js';

/** A Data Message read off the wire. */
export interface WireDataMessage {
  readonly header: OtrMessageHeader;
  readonly data: DecodedDataMessage;
}

/** The Data Message in `text` (a whole "?OTR:...." message), or undefined. */
export function readDataMessage(text: string): WireDataMessage | undefined {
  if (!text.startsWith('?OTR:')) return undefined;
  try {
    const message = decodeOtrMessage(text);
    if (message.type !== OTR_MESSAGE_TYPE.data) return undefined;
    const { body, ...header } = message;
    return { header, data: decodeDataMessage(body) };
  } catch {
    return undefined;
  }
}

/** The same Data Message with one bit of its MAC flipped (still well-formed). */
export function withFlippedMac(text: string): string {
  const message = decodeOtrMessage(text);
  const data = decodeDataMessage(message.body);
  const body = Uint8Array.from(message.body);
  const macAt = data.authenticatedBody.length;
  body[macAt] = (body[macAt] as number) ^ 0x01;
  const { body: _old, ...header } = message;
  return encodeOtrMessage(header, body);
}

/** Result of checking revealed MAC keys against earlier messages. */
export interface MacRevealEvidence {
  /** Data Messages examined (both directions). */
  readonly messages: number;
  /** Distinct MAC keys the revealer published. */
  readonly revealed: number;
  /** Revealed keys that verify the authenticator of at least one earlier message. */
  readonly verified: number;
  /** ... of which verify a message the revealer had received (its receiving keys, which the spec asks for). */
  readonly verifiedReceived: number;
  /** Revealed keys (hex) that verify no earlier message. */
  readonly unverified: string[];
}

/**
 * For every MAC key that `revealer` publishes in its Data Messages (`log` holds both
 * directions, in wire order), looks for an earlier message on the wire whose authenticator
 * that key verifies. The spec asks for the MAC keys "actually used to verify a message", i.e.
 * the revealer's receiving keys; revealing its own sending keys as well is allowed.
 */
export function checkRevealedMacKeys<S extends string>(log: readonly { readonly from: S; readonly text: string }[], revealer: S): MacRevealEvidence {
  const messages = log.flatMap((r) => {
    const m = readDataMessage(r.text);
    return m === undefined ? [] : [{ from: r.from, ...m }];
  });
  const seen = new Set<string>();
  const unverified: string[] = [];
  let verified = 0;
  let verifiedReceived = 0;
  messages.forEach((message, index) => {
    if (message.from !== revealer) return;
    const keys = message.data.oldMacKeys;
    for (let at = 0; at + 20 <= keys.length; at += 20) {
      const key = keys.subarray(at, at + 20);
      const hex = bytesToHex(key);
      if (seen.has(hex)) continue;
      seen.add(hex);
      const authenticated = messages
        .slice(0, index)
        .filter((earlier) => constantTimeEqual(hmacSha1(key, encodeOtrHeaderBytes(earlier.header), earlier.data.authenticatedBody), earlier.data.mac));
      if (authenticated.length > 0) verified++;
      else unverified.push(hex);
      if (authenticated.some((m) => m.from !== revealer)) verifiedReceived++;
    }
  });
  return { messages: messages.length, revealed: seen.size, verified, verifiedReceived, unverified };
}
