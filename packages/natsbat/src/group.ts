// Consumer groups: exported events, decoded and upcast, shared through one JetStream durable pull consumer by every process consuming under its name.
// Invariant: a message is acknowledged only after the caller's loop body for it finished, so each event is handled at least once and a dead member's events go to another after ackWait.

import { blake3, toHex, type EventKind, type EventRegistry } from '@batpak/core';
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, type JsMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { NatsbatError, reasonOf } from './errors.js';
import { decodeExportedMessage, type ExportedEvent } from './message.js';
import { decodeExportedPayload, type PayloadDecoder } from './payload.js';
import { checkToken, entityToken } from './subject.js';

export interface ConsumeExportedOptions {
  readonly stream: string;
  /** The durable consumer's name: every process using it shares the work and its position. 1..64 of [A-Za-z0-9_-]. */
  readonly durable: string;
  /**
   * Which events: `entity` is filtered by the server (that entity's subject); `kinds` on the client —
   * an event of another kind is acknowledged and skipped without being yielded. Members of one group
   * must pass the same `entity` (it is part of the durable consumer).
   */
  readonly filter?: { readonly entity?: string; readonly kinds?: readonly (EventKind | { readonly category: number })[] };
  /** Event definitions to upcast and validate payloads with; without it payloads are decoded as stored. */
  readonly registry?: EventRegistry;
  /** Ends the iteration (normally, no error) when it fires. */
  readonly signal: AbortSignal;
  /** How long a member may hold an event before it goes to another, when the durable is created. Default 30000 ms. */
  readonly ackWaitMs?: number;
  /** Messages pulled per request. A member holds up to this many unacknowledged at a time. Default 16. */
  readonly batch?: number;
  /** Replaces the msgpack reader (README.md § Consumer groups says why you might). */
  readonly decode?: PayloadDecoder;
}

/** One event handed to this member. */
export interface ConsumedEvent {
  /** The event as exported: receipt (id, sequences, kind, coordinate, hashes, signature), stored bytes, flags. */
  readonly exported: ExportedEvent;
  readonly eventId: string;
  /** Decoded and upcast; the bytes for a raw event; undefined for a tombstone or an encrypted payload. */
  readonly payload: unknown;
  /** How often JetStream delivered it (above 1: another member, or this one earlier, did not finish it). */
  readonly deliveryCount: number;
  /** Tells JetStream this member is still working on it: restarts its ackWait. */
  working(): void;
}

const DEFAULT_ACK_WAIT_MS = 30_000;
const DEFAULT_BATCH = 16;
const FETCH_EXPIRES_MS = 1_000;

function matchesKind(kind: EventKind, kinds: readonly (EventKind | { readonly category: number })[] | undefined): boolean {
  return kinds === undefined || kinds.some((k) => k.category === kind.category && (!('typeId' in k) || k.typeId === kind.typeId));
}

/** The subject base `<prefix>.<name>` the exporter gave the stream (`<base>.>`). */
async function subjectBaseOf(connection: NatsConnection, stream: string): Promise<string> {
  let subjects: string[];
  try {
    const jsm = await jetstreamManager(connection);
    subjects = (await jsm.streams.info(stream)).config.subjects ?? [];
  } catch (err) {
    throw NatsbatError.READ_FAILED(`cannot read the configuration of stream ${stream}: ${reasonOf(err)}`, { cause: err });
  }
  const wide = subjects.find((s) => s.endsWith('.>'));
  if (wide === undefined) throw NatsbatError.STREAM_CONFIG(`stream ${stream} does not capture <prefix>.<name>.> (it captures ${JSON.stringify(subjects)})`, { details: { field: 'stream' } });
  return wide.slice(0, -2);
}

/** Creates the durable consumer, or checks that the existing one is what these options ask for. */
async function ensureDurable(connection: NatsConnection, options: ConsumeExportedOptions): Promise<void> {
  const filterSubject = options.filter?.entity === undefined ? undefined : `${await subjectBaseOf(connection, options.stream)}.${entityToken(options.filter.entity)}`;
  let jsm;
  try {
    jsm = await jetstreamManager(connection);
  } catch (err) {
    throw NatsbatError.READ_FAILED(`JetStream is not available on this connection: ${reasonOf(err)}`, { cause: err });
  }
  let existing;
  try {
    existing = await jsm.consumers.info(options.stream, options.durable);
  } catch {
    try {
      // Several members may create it at once: the server accepts an identical durable config again.
      await jsm.consumers.add(options.stream, {
        durable_name: options.durable,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
        ack_wait: (options.ackWaitMs ?? DEFAULT_ACK_WAIT_MS) * 1_000_000,
        max_deliver: -1,
        ...(filterSubject === undefined ? {} : { filter_subject: filterSubject }),
      });
      return;
    } catch (err) {
      try {
        existing = await jsm.consumers.info(options.stream, options.durable);
      } catch {
        throw NatsbatError.READ_FAILED(`cannot create durable consumer ${options.durable} on stream ${options.stream}: ${reasonOf(err)}`, { cause: err });
      }
    }
  }
  // The server reports "no filter" as an absent or an empty filter_subject.
  const have = existing.config.filter_subject === '' ? undefined : existing.config.filter_subject;
  if (have !== filterSubject) {
    throw NatsbatError.INVALID_OPTION(
      `durable consumer ${options.durable} filters ${JSON.stringify(existing.config.filter_subject ?? '')}, not ${JSON.stringify(filterSubject ?? '')}: every member of a group must pass the same filter.entity`,
      'filter',
    );
  }
}

