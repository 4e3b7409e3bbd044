/**
 * Message type bytes and protocol versions of OTR's encoded messages (OTR v3 spec,
 * "Encoded messages": each binary message starts with the protocol version (SHORT) and the
 * message type (BYTE)).
 */

/**
 * The message type byte of each encoded OTR message (OTR v3 spec, "D-H Commit Message"
 * 0x02, "D-H Key Message" 0x0a, "Reveal Signature Message" 0x11, "Signature Message" 0x12,
 * "Data Message" 0x03). The same values are used by protocol version 2.
 */
export const OTR_MESSAGE_TYPE = { dhCommit: 0x02, data: 0x03, dhKey: 0x0a, revealSignature: 0x11, signature: 0x12 } as const;

/** One of the message type bytes in `OTR_MESSAGE_TYPE`. */
export type OtrMessageType = (typeof OTR_MESSAGE_TYPE)[keyof typeof OTR_MESSAGE_TYPE];

/** The OTR protocol versions this library speaks (version 1 is obsolete and unsupported). */
export type OtrVersion = 2 | 3;

const MESSAGE_TYPES: ReadonlySet<number> = new Set(Object.values(OTR_MESSAGE_TYPE));

/** True when `value` is one of the message type bytes in `OTR_MESSAGE_TYPE`. */
export function isOtrMessageType(value: number): value is OtrMessageType {
  return MESSAGE_TYPES.has(value);
}

/** True when `value` is a protocol version this library speaks (2 or 3). */
export function isOtrVersion(value: number): value is OtrVersion {
  return value === 2 || value === 3;
}
