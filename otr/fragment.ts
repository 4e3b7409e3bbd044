/**
 * Fragmentation of OTR messages (OTR v3 spec, "Fragmentation"), as libotr 4.1.1 does it
 * (`otrl_proto_fragment_create` / `otrl_proto_fragment_accumulate`, proto.c; the instance
 * routing of message.c):
 * - version 3: "?OTR|%08x|%08x,%05hu,%05hu,<piece>," (sender tag, receiver tag, k, n);
 * - version 2: "?OTR,%05hu,%05hu,<piece>,".
 * The spec allows leading zeros; libotr writes the widths above, and so do we, so that our
 * fragments are byte-identical to libotr's (test/unit/otr/libotr-outside.test.ts).
 *
 * Receiving is a `FragmentReassembler` per correspondent instance, with bounded memory; it
 * never throws for peer input.
 */
import { MalformedMessageError } from '../lib/core/errors.js';
import { MIN_INSTANCE_TAG } from './encoded-message.js';
import type { OtrVersion } from './message-types.js';

/** Largest k and n: they are SHORTs (spec). */
export const MAX_FRAGMENT_COUNT = 65535;

/** Characters a v3 fragment adds around its piece: "?OTR|" 8 "|" 8 "," 5 "," 5 "," + ",". */
export const V3_FRAGMENT_OVERHEAD = 36;
/** Characters a v2 fragment adds around its piece: "?OTR," 5 "," 5 "," + ",". */
export const V2_FRAGMENT_OVERHEAD = 18;

/** Overhead of one fragment of `version`. */
export function fragmentOverhead(version: OtrVersion): number {
  return version === 3 ? V3_FRAGMENT_OVERHEAD : V2_FRAGMENT_OVERHEAD;
}

/** Options of `fragmentMessage`. */
export interface FragmentOptions {
  /** Protocol version of the session: selects the format. */
  readonly version: OtrVersion;
  /**
   * Longest message the network carries, in characters, fragment overhead included. libotr's
   * `mms` argument counts one more (its fragments are at most `mms - 1` long): to reproduce
   * libotr's fragments exactly, pass libotr's mms minus one.
   */
  readonly maxFragmentLength: number;
  /** Our instance tag (version 3; ignored for version 2). */
  readonly senderInstanceTag?: number;
  /** The peer's instance tag, 0 if unknown (version 3; ignored for version 2). */
  readonly receiverInstanceTag?: number;
}

const hex8 = (value: number): string => value.toString(16).padStart(8, '0');
const dec5 = (value: number): string => value.toString(10).padStart(5, '0');

function checkTag(value: number | undefined, name: string): number {
  const tag = value ?? 0;
  if (!Number.isInteger(tag) || tag < 0 || tag > 0xffffffff) throw new RangeError(`fragmentMessage: ${name} must be 0..2^32-1`);
  return tag;
}

/**
 * Splits `message` (an encoded OTR message, "?OTR:...") into fragments of at most
 * `maxFragmentLength` characters each (OTR v3 spec, "Transmitting Fragments"). A message
 * that already fits is returned unchanged as the only element (libotr sends it unfragmented).
 * Pieces are cut at equal sizes from the start, the last one shorter, as libotr does.
 *
 * Throws, for a message that needs fragmenting (caller bugs): RangeError if
 * `maxFragmentLength` leaves no room for a piece, if more than 65535 fragments would be
 * needed, or for an invalid instance tag; TypeError if the message contains "," (the
 * receiver reads a piece up to the first ",") or a character outside printable ASCII
 * (pieces are counted in characters; encoded messages are ASCII).
 */
