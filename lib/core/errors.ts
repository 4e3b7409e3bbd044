/**
 * Typed errors. Every error this library raises for bad input from the network is a
 * `ProtocolError` subclass with a stable `code`; caller bugs throw TypeError or RangeError.
 * Messages never contain plaintext, keys or JIDs.
 */

/** Base class of all errors about data that arrived from a peer or from storage. */
export class ProtocolError extends Error {
  /** Stable machine-readable code, e.g. `otr.bad-mac`. */
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** Input could not be parsed: truncated, oversized, bad encoding, trailing bytes. */
export class MalformedMessageError extends ProtocolError {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** A MAC or signature did not verify, or a value failed a cryptographic range check. */
export class VerificationError extends ProtocolError {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** The message is well-formed but not acceptable in the current state (replay, unknown key id). */
export class StateError extends ProtocolError {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** Persisted state could not be read or is of an unknown version. */
export class StorageError extends ProtocolError {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
