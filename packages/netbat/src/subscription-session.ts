// One NETBAT/2 session: source deliveries under a bounded unacknowledged window, ACK/CANCEL read concurrently, one terminal frame.
// Invariant: at most `window` deliveries are ever unacknowledged; a consumer that stays full past ackTimeoutMs gets `slow_consumer`.

import type { Socket } from 'node:net';
import type { Identity } from './auth.js';
import { NetbatError } from './errors.js';
import { encodeErrResponse } from './frame.js';
import type { Limits } from './limits.js';
import type { LineReader } from './line-reader.js';
import type { PermitPool } from './permit-pool.js';
import type { IdleReclaimer } from './reclaim.js';
import { writeBounded } from './socket-io.js';
import type { StatsCounters } from './stats.js';
import { decodeStreamLine, encodeStreamFrame, type StreamFrame, type SubscribeFrame } from './stream-frame.js';
import {
  STREAM_ERROR_CODES,
  deliveryFrameOf,
  streamErrorCode,
  type StreamErrorCode,
  type SubscriptionItem,
  type SubscriptionSource,
} from './subscription-source.js';
import { DeliveryWindow } from './subscription-window.js';
import type { Timeouts } from './timeouts.js';

export interface SubscriptionServing {
  readonly source: SubscriptionSource | undefined;
  /** Server-side cap on the window (Rust `server_max_window`, default 256). */
  readonly maxWindow: number;
  /** How long a full window may wait for an ACK before the session ends with `slow_consumer`. */
  readonly ackTimeoutMs: number;
  /** Present in `sequential` dispatch: one session streams at a time. */
  readonly gate: PermitPool | undefined;
}

export interface SessionContext {
  readonly limits: Limits;
  readonly timeouts: Timeouts;
  readonly stats: StatsCounters;
  readonly subscriptions: SubscriptionServing;
  readonly reclaimer: IdleReclaimer;
}

/** SUB_END reason of a quiet session closed to hand its permit to a waiting client; resume from the cursor. */
export const RECLAIMED_END_REASON = 'server.reclaimed';

const DECLARED_STREAM_CODES: ReadonlySet<string> = new Set(STREAM_ERROR_CODES);

/** What ends a session: a frame to send last, or a vanished peer (nothing to send). */
type Terminal = { readonly frame: StreamFrame } | { readonly disconnected: true };

/** Serves a connection whose first line is `NETBAT/2 SUBSCRIBE …`. Resolves when the session is over. */
export async function serveSubscription(
  ctx: SessionContext,
  socket: Socket,
  reader: LineReader,
  firstLine: Uint8Array,
  shutdown: AbortSignal,
  slot: { reclaimed: boolean },
  identity: Identity | undefined,
): Promise<void> {
  let subscribe: SubscribeFrame;
  try {
    const frame = decodeStreamLine(firstLine, ctx.limits);
    if (frame.type !== 'SUBSCRIBE') throw NetbatError.malformedStreamFrame('first stream frame must be SUBSCRIBE');
    subscribe = frame;
  } catch (err) {
    ctx.stats.bump('failedSubscriptions');
    const error = err instanceof NetbatError ? err : NetbatError.malformedStreamFrame('undecodable frame');
    // Rust closes silently here; an ERR line tells the client why, in the NETBAT/1 error vocabulary.
    await writeBounded(socket, encodeErrResponse(error), ctx.timeouts.writeMs);
    return;
  }
  if (identity !== undefined && !identity.grants.allowsSubscription(subscribe.subscriptionId)) {
    ctx.stats.bump('unauthorized');
    ctx.stats.bump('failedSubscriptions');
    const message = Buffer.from(`unauthorized: ${identity.principal} is not granted subscribe:${subscribe.subscriptionId}`, 'utf8');
    const frame: StreamFrame = { type: 'SUB_ERR', subscriptionId: subscribe.subscriptionId, code: 'unauthorized', message: new Uint8Array(message.subarray(0, ctx.limits.maxStreamErrorMessageBytes)) };
    await writeBounded(socket, encodeStreamFrame(frame, ctx.limits), ctx.timeouts.writeMs);
    return;
  }
  await new Session(ctx, socket, reader, subscribe, shutdown, slot, identity).run();
}

class Session {
  private readonly id: string;
  private readonly deliveries: DeliveryWindow;
  private readonly stop = new AbortController();
  private terminal: Terminal | undefined;
  private listeners: Array<() => void> = [];
  /** Last frame written or control frame read: how long the session has been quiet. */
  private lastActivity = Date.now();

  constructor(
    private readonly ctx: SessionContext,
    private readonly socket: Socket,
    private readonly reader: LineReader,
    private readonly subscribe: SubscribeFrame,
    private readonly shutdown: AbortSignal,
    private readonly slot: { reclaimed: boolean },
    private readonly identity: Identity | undefined,
  ) {
    this.id = subscribe.subscriptionId;
    this.deliveries = new DeliveryWindow(Math.min(subscribe.clientWindow, ctx.subscriptions.maxWindow));
  }

