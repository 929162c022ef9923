// Client side of a NETBAT/2 subscription: SUBSCRIBE, then an async iterable of deliveries with cumulative ACKs.
// Invariant: iteration ends after exactly one terminal item (`end` or `error`); a lost connection throws instead.

import type { Socket } from 'node:net';
import { LineSocket, responseTimeout, type EndpointOptions } from './client-socket.js';
import { NetbatError } from './errors.js';
import { decodeResponseLine } from './frame.js';
import { maxStreamLineBytes, type Limits } from './limits.js';
import { startsWithAscii, utf8Lossy } from './line.js';
import { decodeStreamLine, encodeStreamFrame } from './stream-frame.js';

export interface SubscribeOptions {
  /** Resume after this cursor (from a previous delivery); absent = from the beginning. */
  readonly resumeCursor?: Uint8Array;
  /** Unacknowledged deliveries the server may have in flight. Default 64. */
  readonly window?: number;
  /**
   * Default `true`: each delivery is acknowledged when the loop asks for the next one (it has been
   * processed). Set `false` to call `ack()` yourself, e.g. after a durable write.
   */
  readonly autoAck?: boolean;
  /** Aborting closes the subscription's connection. */
  readonly signal?: AbortSignal;
}

export type SubscriptionDelivery =
  | {
      readonly kind: 'event';
      readonly deliveryIndex: bigint;
      readonly cursorBefore?: Uint8Array;
      readonly cursorAfter?: Uint8Array;
      readonly schemaRef: string;
      readonly payload: Uint8Array;
    }
  | { readonly kind: 'watermark'; readonly deliveryIndex: bigint; readonly cursorAfter: Uint8Array }
  /** Terminal: the stream ended (`stream.complete`, `client_cancelled`, …). */
  | { readonly kind: 'end'; readonly cursorAfter?: Uint8Array; readonly reason: string }
  /** Terminal: the server ended the stream with an error (`slow_consumer`, `unknown_subscription`, …). */
  | {
      readonly kind: 'error';
      readonly code: string;
      readonly message: string;
      readonly lastDeliveredCursor?: Uint8Array;
      readonly lastAckedCursor?: Uint8Array;
    };

export type AckableDelivery = { readonly deliveryIndex: bigint; readonly cursorAfter?: Uint8Array };

export interface Subscription extends AsyncIterable<SubscriptionDelivery> {
  readonly subscriptionId: string;
  /** Cumulative: acknowledges this delivery and every earlier one. */
  ack(delivery: AckableDelivery): Promise<void>;
  /** Asks the server to stop; iteration then ends with `{ kind: 'end', reason: 'client_cancelled' }`. */
  cancel(reasonCode?: string): Promise<void>;
  /** Drops the connection; iteration ends quietly. */
  close(): void;
}

const DEFAULT_WINDOW = 64;

