// The header fields of an event frame (FORMAT.md § Event frame body), named once: the frame, the index
// entry, the seal's header leaf and the checks between them all derive their shapes from these types.

export interface BatchRef {
  /** Global sequence of the batch's first event. */
  readonly first: number;
  readonly index: number;
  readonly count: number;
}

export interface EncryptionRef {
  /** Key scope bytes (FORMAT.md § Key scopes). */
  readonly scope: Uint8Array;
  /** 24-byte XChaCha20 nonce. */
  readonly nonce: Uint8Array;
  /** Key generation within the scope (0 unless the scope was shredded and re-keyed). */
  readonly generation: number;
}

/** The header fields every event frame carries, besides its id (keys `g` … `f`). */
export interface EventHeaderCore {
  readonly globalSequence: number;
  readonly entitySequence: number;
  /** u16: `category << 12 | typeId`. */
  readonly kind: number;
  readonly entity: string;
  readonly scope: string;
  /** Unix ms. */
  readonly committedAt: number;
  readonly prevHash: Uint8Array;
  readonly contentHash: Uint8Array;
  readonly payloadVersion: number;
  /** EventFlags bits. */
  readonly flags: number;
}

/** The optional header fields (keys `b`, `x`, `r`): undefined when the frame omits them. */
export interface EventHeaderOptionals {
  readonly batch: BatchRef | undefined;
  readonly encryption: EncryptionRef | undefined;
  /** Receipt extensions (e.g. `batpak.signing.downgrade`), key-sorted. */
  readonly extensions: ReadonlyMap<string, Uint8Array> | undefined;
}

/** Every header field of an event frame: all of the body but the frame type and the payload. */
export interface FrameHeaderFields extends EventHeaderCore, Partial<EventHeaderOptionals> {
  /** 16-byte event id. */
  readonly id: Uint8Array;
}

/**
 * The header fields as a reader keeps them beside the frame (an index entry): every optional field
 * present (undefined when absent), and the id as `idBytes`.
 */
export interface KeptHeaderFields extends EventHeaderCore, EventHeaderOptionals {
  readonly idBytes: Uint8Array;
}