  async run(): Promise<void> {
    const onGone = (): void => this.end({ disconnected: true });
    this.socket.once('close', onGone);
    this.shutdown.addEventListener('abort', onGone, { once: true });
    const gate = this.ctx.subscriptions.gate;
    let gatePermit: { release(): void } | undefined;
    try {
      if (gate !== undefined) {
        try {
          gatePermit = await gate.acquire(this.stop.signal);
        } catch {
          return;
        }
      }
      const iterator = await this.open();
      if (iterator !== undefined) {
        // A quiet session may be asked to make room for a waiting client (fair slots); it ends with a resumable SUB_END.
        const holder = { idleSince: () => this.lastActivity, reclaim: () => this.reclaim() };
        this.ctx.reclaimer.idle(holder);
        try {
          const controls = this.readControls();
          await this.deliver(iterator);
          this.end({ disconnected: true }); // no-op when a terminal is already set; stops the control loop otherwise
          await controls;
        } finally {
          this.ctx.reclaimer.busy(holder);
        }
      }
      const terminal = this.terminal;
      if (terminal !== undefined && 'frame' in terminal) await this.send(terminal.frame);
    } finally {
      gatePermit?.release();
      this.socket.off('close', onGone);
      this.shutdown.removeEventListener('abort', onGone);
      this.stop.abort();
    }
  }

  private reclaim(): boolean {
    if (this.terminal !== undefined) return false;
    this.slot.reclaimed = true;
    this.ctx.stats.bump('reclaimedConnections');
    this.end({ frame: this.endFrame(this.deliveries.lastDeliveredCursor, RECLAIMED_END_REASON) });
    return true;
  }

  private async open(): Promise<AsyncIterator<SubscriptionItem> | undefined> {
    const source = this.ctx.subscriptions.source;
    if (source === undefined) {
      this.ctx.stats.bump('failedSubscriptions');
      this.end({ frame: this.errFrame('unknown_subscription', this.id) });
      return undefined;
    }
    try {
      const iterable = await Promise.resolve().then(() =>
        source.open({
          subscriptionId: this.id,
          ...(this.subscribe.resumeCursor === undefined ? {} : { resumeCursor: this.subscribe.resumeCursor }),
          clientWindow: this.subscribe.clientWindow,
          signal: this.stop.signal,
          ...(this.identity === undefined ? {} : { caller: { principal: this.identity.principal, capabilities: this.identity.grants.tokens } }),
        }),
      );
      const iterator = iterable[Symbol.asyncIterator]();
      this.ctx.stats.bump('servedSubscriptions');
      return iterator;
    } catch (err) {
      this.ctx.stats.bump('failedSubscriptions');
      this.end({ frame: this.sourceFailure(err) });
      return undefined;
    }
  }

  private async deliver(iterator: AsyncIterator<SubscriptionItem>): Promise<void> {
    const stopped = new Promise<'stopped'>((resolve) => {
      if (this.stop.signal.aborted) resolve('stopped');
      this.stop.signal.addEventListener('abort', () => resolve('stopped'), { once: true });
    });
    let finished = false;
    while (this.terminal === undefined) {
      const step = await Promise.race([
        Promise.resolve()
          .then(() => iterator.next())
          .then(
            (result) => ({ result }),
            (error: unknown) => ({ error }),
          ),
        stopped,
      ]);
      if (step === 'stopped') break;
      if ('error' in step) {
        finished = true;
        this.end({ frame: this.sourceFailure(step.error) });
        break;
      }
      if (step.result.done === true) {
        finished = true;
        this.end({ frame: this.endFrame(this.deliveries.lastDeliveredCursor, 'stream.complete') });
        break;
      }
      await this.deliverItem(step.result.value);
    }
    if (!finished) {
      // Tell the source to stop; never await it, a source blocked on a live wait may answer late.
      Promise.resolve()
        .then(() => iterator.return?.())
        .catch(() => undefined);
    }
  }

  private async deliverItem(item: SubscriptionItem): Promise<void> {
    let frame: StreamFrame;
    let encoded: Uint8Array;
    try {
      if (item.kind === 'end') {
        const endFrame = this.endFrame(item.cursorAfter, item.reason);
        encodeStreamFrame(endFrame, this.ctx.limits);
        this.end({ frame: endFrame });
        return;
      }
      if (!(await this.windowHasRoom())) {
        if (this.terminal === undefined) this.end({ frame: this.errFrame('slow_consumer', 'delivery window full') });
        return;
      }
      if (this.terminal !== undefined) return;
      frame = deliveryFrameOf(this.id, item, this.deliveries.nextIndex);
      encoded = encodeStreamFrame(frame, this.ctx.limits);
    } catch (err) {
      this.ctx.stats.bump('handlerFaults');
      const detail = err instanceof Error ? err.message : String(err);
      this.end({ frame: this.errFrame('internal_error', `invalid subscription item: ${detail}`) });
      return;
    }
    const cursorAfter = frame.type === 'SUB_EVENT' || frame.type === 'SUB_WATERMARK' ? frame.cursorAfter : undefined;
    this.deliveries.recordSent(cursorAfter);
    if (!(await this.write(encoded))) this.end({ disconnected: true });
    this.lastActivity = Date.now();
  }