export function fragmentMessage(message: string, options: FragmentOptions): string[] {
  const { version, maxFragmentLength } = options;
  if (version !== 2 && version !== 3) throw new RangeError('fragmentMessage: version must be 2 or 3');
  if (!Number.isInteger(maxFragmentLength)) throw new RangeError('fragmentMessage: maxFragmentLength must be an integer');
  if (message.length <= maxFragmentLength) return [message];
  if (/[^\x20-\x7e\n]/.test(message)) throw new TypeError('fragmentMessage: message must be printable ASCII');
  if (message.includes(',')) throw new TypeError('fragmentMessage: message must not contain ","');
  const pieceLength = maxFragmentLength - fragmentOverhead(version);
  if (pieceLength < 1) throw new RangeError(`fragmentMessage: maxFragmentLength must exceed ${fragmentOverhead(version)}`);
  const count = Math.ceil(message.length / pieceLength);
  if (count > MAX_FRAGMENT_COUNT) throw new RangeError('fragmentMessage: message needs more than 65535 fragments');
  const head = version === 3
    ? `?OTR|${hex8(checkTag(options.senderInstanceTag, 'senderInstanceTag'))}|${hex8(checkTag(options.receiverInstanceTag, 'receiverInstanceTag'))},`
    : '?OTR,';
  const fragments: string[] = [];
  for (let k = 1; k <= count; k += 1) {
    const piece = message.slice((k - 1) * pieceLength, k * pieceLength);
    fragments.push(`${head}${dec5(k)},${dec5(count)},${piece},`);
  }
  return fragments;
}

/** A parsed fragment. For version 2 both instance tags are 0. */
export interface ParsedFragment {
  /** 3 for "?OTR|" fragments, 2 for "?OTR," fragments. */
  readonly version: OtrVersion;
  /** Sender instance tag (version 3). */
  readonly senderInstanceTag: number;
  /** Receiver instance tag (version 3; 0 means "any instance"). */
  readonly receiverInstanceTag: number;
  /** This fragment's number, 1-based (not yet checked against n). */
  readonly k: number;
  /** Number of fragments (not yet checked). */
  readonly n: number;
  /** The piece: non-empty, without commas. */
  readonly piece: string;
}

/** Marker of a version 3 fragment. */
export const V3_FRAGMENT_MARKER = '?OTR|';
/** Marker of a version 2 fragment. */
export const V2_FRAGMENT_MARKER = '?OTR,';

// Instance tags: 1..8 hex digits. k, n: decimal, leading zeros allowed (spec) but bounded so
// that a hostile number cannot be long; the value is range-checked after parsing.
const V3_FRAGMENT = /^\?OTR\|([0-9a-fA-F]{1,8})\|([0-9a-fA-F]{1,8}),([0-9]{1,10}),([0-9]{1,10}),([^,]+),/;
const V2_FRAGMENT = /^\?OTR,([0-9]{1,10}),([0-9]{1,10}),([^,]+),/;

/**
 * Whether `text` holds a fragment marker, and where: the first "?OTR|" anywhere, else the
 * first "?OTR," (libotr's `otrl_proto_fragment_accumulate` looks for them in this order,
 * anywhere in the message, before looking at any other OTR marker).
 */
export function findFragmentMarker(text: string): { version: OtrVersion; index: number } | undefined {
  const v3 = text.indexOf(V3_FRAGMENT_MARKER);
  if (v3 >= 0) return { version: 3, index: v3 };
  const v2 = text.indexOf(V2_FRAGMENT_MARKER);
  if (v2 >= 0) return { version: 2, index: v2 };
  return undefined;
}

/**
 * Parses the fragment at the first fragment marker of `text` (see `findFragmentMarker`).
 * Text after the piece's closing "," is ignored, as libotr does. Throws
 * `MalformedMessageError` code `otr.bad-fragment` when there is no marker or the fragment
 * does not follow the format (missing fields, empty piece, k or n above 65535, ...); libotr
 * swallows such messages without showing them, and so should the caller.
 *
 * Stricter than libotr's `sscanf` on purpose: no signs, no "0x", no whitespace inside the
 * header, at most 8 hex digits per instance tag.
 */