function checkOptions(options: ConsumeExportedOptions): void {
  checkToken(options.durable, 'durable');
  if (typeof options.stream !== 'string' || options.stream === '') throw NatsbatError.INVALID_OPTION('stream must be a stream name', 'stream');
  if (!(options.signal instanceof AbortSignal)) throw NatsbatError.INVALID_OPTION('signal is required: aborting it is how a member stops', 'signal');
  if (options.ackWaitMs !== undefined && (!Number.isInteger(options.ackWaitMs) || options.ackWaitMs < 100)) throw NatsbatError.INVALID_OPTION('ackWaitMs must be an integer >= 100', 'ackWaitMs');
  if (options.batch !== undefined && (!Number.isInteger(options.batch) || options.batch < 1 || options.batch > 4096)) throw NatsbatError.INVALID_OPTION('batch must be an integer 1..4096', 'batch');
}

/**
 * Decodes and cross-checks one delivered message. A message that is not an export message, or whose
 * payload does not hash to its receipt's contentHash, is ERR_MALFORMED_MESSAGE and stays unacknowledged.
 */
function consumed(m: JsMsg, options: ConsumeExportedOptions): ConsumedEvent {
  const exported = decodeExportedMessage(m);
  if (!exported.tombstone && toHex(blake3(exported.payload)) !== toHex(exported.receipt.contentHash)) {
    throw NatsbatError.MALFORMED_MESSAGE(`stream message ${m.seq}: the payload does not hash to the receipt's contentHash`, {
      details: { streamSequence: exported.streamSequence, eventId: exported.receipt.eventId },
    });
  }
  return {
    exported,
    eventId: exported.receipt.eventId,
    payload: decodeExportedPayload(exported, options.registry, options.decode),
    deliveryCount: m.info.deliveryCount,
    working: () => m.working(),
  };
}

async function ack(m: JsMsg, stream: string): Promise<void> {
  try {
    await m.ackAck();
  } catch (err) {
    throw NatsbatError.READ_FAILED(`acknowledging stream message ${m.seq} of ${stream} failed (it will be delivered again): ${reasonOf(err)}`, {
      cause: err,
      details: { streamSequence: BigInt(m.seq) },
    });
  }
}

/**
 * The exported events of `stream` through the durable pull consumer `durable` (created when missing:
 * explicit acks, from the stream's start). Each event is acknowledged when the caller asks for the
 * next one — after its loop body finished — so processes consuming under one durable name split the
 * events between them and a restarted one resumes where the group left off. Leaving the loop early
 * (break, throw) leaves the current event unacknowledged: it is delivered again after ackWait. Ends
 * normally when `signal` fires. Delivery is at least once: an event can come again after a crash, so
 * handlers should be idempotent (the eventId is the key).
 */
export async function* consumeExported(connection: NatsConnection, options: ConsumeExportedOptions): AsyncGenerator<ConsumedEvent> {
  checkOptions(options);
  const { signal, stream } = options;
  if (signal.aborted) return;
  await ensureDurable(connection, options);
  let consumer;
  try {
    consumer = await jetstream(connection).consumers.get(stream, options.durable);
  } catch (err) {
    throw NatsbatError.READ_FAILED(`cannot open durable consumer ${options.durable} on stream ${stream}: ${reasonOf(err)}`, { cause: err });
  }
  while (!signal.aborted) {
    let batch;
    try {
      batch = await consumer.fetch({ max_messages: options.batch ?? DEFAULT_BATCH, expires: FETCH_EXPIRES_MS });
    } catch (err) {
      throw NatsbatError.READ_FAILED(`cannot fetch from durable consumer ${options.durable}: ${reasonOf(err)}`, { cause: err });
    }
    // An abort stops the pending fetch, which ends the `for await` below normally.
    const stop = (): void => batch.stop();
    signal.addEventListener('abort', stop, { once: true });
    try {
      for await (const m of batch) {
        if (signal.aborted) return;
        const event = consumed(m, options);
        if (matchesKind(event.exported.receipt.kind, options.filter?.kinds)) yield event;
        // Reached only when the caller advanced the iterator: its body for this event has finished.
        await ack(m, stream);
      }
    } finally {
      signal.removeEventListener('abort', stop);
      batch.stop();
    }
  }
}