  /** True when a delivery fits; otherwise waits up to ackTimeoutMs for an ACK to make room. */
  private async windowHasRoom(): Promise<boolean> {
    const hasRoom = (): boolean => this.deliveries.hasRoom();
    const deadline = Date.now() + this.ctx.subscriptions.ackTimeoutMs;
    while (!hasRoom() && this.terminal === undefined) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) return false;
      await this.changed(remaining);
    }
    return hasRoom();
  }

  private async readControls(): Promise<void> {
    while (this.terminal === undefined) {
      const read = await this.reader.read({ idleMs: Infinity, readMs: this.ctx.timeouts.readMs }, this.stop.signal);
      switch (read.kind) {
        case 'line':
          this.onControl(read.line);
          break;
        case 'too_long':
          this.end({ frame: this.errFrame('malformed_stream_frame', 'malformed stream control frame') });
          return;
        case 'timeout':
          this.ctx.stats.bump('timeouts');
          this.socket.destroy();
          this.end({ disconnected: true });
          return;
        case 'eof':
        case 'unterminated': // a control frame cut short by FIN is not acted on
        case 'closed':
          this.end({ disconnected: true });
          return;
      }
    }
  }

  private onControl(line: Uint8Array): void {
    this.lastActivity = Date.now();
    let frame: StreamFrame;
    try {
      frame = decodeStreamLine(line, this.ctx.limits);
    } catch {
      this.end({ frame: this.errFrame('malformed_stream_frame', 'malformed stream control frame') });
      return;
    }
    if (frame.subscriptionId === this.id && frame.type === 'SUB_ACK') {
      this.ack(frame.deliveryIndex, frame.cursorAfter);
    } else if (frame.subscriptionId === this.id && frame.type === 'SUB_CANCEL') {
      this.end({ frame: this.endFrame(this.deliveries.lastDeliveredCursor, 'client_cancelled') });
    } else {
      this.end({ frame: this.errFrame('malformed_stream_frame', 'malformed stream control frame') });
    }
  }

  /** A cumulative ACK (DeliveryWindow checks it); a refused one ends the session with its SUB_ERR. */
  private ack(index: bigint, cursor: Uint8Array): void {
    const refused = this.deliveries.ack(index, cursor);
    if (refused !== undefined) {
      this.end({ frame: this.errFrame(refused.code, refused.message) });
      return;
    }
    this.notify();
  }

  private sourceFailure(err: unknown): StreamFrame {
    const declared = typeof err === 'object' && err !== null && 'code' in err && DECLARED_STREAM_CODES.has(String(err.code));
    const code: StreamErrorCode = streamErrorCode(err);
    if (!declared) {
      this.ctx.stats.bump('handlerFaults');
      return this.errFrame(code, 'subscription source failed');
    }
    return this.errFrame(code, err instanceof Error ? err.message : String(err));
  }

  private errFrame(code: StreamErrorCode, message: string): StreamFrame {
    const bytes = Buffer.from(message, 'utf8').subarray(0, this.ctx.limits.maxStreamErrorMessageBytes);
    return {
      type: 'SUB_ERR',
      subscriptionId: this.id,
      code,
      ...(this.deliveries.lastDeliveredCursor === undefined ? {} : { lastDeliveredCursor: this.deliveries.lastDeliveredCursor }),
      ...(this.deliveries.lastAckedCursor === undefined ? {} : { lastAckedCursor: this.deliveries.lastAckedCursor }),
      message: new Uint8Array(bytes),
    };
  }

  private endFrame(cursorAfter: Uint8Array | undefined, reasonCode: string): StreamFrame {
    return { type: 'SUB_END', subscriptionId: this.id, ...(cursorAfter === undefined ? {} : { cursorAfter }), reasonCode };
  }

  /** The first terminal wins; it stops the source, the control reader and any window wait. */
  private end(terminal: Terminal): void {
    if (this.terminal !== undefined) return;
    this.terminal = terminal;
    this.stop.abort();
    this.notify();
  }

  private async send(frame: StreamFrame): Promise<void> {
    let bytes: Uint8Array;
    try {
      bytes = encodeStreamFrame(frame, this.ctx.limits);
    } catch (err) {
      // A source-provided end reason that fails the grammar: report it instead of a frame nobody can decode.
      this.ctx.stats.bump('handlerFaults');
      const detail = err instanceof Error ? err.message : String(err);
      bytes = encodeStreamFrame(this.errFrame('internal_error', `invalid subscription item: ${detail}`), this.ctx.limits);
    }
    await this.write(bytes);
  }

  private async write(bytes: Uint8Array): Promise<boolean> {
    const outcome = await writeBounded(this.socket, bytes, this.ctx.timeouts.writeMs);
    if (outcome === 'timeout') {
      this.ctx.stats.bump('timeouts');
      this.socket.destroy();
    }
    return outcome === 'written';
  }

  private changed(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, Math.min(timeoutMs, 2_147_483_647));
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.listeners.push(done);
    });
  }

  private notify(): void {
    const listeners = this.listeners;
    this.listeners = [];
    for (const listener of listeners) listener();
  }
}