export function parseFragment(text: string): ParsedFragment {
  const marker = findFragmentMarker(text);
  if (marker === undefined) throw new MalformedMessageError('otr.bad-fragment', 'no fragment marker');
  const rest = text.slice(marker.index);
  let version: OtrVersion;
  let senderInstanceTag = 0;
  let receiverInstanceTag = 0;
  let kText: string | undefined;
  let nText: string | undefined;
  let piece: string | undefined;
  if (marker.version === 3) {
    const match = V3_FRAGMENT.exec(rest);
    if (match === null) throw new MalformedMessageError('otr.bad-fragment', 'malformed version 3 fragment');
    version = 3;
    senderInstanceTag = Number.parseInt(match[1] ?? '', 16);
    receiverInstanceTag = Number.parseInt(match[2] ?? '', 16);
    [kText, nText, piece] = [match[3], match[4], match[5]];
  } else {
    const match = V2_FRAGMENT.exec(rest);
    if (match === null) throw new MalformedMessageError('otr.bad-fragment', 'malformed version 2 fragment');
    version = 2;
    [kText, nText, piece] = [match[1], match[2], match[3]];
  }
  const k = Number.parseInt(kText ?? '', 10);
  const n = Number.parseInt(nText ?? '', 10);
  if (!(k <= MAX_FRAGMENT_COUNT && n <= MAX_FRAGMENT_COUNT)) {
    throw new MalformedMessageError('otr.bad-fragment', 'fragment number above 65535');
  }
  return { version, senderInstanceTag, receiverInstanceTag, k, n, piece: piece ?? '' };
}

/**
 * Where a version 3 fragment is going (OTR v3 spec, "Receiving Fragments" and "Instance
 * Tags"; libotr message.c): `other-instance` when the receiver tag is neither 0 nor ours
 * (discard, optionally warn), `invalid-sender` when the sender tag is below 0x100 (libotr
 * reports a malformed message), else `ours`. Version 2 fragments are always `ours`.
 */
export function fragmentDestination(fragment: ParsedFragment, ourInstanceTag: number): 'ours' | 'other-instance' | 'invalid-sender' {
  if (fragment.version === 2) return 'ours';
  if (fragment.receiverInstanceTag !== 0 && fragment.receiverInstanceTag !== ourInstanceTag) return 'other-instance';
  if (fragment.senderInstanceTag < MIN_INSTANCE_TAG) return 'invalid-sender';
  return 'ours';
}

/** Why a fragment was not kept. */
export type FragmentDiscardReason =
  /** k == 0, n == 0 or k > n: the fragment is ignored, the stored fragments stay (spec, libotr). */
  | 'illegal'
  /** Not the next fragment of the stored message: everything stored is forgotten (spec). */
  | 'out-of-order'
  /** n above `maxPieces`: not stored, and what was stored is forgotten. */
  | 'too-many-pieces'
  /** The message would exceed `maxBufferedLength`: everything stored is forgotten. */
  | 'too-large';

/** What a received fragment did. */
export type FragmentResult =
  | { readonly kind: 'incomplete' }
  | { readonly kind: 'complete'; readonly message: string }
  | { readonly kind: 'discarded'; readonly reason: FragmentDiscardReason };

/** Limits of a `FragmentReassembler`. */
export interface FragmentReassemblerOptions {
  /** Most characters buffered at once (default 1 MiB, `DEFAULT_MAX_BUFFERED_LENGTH`). */
  readonly maxBufferedLength?: number;
  /** Largest n accepted (default 10,000, `DEFAULT_MAX_PIECES`; the format allows 65535). */
  readonly maxPieces?: number;
}

/** Default `maxBufferedLength`: 1 MiB of characters. */
export const DEFAULT_MAX_BUFFERED_LENGTH = 1024 * 1024;
/** Default `maxPieces`. */
export const DEFAULT_MAX_PIECES = 10_000;

/**
 * A copy of `text` that shares no memory with the string it was cut from. V8 represents a
 * substring as a view of its parent, so a stored piece would otherwise keep the whole
 * received message alive and `maxBufferedLength` would not bound memory. UTF-16LE round
 * trips every string exactly (lone surrogates included).
 */
function detach(text: string): string {
  return Buffer.from(text, 'utf16le').toString('utf16le');
}

