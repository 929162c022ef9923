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
const NO_DEADLINES: ReadDeadlines = Object.freeze({ idleMs: Infinity, readMs: Infinity });
// The results that carry nothing of their own are shared (frozen): no object per end of a read.
const CLOSED: LineRead = Object.freeze({ kind: 'closed' });
const IDLE_TIMEOUT: LineRead = Object.freeze({ kind: 'timeout', phase: 'idle' });
const READ_TIMEOUT: LineRead = Object.freeze({ kind: 'timeout', phase: 'read' });

export class LineReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** Offset of the first `\n` in the buffered bytes, or -1. */
  private newlineAt = -1;
  private lineStartedAt = 0;
  private waitingSince = 0;
  private ended = false;
  private broken = false;
  /** The pending read's resolver, while one waits. */
  private waiter: ((result: LineRead) => void) | undefined;
  /** The waiting read's deadlines, phase (what a timeout reports) and current deadline. */
  private deadlines: ReadDeadlines = NO_DEADLINES;
  private phase: 'idle' | 'read' = 'idle';
  private deadline = Infinity;
  private timer: NodeJS.Timeout | undefined;
  /** When the armed timer fires (ms since epoch). */
  private timerAt = 0;
  /** Whether the lifetime signal has fired. */
  private lifetimeAborted: boolean;
  /** A per-read signal listened to while its read waits. */
  private waitSignal: AbortSignal | undefined;

  constructor(
    private readonly socket: Duplex,
    private readonly maxLineBytes: number,
    /** A signal that outlives every read (a server connection's stop signal): listened to once, for all reads. */
    private readonly lifetime?: AbortSignal,
  ) {
    this.lifetimeAborted = lifetime?.aborted === true;
    lifetime?.addEventListener('abort', this.onLifetimeAbort);
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('error', this.onBroken);
    socket.on('close', this.onBroken);
  }

  /** Bytes received and not yet handed out: non-zero means a request has started arriving. */
  get pending(): number {
    return this.buffered;
  }

  /**
   * When the latest wait for a line's first byte began (ms since epoch): the clock read that sets the idle deadline,
   * so a caller that also needs the time its connection went idle reads no clock of its own.
   */
  get idleSince(): number {
    return this.waitingSince;
  }

  /** Stops listening; the socket stays as it is. */
  dispose(): void {
    this.socket.off('data', this.onData);
    this.socket.off('end', this.onEnd);
    this.socket.off('error', this.onBroken);
    this.socket.off('close', this.onBroken);
    this.chunks = [];
    this.buffered = 0;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.lifetime?.removeEventListener('abort', this.onLifetimeAbort);
    this.notify();
  }

  read(deadlines: ReadDeadlines, signal?: AbortSignal): Promise<LineRead> {
    const next = this.next(deadlines, signal);
    return next instanceof Promise ? next : Promise.resolve(next);
  }

  /**
   * As read(), but a line (or an end) already here comes back at once, not as a promise; while waiting, the wake-up
   * (data, end, timer, abort) settles the read itself, so a request costs one promise and no async frame.
   */
  next(deadlines: ReadDeadlines, signal?: AbortSignal): LineRead | Promise<LineRead> {
    const ready = this.take();
    if (ready !== undefined) return ready;
    // The lifetime signal's state is kept in a field (its listener sets it): no getter call per request.
    if (signal !== undefined && (signal === this.lifetime ? this.lifetimeAborted : signal.aborted)) return CLOSED;
    // The reader's own lifetime signal is listened to once; any other (a caller's, which may outlive this read)
    // only while this read waits, so nothing is left attached to it.
    if (signal !== undefined && signal !== this.lifetime) {
      this.waitSignal = signal;
      signal.addEventListener('abort', this.onAbort);
    }
    this.deadlines = deadlines;
    this.startWaiting();
    return new Promise((resolve) => {
      this.waiter = resolve;
    });
  }

  /**
   * As next(), for a caller driven by callbacks (a server connection's request loop): a line (or an end) already here
   * comes back at once; otherwise `undefined`, and `onRead` gets the result when it comes — no promise at all. Stops
   * only on the reader's lifetime signal, which a waiting read already listens to.
   */
  poll(deadlines: ReadDeadlines, onRead: (read: LineRead) => void): LineRead | undefined {
    const ready = this.take();
    if (ready !== undefined) return ready;
    if (this.lifetimeAborted) return CLOSED;
    this.deadlines = deadlines;
    this.startWaiting();
    this.waiter = onRead;
    return undefined;
  }

  /** Sets the wait's phase and deadline from what is buffered (as at the start of each wait) and asks for bytes. */
  private startWaiting(): void {
    const phase = this.buffered === 0 ? 'idle' : 'read';
    this.phase = phase;
    let deadline: number;
    if (phase === 'idle') {
      const now = Date.now();
      this.waitingSince = now;
      deadline = now + this.deadlines.idleMs;
    } else {
      deadline = this.lineStartedAt + this.deadlines.readMs;
    }
    this.deadline = deadline;
    if (Number.isFinite(deadline) && (this.timer === undefined || this.timerAt > deadline)) this.arm(deadline);
    this.socket.resume();
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
    if (length === all.length) {
      // The usual request: one chunk holding exactly one line. It is the line (no views made, nothing left over).
      // Nothing is left, so no line has started: the next chunk to arrive stamps its start.
      this.chunks = [];
      this.buffered = 0;
      this.newlineAt = -1;
      return all;
    }
    // A view, not a copy: each chunk is a buffer of its own that nothing writes to again, and every reader of a
    // line decodes what it keeps into fresh arrays.
    const line = all.subarray(0, length);
    const rest = all.subarray(length);
    this.chunks = rest.length > 0 ? [rest] : [];
    this.buffered = rest.length;
    this.newlineAt = rest.indexOf(LF);
    this.lineStartedAt = Date.now();
    return line;
  }

  // Per connection one timer and one abort listener are kept and reused across reads (a request costs no timer or
  // listener churn): the timer may fire early for an older, later deadline and then re-arms for what is left; a
  // deadline earlier than the armed one re-creates it.
  private arm(at: number): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(this.onTimer, Math.min(Math.max(0, at - Date.now()), MAX_TIMER_MS));
  }

  private finish(result: LineRead): void {
    const waiter = this.waiter;
    if (waiter === undefined) return;
    this.waiter = undefined;
    if (this.waitSignal !== undefined) {
      this.waitSignal.removeEventListener('abort', this.onAbort);
      this.waitSignal = undefined;
    }
    waiter(result);
  }

  private readonly onTimer = (): void => {
    this.timer = undefined;
    if (this.waiter === undefined || !Number.isFinite(this.deadline)) return;
    // Bytes may have landed in the same tick as the timer; a complete line still wins.
    if (Date.now() >= this.deadline) this.finish(this.take() ?? (this.phase === 'idle' ? IDLE_TIMEOUT : READ_TIMEOUT));
    else this.arm(this.deadline);
  };

  private readonly onAbort = (): void => this.finish(CLOSED);

  private readonly onLifetimeAbort = (): void => {
    this.lifetimeAborted = true;
    this.finish(CLOSED);
  };

  /** Something happened on the socket: a waiting read takes its line (or end) now, or waits on with a fresh deadline. */
  private notify(): void {
    if (this.waiter === undefined) return;
    const ready = this.take();
    if (ready !== undefined) this.finish(ready);
    else if (this.lifetimeAborted || this.waitSignal?.aborted === true) this.finish(CLOSED);
    else this.startWaiting();
  }

  private readonly onData = (chunk: Buffer | string): void => {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    // A line starts with this chunk. A chunk that ends with `\n` holds whole lines only, and taking a line that leaves
    // bytes behind stamps their start, so only a chunk that ends mid-line needs the clock (not one clock read per request).
    if (this.buffered === 0 && bytes[bytes.length - 1] !== LF) this.lineStartedAt = Date.now();
    if (this.newlineAt < 0) {
      const at = bytes.indexOf(LF);
      if (at >= 0) this.newlineAt = this.buffered + at;
    }
    this.chunks.push(bytes);
    this.buffered += bytes.length;
    // Nobody is waiting and a whole line (or an over-long one) is here: stop reading until asked.
    if (this.waiter === undefined && (this.newlineAt >= 0 || this.buffered > this.maxLineBytes)) this.socket.pause();
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
