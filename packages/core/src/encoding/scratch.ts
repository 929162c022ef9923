// A reused byte buffer (with its DataView) for encodings that are hashed at once and never kept: the
// per-event leaves of a signed group. Invariant: its bytes are only valid until the next `fit`, so a
// caller writes every byte it then reads (nothing is left to a fresh buffer's zeros).

export class Scratch {
  bytes: Uint8Array;
  view: DataView;

  constructor(size: number) {
    this.bytes = new Uint8Array(size);
    this.view = new DataView(this.bytes.buffer);
  }

  /** Makes room for `size` bytes; the current contents are not kept when it has to grow. */
  fit(size: number): void {
    if (this.bytes.length >= size) return;
    this.bytes = new Uint8Array(Math.max(size, 2 * this.bytes.length));
    this.view = new DataView(this.bytes.buffer);
  }
}