export function openSubscription(
  socket: Promise<Socket>,
  endpoint: EndpointOptions,
  limits: Limits,
  subscriptionId: string,
  options: SubscribeOptions,
  onClosed: () => void,
): Subscription {
  const streamLimits: Limits = { ...limits, maxLineBytes: maxStreamLineBytes(limits) };
  // Encoding first validates the id and window, so a bad argument throws here, synchronously.
  const subscribeLine = encodeStreamFrame(
    {
      type: 'SUBSCRIBE',
      subscriptionId,
      ...(options.resumeCursor === undefined ? {} : { resumeCursor: options.resumeCursor }),
      clientWindow: options.window ?? DEFAULT_WINDOW,
    },
    limits,
  );
  const responseMs = responseTimeout(endpoint);
  const autoAck = options.autoAck ?? true;
  let closedByUser = false;
  let iterating = false;
  let conn: LineSocket | undefined;
  const connection = socket.then(async (opened) => {
    conn = new LineSocket(opened, streamLimits.maxLineBytes);
    if (closedByUser) conn.destroy();
    else await conn.write(subscribeLine);
    return conn;
  });
  // Observed here so a failed connect is reported by the iterator, not as an unhandled rejection.
  connection.catch(() => undefined);

  const close = (): void => {
    if (closedByUser) return;
    closedByUser = true;
    conn?.destroy();
    onClosed();
  };
  options.signal?.addEventListener('abort', close, { once: true });

  async function send(bytes: Uint8Array): Promise<void> {
    const c = await connection;
    if (!c.usable) throw NetbatError.io('subscription connection is closed');
    await c.write(bytes);
  }

  async function ack(delivery: AckableDelivery): Promise<void> {
    if (delivery.cursorAfter === undefined) throw NetbatError.malformedStreamFrame('delivery has no cursor to acknowledge');
    await send(encodeStreamFrame({ type: 'SUB_ACK', subscriptionId, deliveryIndex: delivery.deliveryIndex, cursorAfter: delivery.cursorAfter }, limits));
  }

  async function* deliveries(): AsyncGenerator<SubscriptionDelivery, void, undefined> {
    if (iterating) throw NetbatError.io('a subscription can be iterated once');
    iterating = true;
    const c = await connection;
    let unacked: AckableDelivery | undefined;
    try {
      for (;;) {
        if (autoAck && unacked !== undefined) {
          // A failed ACK means the connection is gone; the read below reports that.
          await ack(unacked).catch(() => undefined);
          unacked = undefined;
        }
        const read = await c.read(responseMs, Infinity);
        if (read.kind !== 'line') {
          if (closedByUser) return;
          if (read.kind === 'too_long') throw NetbatError.io('stream line exceeded the client limit');
          if (read.kind === 'timeout') throw NetbatError.io(`stream line not completed within ${responseMs} ms`);
          throw NetbatError.io('subscription connection closed before the stream ended');
        }
        if (startsWithAscii(read.line, 'ERR ')) {
          const refused = decodeResponseLine(read.line);
          if (!refused.ok) throw new NetbatError(refused.code, refused.message);
        }
        const frame = decodeStreamLine(read.line, streamLimits);
        switch (frame.type) {
          case 'SUB_EVENT': {
            const delivery: SubscriptionDelivery = {
              kind: 'event',
              deliveryIndex: frame.deliveryIndex,
              ...(frame.cursorBefore === undefined ? {} : { cursorBefore: frame.cursorBefore }),
              ...(frame.cursorAfter === undefined ? {} : { cursorAfter: frame.cursorAfter }),
              schemaRef: frame.payloadSchemaRef,
              payload: frame.payload,
            };
            if (frame.cursorAfter !== undefined) unacked = delivery;
            yield delivery;
            break;
          }
          case 'SUB_WATERMARK': {
            const delivery: SubscriptionDelivery = { kind: 'watermark', deliveryIndex: frame.deliveryIndex, cursorAfter: frame.cursorAfter };
            unacked = delivery;
            yield delivery;
            break;
          }
          case 'SUB_END':
            yield { kind: 'end', ...(frame.cursorAfter === undefined ? {} : { cursorAfter: frame.cursorAfter }), reason: frame.reasonCode };
            return;
          case 'SUB_ERR':
            yield {
              kind: 'error',
              code: frame.code,
              message: utf8Lossy(frame.message),
              ...(frame.lastDeliveredCursor === undefined ? {} : { lastDeliveredCursor: frame.lastDeliveredCursor }),
              ...(frame.lastAckedCursor === undefined ? {} : { lastAckedCursor: frame.lastAckedCursor }),
            };
            return;
          default:
            throw NetbatError.malformedStreamFrame(`unexpected ${frame.type} from server`);
        }
      }
    } finally {
      close();
    }
  }

  return {
    subscriptionId,
    ack,
    async cancel(reasonCode = 'client.cancel') {
      await send(encodeStreamFrame({ type: 'SUB_CANCEL', subscriptionId, reasonCode }, limits));
    },
    close,
    [Symbol.asyncIterator]: deliveries,
  };
}