/**
 * Reassembles the fragments of one correspondent instance (OTR v3 spec, "Receiving
 * Fragments"), keeping at most one partial message. Use one reassembler per (peer, sender
 * instance tag), as libotr keeps one per context; route v3 fragments with
 * `fragmentDestination` first.
 *
 * With (K, N) the stored fragment number and count (0, 0 when nothing is stored):
 * - k == 0, n == 0 or k > n: discard this fragment, keep the stored ones (`illegal`);
 * - k == 1: forget what is stored, store this piece, (K, N) = (1, n);
 * - n == N and k == K + 1 (and the same version and instance tags): append the piece;
 * - otherwise: forget what is stored (`out-of-order`);
 * - then, if N > 0 and K == N, the stored pieces are the complete message.
 * Memory is bounded: a message longer than `maxBufferedLength` characters or announced with
 * more than `maxPieces` pieces is dropped. The spec also says to forget stored fragments
 * when an unfragmented message arrives: call `reset()` then.
 */
export class FragmentReassembler {
  readonly #maxBufferedLength: number;
  readonly #maxPieces: number;
  #pieces: string[] = [];
  #bufferedLength = 0;
  #k = 0;
  #n = 0;
  #version: OtrVersion | undefined;
  #senderInstanceTag = 0;
  #receiverInstanceTag = 0;

  constructor(options: FragmentReassemblerOptions = {}) {
    const maxBufferedLength = options.maxBufferedLength ?? DEFAULT_MAX_BUFFERED_LENGTH;
    const maxPieces = options.maxPieces ?? DEFAULT_MAX_PIECES;
    if (!Number.isInteger(maxBufferedLength) || maxBufferedLength < 1) throw new RangeError('FragmentReassembler: maxBufferedLength must be a positive integer');
    if (!Number.isInteger(maxPieces) || maxPieces < 1 || maxPieces > MAX_FRAGMENT_COUNT) throw new RangeError('FragmentReassembler: maxPieces must be 1..65535');
    this.#maxBufferedLength = maxBufferedLength;
    this.#maxPieces = maxPieces;
  }

  /** Characters currently buffered (never above `maxBufferedLength`). */
  get bufferedLength(): number {
    return this.#bufferedLength;
  }

  /** The stored (K, N); (0, 0) when nothing is stored. */
  get position(): { readonly k: number; readonly n: number } {
    return { k: this.#k, n: this.#n };
  }

  /** Forgets any stored fragment: (K, N) = (0, 0), F = "". */
  reset(): void {
    this.#pieces = [];
    this.#bufferedLength = 0;
    this.#k = 0;
    this.#n = 0;
    this.#version = undefined;
    this.#senderInstanceTag = 0;
    this.#receiverInstanceTag = 0;
  }

  #sameStream(fragment: ParsedFragment): boolean {
    return (
      fragment.version === this.#version &&
      fragment.senderInstanceTag === this.#senderInstanceTag &&
      fragment.receiverInstanceTag === this.#receiverInstanceTag
    );
  }

  /** Accepts one received fragment. Never throws. */
  accept(fragment: ParsedFragment): FragmentResult {
    const { k, n } = fragment;
    const piece = fragment.piece;
    if (!(Number.isInteger(k) && Number.isInteger(n)) || k < 1 || n < 1 || k > n) return { kind: 'discarded', reason: 'illegal' };
    if (k === 1) {
      this.reset();
      if (n > this.#maxPieces) return { kind: 'discarded', reason: 'too-many-pieces' };
      if (piece.length > this.#maxBufferedLength) return { kind: 'discarded', reason: 'too-large' };
      this.#version = fragment.version;
      this.#senderInstanceTag = fragment.senderInstanceTag;
      this.#receiverInstanceTag = fragment.receiverInstanceTag;
      this.#n = n;
    } else if (n === this.#n && k === this.#k + 1 && this.#sameStream(fragment)) {
      if (this.#bufferedLength + piece.length > this.#maxBufferedLength) {
        this.reset();
        return { kind: 'discarded', reason: 'too-large' };
      }
    } else {
      this.reset();
      return { kind: 'discarded', reason: 'out-of-order' };
    }
    this.#pieces.push(detach(piece));
    this.#bufferedLength += piece.length;
    this.#k = k;
    if (this.#k < this.#n) return { kind: 'incomplete' };
    const message = this.#pieces.join('');
    this.reset();
    return { kind: 'complete', message };
  }
}
