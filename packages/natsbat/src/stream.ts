// The JetStream side: the export stream (created with lossless defaults when missing), its state, an
// in-order read of a sequence range and an in-order live tail. Invariant: both yield messages in stream order only.

import { DeliverPolicy, DiscardPolicy, JetStreamApiCodes, JetStreamApiError, RetentionPolicy, StorageType, type JetStreamClient, type JetStreamManager, type JsMsg } from '@nats-io/jetstream';
import { NatsbatError, reasonOf } from './errors.js';

/** How a missing export stream is created. */
export interface StreamSettings {
  /** JetStream's duplicate window (msgID deduplication), in milliseconds. Default 120000 (two minutes). */
  readonly duplicateWindowMs?: number;
  /** Replicas of the stream. Default 1. */
  readonly replicas?: number;
}

export interface StreamPosition {
  readonly firstSequence: bigint;
  readonly lastSequence: bigint;
  readonly messages: bigint;
}

function isApiError(err: unknown, code: number): boolean {
  return err instanceof JetStreamApiError && err.code === code;
}

/**
 * Opens the stream, creating it when absent: file storage, no limits, discard-new (a full stream refuses
 * new messages rather than dropping exported ones), message delete and purge denied. An existing
 * stream must capture `<base>.>`; it is never reconfigured.
 */
export async function ensureStream(jsm: JetStreamManager, name: string, base: string, settings: StreamSettings): Promise<StreamPosition> {
  const subjects = `${base}.>`;
  try {
    let info;
    try {
      info = await jsm.streams.info(name);
    } catch (err) {
      if (!isApiError(err, JetStreamApiCodes.StreamNotFound)) throw err;
      info = await jsm.streams.add({
        name,
        subjects: [subjects],
        storage: StorageType.File,
        retention: RetentionPolicy.Limits,
        discard: DiscardPolicy.New,
        duplicate_window: (settings.duplicateWindowMs ?? 120_000) * 1_000_000,
        num_replicas: settings.replicas ?? 1,
        deny_delete: true,
        deny_purge: true,
      });
    }
    if (!info.config.subjects?.includes(subjects)) {
      throw NatsbatError.STREAM_CONFIG(`stream ${name} does not capture ${subjects} (it captures ${JSON.stringify(info.config.subjects ?? [])})`, {
        details: { field: 'stream' },
      });
    }
    return positionOf(info.state);
  } catch (err) {
    if (err instanceof NatsbatError) throw err;
    throw NatsbatError.READ_FAILED(`cannot open stream ${name}: ${reasonOf(err)}`, { cause: err });
  }
}

export async function streamPosition(jsm: JetStreamManager, name: string): Promise<StreamPosition> {
  try {
    return positionOf((await jsm.streams.info(name)).state);
  } catch (err) {
    throw NatsbatError.READ_FAILED(`cannot read the state of stream ${name}: ${reasonOf(err)}`, { cause: err });
  }
}

function positionOf(state: { first_seq: number; last_seq: number; messages: number }): StreamPosition {
  return { firstSequence: BigInt(state.first_seq), lastSequence: BigInt(state.last_seq), messages: BigInt(state.messages) };
}

const FETCH_BATCH = 256;
const FETCH_EXPIRES_MS = 2_000;

/**
 * Messages `from..to` (inclusive) in stream order, through an ordered consumer (which recreates itself
 * on any gap in delivery). Stops early when a fetch comes back empty: the rest of the range is gone.
 */
export async function* readRange(js: JetStreamClient, stream: string, from: bigint, to: bigint, signal?: AbortSignal): AsyncGenerator<JsMsg> {
  if (to < from) return;
  let consumer;
  try {
    consumer = await js.consumers.get(stream, { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: Number(from) });
  } catch (err) {
    throw NatsbatError.READ_FAILED(`cannot read stream ${stream}: ${reasonOf(err)}`, { cause: err });
  }
  let next = from;
  try {
    while (next <= to) {
      if (signal?.aborted === true) throw NatsbatError.ABORTED('reading the stream', signal.reason);
      let got = 0;
      let batch;
      try {
        batch = await consumer.fetch({ max_messages: Math.min(FETCH_BATCH, Number(to - next + 1n)), expires: FETCH_EXPIRES_MS });
      } catch (err) {
        throw NatsbatError.READ_FAILED(`cannot fetch from stream ${stream}: ${reasonOf(err)}`, { cause: err, details: { streamSequence: next } });
      }
      try {
        for await (const m of batch) {
          got++;
          const seq = BigInt(m.seq);
          if (seq > to) return;
          next = seq + 1n;
          yield m;
        }
      } finally {
        batch.stop();
      }
      if (got === 0) return;
    }
  } finally {
    // An ordered consumer is ephemeral; deleting it now spares the server its inactivity timeout.
    await consumer.delete().catch(() => undefined);
  }
}

const TAIL_BUFFER = 256;

/**
 * Messages from `from` on, in stream order, without end: after the stream's current end it waits for
 * new messages (an ordered consumer, recreated by the client on any gap). Ends — returns, no error —
 * once `signal` fires, including while waiting; the consumer is deleted on the way out.
 */
export async function* tailFrom(js: JetStreamClient, stream: string, from: bigint, signal: AbortSignal): AsyncGenerator<JsMsg> {
  if (signal.aborted) return;
  let consumer;
  try {
    consumer = await js.consumers.get(stream, { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: Number(from) });
  } catch (err) {
    throw NatsbatError.READ_FAILED(`cannot read stream ${stream}: ${reasonOf(err)}`, { cause: err });
  }
  let messages;
  try {
    messages = await consumer.consume({ max_messages: TAIL_BUFFER });
  } catch (err) {
    await consumer.delete().catch(() => undefined);
    throw NatsbatError.READ_FAILED(`cannot follow stream ${stream}: ${reasonOf(err)}`, { cause: err });
  }
  // Stopping the iterator makes the pending `for await` below finish normally: that is the clean end.
  const stop = (): void => messages.stop();
  signal.addEventListener('abort', stop, { once: true });
  try {
    if (signal.aborted) return;
    for await (const m of messages) {
      if (signal.aborted) return;
      yield m;
    }
  } finally {
    signal.removeEventListener('abort', stop);
    messages.stop();
    await consumer.delete().catch(() => undefined);
  }
}
