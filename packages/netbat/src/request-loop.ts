// One connection's run of NETBAT/1 CALL lines, driven by callbacks: read a line, dispatch it, write its answer, read on.
// Invariant: one request at a time, answered in arrival order; the next line is read only once the answer is written
// (so a client that does not read stops being read: the socket pauses and nothing is buffered without bound).

import type { Socket } from 'node:net';
import { isAuthLine } from './auth-line.js';
import type { Identity } from './auth.js';
import type { DispatchOptions } from './dispatcher.js';
import type { ReadDeadlines, LineRead, LineReader } from './line-reader.js';
import { startsWithAscii } from './line.js';
import type { IdleHolder, IdleReclaimer } from './reclaim.js';
import { answerDispatch, answerDispatchFailure, dispatchOptions, startRequest, type RequestContext } from './request-handler.js';
import { writeOrWait, type WriteOutcome } from './socket-io.js';
import type { Timeouts } from './timeouts.js';

/** What the loop needs of the server (a ConnectionContext is one). */
export interface RequestLoopContext extends RequestContext {
  readonly timeouts: Timeouts;
  readonly reclaimer: IdleReclaimer;
  readonly maxRequestsPerConnection: number;
  readonly shutdown: AbortSignal;
  /**
   * Whether `shutdown` has fired, as a plain field, checked before every request: AbortSignal's `aborted` getter
   * validates its receiver through symbol loads that every composite signal (one per connection) makes megamorphic.
   */
  readonly stopping: { readonly aborted: boolean };
  readonly authority: unknown;
}

/**
 * Why a run ended: `done` (the request cap or shutdown was reached, or an answer could not be written, the socket then
 * closed or destroyed), or the read that is not a CALL for this loop — an end of input, a timeout, an over-long or
 * unterminated line, an AUTH line (with auth configured) or a SUBSCRIBE line — for the connection to handle.
 */
export type RequestLoopStop = 'done' | LineRead;

/** A SUBSCRIBE line switches the connection to a subscription session (one per connection). */
export function isSubscribeLine(line: Uint8Array): boolean {
  return startsWithAscii(line, 'NETBAT/2 SUBSCRIBE') && (line.length === 18 || line[18] === 0x20 || line[18] === 0x0a || line[18] === 0x0d);
}

/**
 * Serves CALL lines until something else arrives. Each request costs no promise of its own beyond the dispatch's (a
 * waiting read calls back instead of resolving, the answer follows the dispatch with one `.then` on handlers made
 * once per connection), where an async loop paid a promise and an async resumption for the read and for the answer.
 */
export class RequestLoop implements IdleHolder {
  /** Requests answered on this connection (AUTH lines are not requests). */
  served = 0;
  /** The operation of the request in flight (one at a time), for its answer's wording. */
  operation = '';
  #identity: Identity | undefined;
  #options: DispatchOptions;
  /**
   * The last answer written, once nothing refers to it any more: the next OK line of its size is written over it
   * instead of into a fresh buffer. Taken (cleared) while an answer is being made and written.
   */
  #spare: Buffer | undefined;
  #resolve: ((stop: RequestLoopStop) => void) | undefined;
  #reject: ((err: unknown) => void) | undefined;
  readonly #deadlines: ReadDeadlines;

  constructor(
    private readonly ctx: RequestLoopContext,
    private readonly socket: Socket,
    private readonly reader: LineReader,
    /** Aborted when the connection goes away: every dispatch gets it. */
    private readonly gone: AbortSignal,
    identity: Identity | undefined,
    /** Called when the idle reclaimer closes this connection to hand its permit over. */
    private readonly onReclaimed: () => void,
  ) {
    this.#identity = identity;
    this.#options = dispatchOptions(gone, identity);
    this.#deadlines = { idleMs: ctx.timeouts.idleMs, readMs: ctx.timeouts.readMs };
  }

  get identity(): Identity | undefined {
    return this.#identity;
  }

  /** After an AUTH line: later dispatches run as this caller. */
  set identity(identity: Identity | undefined) {
    this.#identity = identity;
    this.#options = dispatchOptions(this.gone, identity);
  }

