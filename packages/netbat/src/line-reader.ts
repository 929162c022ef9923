// Bounded `\n`-framed reads from a socket, with an idle deadline before a line starts and a read deadline to finish it.
// Invariant: only `\n`-terminated lines are handed out; a line over maxLineBytes (`\n` included) is refused, not buffered.

import type { Duplex } from 'node:stream';

export type LineRead =
  /** A full line, with its `\n`. */
  | { readonly kind: 'line'; readonly line: Uint8Array }
  /** The peer finished cleanly with nothing pending. */
  | { readonly kind: 'eof' }
  /**
   * The peer finished in the middle of a line: the bytes are dropped, never handed out as a line, because a
   * request cut short by a FIN (a crashed or hostile client) must not be executed.
   */
  | { readonly kind: 'unterminated' }
  | { readonly kind: 'too_long' }
  /** `idle` when no byte of a line arrived in time, `read` when a started line did not finish in time. */
  | { readonly kind: 'timeout'; readonly phase: 'idle' | 'read' }
  /** The socket errored or was destroyed, or the caller aborted. */
  | { readonly kind: 'closed' };

export interface ReadDeadlines {
  /** Longest wait for the first byte of a line. `Infinity` disables it. */
  readonly idleMs: number;
  /** Longest time from a line's first byte to its `\n`; this is what stops a slowloris peer. */
  readonly readMs: number;
}

const LF = 0x0a;
// setTimeout silently treats larger delays as 1 ms.
const MAX_TIMER_MS = 2_147_483_647;

export class LineReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** Offset of the first `\n` in the buffered bytes, or -1. */
  private newlineAt = -1;
  private lineStartedAt = 0;
  private ended = false;
  private broken = false;
  private wake: (() => void) | undefined;

  constructor(
    private readonly socket: Duplex,
    private readonly maxLineBytes: number,
  ) {
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('error', this.onBroken);
    socket.on('close', this.onBroken);
  }

  /** Bytes received and not yet handed out: non-zero means a request has started arriving. */
  get pending(): number {
    return this.buffered;
  }

  /** Stops listening; the socket stays as it is. */
  dispose(): void {
    this.socket.off('data', this.onData);
    this.socket.off('end', this.onEnd);
    this.socket.off('error', this.onBroken);
    this.socket.off('close', this.onBroken);
    this.chunks = [];
    this.buffered = 0;
    this.notify();
  }

  async read(deadlines: ReadDeadlines, signal?: AbortSignal): Promise<LineRead> {
    for (;;) {
      const ready = this.take();
      if (ready !== undefined) return ready;
      if (signal?.aborted) return { kind: 'closed' };
      const phase = this.buffered === 0 ? 'idle' : 'read';
      const deadline = phase === 'idle' ? Date.now() + deadlines.idleMs : this.lineStartedAt + deadlines.readMs;
      this.socket.resume();
      const woke = await this.waitUntil(deadline, signal);
      if (woke === 'timeout') {
        // Bytes may have landed in the same tick as the timer; a complete line still wins.
        const late = this.take();
        return late ?? { kind: 'timeout', phase };
      }
      if (woke === 'aborted') return { kind: 'closed' };
    }
  }

  private take(): LineRead | undefined {
    if (this.newlineAt >= 0) {
      const length = this.newlineAt + 1;
      if (length > this.maxLineBytes) return { kind: 'too_long' };
      return { kind: 'line', line: this.consume(length) };
    }
    if (this.buffered > this.maxLineBytes) return { kind: 'too_long' };
    if (this.ended) {
      if (this.buffered === 0) return { kind: 'eof' };
      this.consume(this.buffered);
      return { kind: 'unterminated' };
    }
    if (this.broken) return { kind: 'closed' };
    return undefined;
  }

  private consume(length: number): Uint8Array {
    const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.buffered);
    const line = new Uint8Array(all.subarray(0, length));
    const rest = all.subarray(length);
    this.chunks = rest.length > 0 ? [rest] : [];
    this.buffered = rest.length;
    this.newlineAt = rest.indexOf(LF);
    this.lineStartedAt = Date.now();
    return line;
  }

  private waitUntil(deadline: number, signal?: AbortSignal): Promise<'activity' | 'timeout' | 'aborted'> {
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const finish = (how: 'activity' | 'timeout' | 'aborted'): void => {
        if (timer !== undefined) clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.wake = undefined;
        resolve(how);
      };
      const onAbort = (): void => finish('aborted');
      this.wake = () => finish('activity');
      signal?.addEventListener('abort', onAbort, { once: true });
      if (Number.isFinite(deadline)) {
        timer = setTimeout(() => finish('timeout'), Math.min(Math.max(0, deadline - Date.now()), MAX_TIMER_MS));
      }
    });
  }

  private notify(): void {
    this.wake?.();
  }

  private readonly onData = (chunk: Buffer | string): void => {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    if (this.buffered === 0) this.lineStartedAt = Date.now();
    if (this.newlineAt < 0) {
      const at = bytes.indexOf(LF);
      if (at >= 0) this.newlineAt = this.buffered + at;
    }
    this.chunks.push(bytes);
    this.buffered += bytes.length;
    // Nobody is waiting and a whole line (or an over-long one) is here: stop reading until asked.
    if (this.wake === undefined && (this.newlineAt >= 0 || this.buffered > this.maxLineBytes)) this.socket.pause();
    this.notify();
  };

  private readonly onEnd = (): void => {
    this.ended = true;
    this.notify();
  };

  private readonly onBroken = (): void => {
    this.broken = true;
    this.notify();
  };
}
