// Fenced, pipelined publishing: every message states the stream's expected last sequence and last
// msgID, and acknowledgements are taken strictly in order. Invariant: a message lands only directly
// after this exporter's previous one, so two writers can never interleave (INV-NATSBAT-FENCE).

import { JetStreamApiCodes, JetStreamApiError, type JetStreamClient, type PubAck } from '@nats-io/jetstream';
import { headers } from '@nats-io/transport-node';
import { NatsbatError, reasonOf } from './errors.js';
import type { OutgoingMessage } from './message.js';
import type { Watermark } from './watermark.js';

/** JetStream's "wrong last msg ID" (JSStreamWrongLastMsgIDErrF), absent from the client's code table. */
const WRONG_LAST_MSG_ID = 10070;
const FENCE_CODES: ReadonlySet<number> = new Set([JetStreamApiCodes.StreamWrongLastSequence, JetStreamApiCodes.StreamWrongLastSequenceUnknown, WRONG_LAST_MSG_ID]);
/** Room for the headers JetStream publishing adds (msgID and expectations) when checking max_payload. */
const PUBLISH_HEADER_ALLOWANCE = 256;

interface InFlight {
  readonly ack: Promise<PubAck>;
  readonly message: OutgoingMessage;
  /** The position this message takes when it is acknowledged. */
  readonly position: Watermark;
}

export interface PublisherOptions {
  readonly stream: string;
  readonly timeoutMs: number;
  /** The server's max_payload (headers included), when known. */
  readonly maxPayload: number | undefined;
}

function headerBytes(m: OutgoingMessage): number {
  // "NATS/1.0\r\n" + "key: value\r\n" per header + "\r\n", as the client encodes them.
  return 12 + m.headers.reduce((n, [k, v]) => n + k.length + v.length + 4, 0) + PUBLISH_HEADER_ALLOWANCE;
}

export class FencedPublisher {
  readonly #js: JetStreamClient;
  readonly #opts: PublisherOptions;
  readonly #window: InFlight[] = [];

  constructor(js: JetStreamClient, options: PublisherOptions) {
    this.#js = js;
    this.#opts = options;
  }

  get inFlight(): number {
    return this.#window.length;
  }

  /** Publishes `message` to land directly after `after`; returns the position it will take. */
  send(message: OutgoingMessage, after: Watermark): Watermark {
    const size = message.payload.length + headerBytes(message);
    if (this.#opts.maxPayload !== undefined && size > this.#opts.maxPayload) {
      throw NatsbatError.PAYLOAD_TOO_LARGE(
        `event ${message.eventId} needs a ${size}-byte message; the server's max_payload is ${this.#opts.maxPayload} (raise max_payload on the NATS server)`,
        { details: { eventId: message.eventId, globalSequence: message.globalSequence } },
      );
    }
    const h = headers();
    for (const [k, v] of message.headers) h.set(k, v);
    const ack = this.#js.publish(message.subject, message.payload, {
      msgID: message.msgId,
      headers: h,
      timeout: this.#opts.timeoutMs,
      expect: { lastSequence: Number(after.streamSequence), ...(after.msgId === undefined ? {} : { lastMsgID: after.msgId }) },
    });
    // The window awaits acknowledgements in order; until then a rejection must not count as unhandled.
    ack.catch(() => undefined);
    const position: Watermark = { globalSequence: message.globalSequence, streamSequence: after.streamSequence + 1n, msgId: message.msgId };
    this.#window.push({ ack, message, position });
    return position;
  }

  /** Waits for the oldest acknowledgement and checks it; resolves with the position now acknowledged. */
  async settleOldest(signal?: AbortSignal): Promise<Watermark> {
    const head = this.#window.shift();
    if (head === undefined) throw new RangeError('nothing is in flight');
    const { message, position } = head;
    const details = { eventId: message.eventId, globalSequence: message.globalSequence, streamSequence: position.streamSequence };
    let ack: PubAck;
    try {
      ack = await abortable(head.ack, signal);
    } catch (err) {
      if (err instanceof NatsbatError) throw err;
      if (err instanceof JetStreamApiError && FENCE_CODES.has(err.code)) {
        throw NatsbatError.FENCED(
          `stream ${this.#opts.stream} refused event ${message.eventId} at ${position.streamSequence}: ${err.message} — another writer moved the stream`,
          { cause: err, details },
        );
      }
      throw NatsbatError.PUBLISH_FAILED(`publishing event ${message.eventId} failed: ${reasonOf(err)}`, { cause: err, details });
    }
    if (ack.stream !== this.#opts.stream) {
      throw NatsbatError.STREAM_CONFIG(`event ${message.eventId} was stored by stream ${ack.stream}, not ${this.#opts.stream}: another stream captures the subject`, { details });
    }
    if (ack.duplicate) {
      // The stream already held this very event (same id, same bytes): someone else exported it.
      throw NatsbatError.FENCED(`stream ${this.#opts.stream} already holds event ${message.eventId} (message ${ack.seq}): another exporter is publishing this store`, {
        details,
      });
    }
    if (BigInt(ack.seq) !== position.streamSequence) {
      throw NatsbatError.FENCED(`event ${message.eventId} landed at ${ack.seq}, expected ${position.streamSequence}`, { details });
    }
    return position;
  }

  /** Gives up on everything in flight (after a failure or an abort); their outcomes are reconciled later. */
  abandon(): void {
    this.#window.length = 0;
  }
}

function abortable<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return p;
  if (signal.aborted) return Promise.reject(NatsbatError.ABORTED('the export', signal.reason));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(NatsbatError.ABORTED('the export', signal.reason));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