  /** Serves requests until the run stops; rejects only on a netbat bug (the connection then counts a handler fault). */
  run(): Promise<RequestLoopStop> {
    return new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
      this.#readNext();
    });
  }

  // IdleHolder: between requests the connection is idle, and a waiting client may take its permit (fair slots).
  idleSince(): number {
    return this.reader.idleSince;
  }

  reclaim(): boolean {
    if (this.reader.pending > 0 || this.socket.destroyed) return false;
    this.onReclaimed();
    this.socket.destroy();
    return true;
  }

  /** Reads and answers lines already here one after another (a pipelining client); returns once one must be waited for. */
  #readNext(): void {
    const ctx = this.ctx;
    for (;;) {
      if (this.served >= ctx.maxRequestsPerConnection || ctx.stopping.aborted) return this.#stop('done');
      const read = this.reader.poll(this.#deadlines, this.#onRead);
      if (read === undefined) {
        // Idle only once the read waits (a line already here makes no idle period), since the wait's own clock read.
        ctx.reclaimer.idle(this);
        return;
      }
      if (!this.#handle(read)) return;
    }
  }

  /** Handles one read; true when its answer is already written and the next line may be read now. */
  #handle(read: LineRead): boolean {
    if (read.kind !== 'line' || (this.ctx.authority !== undefined && isAuthLine(read.line)) || isSubscribeLine(read.line)) {
      this.#stop(read);
      return false;
    }
    const started = startRequest(this.ctx, read.line, this.#identity, this.#options, this);
    if (started instanceof Uint8Array) return this.#send(started);
    started.then(this.#onResult, this.#onFailure);
    return false;
  }

  /** Writes an answer; true when the kernel took it (a full buffer waits for `drain` within the write deadline). */
  #send(bytes: Uint8Array): boolean {
    const socket = this.socket;
    const now = writeOrWait(socket, bytes, this.ctx.timeouts.writeMs);
    if (typeof now !== 'string') {
      now.then(this.#onWritten, this.#fault);
      return false;
    }
    // Nothing left in the stream means the kernel took every byte during write(): neither the stream's buffer nor a
    // pending write request (which holds the bytes it was given, not a copy) refers to them, so they may be reused.
    // Anything still queued (a partial write, a write behind another, TLS) keeps them, and the next answer gets a
    // fresh buffer.
    if (now === 'written' && socket.writableLength === 0 && bytes instanceof Buffer) this.#spare = bytes;
    return this.#written(now);
  }

  #written(outcome: WriteOutcome): boolean {
    if (outcome === 'timeout') {
      this.ctx.stats.bump('timeouts');
      this.socket.destroy();
    }
    if (outcome !== 'written') {
      this.#stop('done');
      return false;
    }
    this.served++;
    return true;
  }

  #stop(stop: RequestLoopStop): void {
    const resolve = this.#resolve;
    this.#resolve = undefined;
    this.#reject = undefined;
    resolve?.(stop);
  }

  // The callbacks run from socket events and promise reactions: a throw there would be an uncaught exception or an
  // unhandled rejection (either takes the process down), so each one hands it to the run instead.
  readonly #fault = (err: unknown): void => {
    const reject = this.#reject;
    this.#resolve = undefined;
    this.#reject = undefined;
    reject?.(err);
  };

  readonly #onRead = (read: LineRead): void => {
    try {
      this.ctx.reclaimer.busy(this);
      if (this.#handle(read)) this.#readNext();
    } catch (err) {
      this.#fault(err);
    }
  };

  readonly #onResult = (result: unknown): void => {
    try {
      const spare = this.#spare;
      this.#spare = undefined;
      if (this.#send(answerDispatch(this.ctx, this.operation, result, spare))) this.#readNext();
    } catch (err) {
      this.#fault(err);
    }
  };

  readonly #onFailure = (error: unknown): void => {
    try {
      if (this.#send(answerDispatchFailure(this.ctx, this.operation, error))) this.#readNext();
    } catch (err) {
      this.#fault(err);
    }
  };

  readonly #onWritten = (outcome: WriteOutcome): void => {
    try {
      if (this.#written(outcome)) this.#readNext();
    } catch (err) {
      this.#fault(err);
    }
  };
}
