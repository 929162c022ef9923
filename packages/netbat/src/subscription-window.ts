// The unacknowledged-delivery window of one NETBAT/2 session: which indexes and cursors were sent, and how
// far the client has acknowledged. Invariant: ACKs are cumulative and checked in one fixed order; memory is bounded by the window.

/** Why an ACK was refused: the session then ends with this SUB_ERR. */
export interface AckRefusal {
  readonly code: 'malformed_stream_frame' | 'cursor_invalid';
  readonly message: string;
}

export class DeliveryWindow {
  /** Deliveries that may be unacknowledged at once (the client's window, capped by the server's). */
  readonly size: number;
  #lastSent = 0n;
  #lastAcked = 0n;
  #lastDeliveredCursor: Uint8Array | undefined;
  #lastAckedCursor: Uint8Array | undefined;
  /** Cursor sent with each still-unacknowledged index (and the last acked one), so an ACK can be checked. */
  readonly #sent = new Map<bigint, Uint8Array>();

  constructor(size: number) {
    this.size = size;
  }

  /** True while another delivery fits without an ACK. */
  hasRoom(): boolean {
    return this.#lastSent - this.#lastAcked < BigInt(this.size);
  }

  /** The delivery index the next SUB_EVENT / SUB_WATERMARK carries (indexes start at 1). */
  get nextIndex(): bigint {
    return this.#lastSent + 1n;
  }

  /** Cursor of the last delivery sent (reported in SUB_ERR and SUB_END), if any carried one. */
  get lastDeliveredCursor(): Uint8Array | undefined {
    return this.#lastDeliveredCursor;
  }

  /** Cursor of the last acknowledged delivery (reported in SUB_ERR), if any. */
  get lastAckedCursor(): Uint8Array | undefined {
    return this.#lastAckedCursor;
  }

  /** Records that the delivery at `nextIndex` was sent with `cursorAfter`. */
  recordSent(cursorAfter: Uint8Array | undefined): void {
    this.#lastSent += 1n;
    this.#sent.set(this.#lastSent, cursorAfter ?? new Uint8Array());
    this.#lastDeliveredCursor = cursorAfter;
  }

  /**
   * A cumulative ACK, checked in this order: index in range, not below the last acked one, has a sent
   * cursor, and the cursor matches. Entries below the last acked index are pruned to keep memory bounded
   * by the window, so a regressed index is reported as such before its cursor is compared.
   */
  ack(index: bigint, cursor: Uint8Array): AckRefusal | undefined {
    if (index > this.#lastSent) return { code: 'malformed_stream_frame', message: 'ack delivery index out of range' };
    if (index < this.#lastAcked) return { code: 'cursor_invalid', message: 'ack delivery index regressed' };
    const sentCursor = this.#sent.get(index);
    if (sentCursor === undefined) return { code: 'cursor_invalid', message: 'ack delivery index has no sent cursor' };
    if (!Buffer.from(sentCursor).equals(cursor)) return { code: 'malformed_stream_frame', message: 'ack cursor does not match sent cursor' };
    for (const key of this.#sent.keys()) if (key < index) this.#sent.delete(key);
    this.#lastAcked = index;
    this.#lastAckedCursor = cursor;
    return undefined;
  }
}
