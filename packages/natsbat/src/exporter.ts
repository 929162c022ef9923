// JournalExporter: tails a store from its persisted watermark and publishes every event, in commit
// order, to JetStream. Invariant: the watermark never passes an unacknowledged event, and a restart
// re-publishes nothing the stream holds and skips nothing (INV-NATSBAT-EXPORT-COMPLETE, INV-NATSBAT-FENCE).

import { join } from 'node:path';
import { isBatpakError, RealFs, type Fs, type HeadAttestation, type RawEvent, type ReplicationFrames, type StoredEvent, type Store } from '@batpak/core';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { exportReceipts } from './attest.js';
import { NatsbatError, reasonOf } from './errors.js';
import { encodeEvent } from './message.js';
import { FencedPublisher } from './publisher.js';
import { reconcile } from './reconcile.js';
import { ensureStream, type StreamSettings } from './stream.js';
import { checkToken, subjectBase, subjectFor } from './subject.js';
import { loadWatermark, saveWatermark, WatermarkWriter, type Watermark, type WatermarkScope } from './watermark.js';

export interface ExporterOptions {
  /** The store to export; a writable store in this process, so `waitForSequence` sees new commits. */
  readonly store: Store;
  /** A connected NATS client (`connect()` from @nats-io/transport-node); the caller owns it. */
  readonly connection: NatsConnection;
  /** The store's name in subjects and in the default stream name: 1..64 of [A-Za-z0-9_-]. */
  readonly name: string;
  /** First subject tokens. Default `batpak`: events go to `batpak.<name>.<entity token>`. */
  readonly subjectPrefix?: string;
  /** The JetStream stream, dedicated to this store. Default `BATPAK_<name>`. */
  readonly stream?: string;
  /** How the stream is created when it does not exist. */
  readonly streamSettings?: StreamSettings;
  /** Where the watermark lives. Default: `RealFs`, `<store dir>/natsbat-<stream>.watermark`. */
  readonly watermark?: { readonly fs?: Fs; readonly path?: string };
  /** Events read (with their receipts) and published together. Default 64. */
  readonly batchSize?: number;
  /** Publishes awaiting their acknowledgement. Default 256. */
  readonly maxInFlight?: number;
  /** How long one acknowledgement may take, in milliseconds. Default 10000. */
  readonly publishTimeoutMs?: number;
  /**
   * Attach the store's signed head attestation (`store.attest({ through })`) to the last event of each
   * catch-up, and with `everyEvents` also at least that often, so a remote verifier proves the export
   * extends the store's own statement. Needs a store with a signing key; each attestation verifies the
   * whole store first, so keep it to catch-ups on large stores. Default false.
   */
  readonly attestations?: boolean | { readonly everyEvents?: number };
  /**
   * The message format written. 2 (default): the data is the event's frame as stored, and the last event
   * of a signed group carries its seal — what `replicate` needs. 1: the data is the payload bytes, for
   * consumers on a natsbat that reads format 1 only. Readers of this version read both.
   */
  readonly wireFormat?: 1 | 2;
}

export interface ExportRunOptions {
  /** Stops the run at once: nothing more is published, unacknowledged messages are left to reconcile. */
  readonly signal?: AbortSignal;
  /** Keep tailing the store after catching up, until `signal` aborts. Default false: stop when caught up. */
  readonly follow?: boolean;
  /** Called once the stream is reconciled, before the first publish: where this run resumes. */
  readonly onStart?: (start: ExportProgress) => void;
  /** Called after each acknowledgement. */
  readonly onProgress?: (progress: ExportProgress) => void;
}

export interface ExportProgress {
  /** The last acknowledged position (what the watermark will say once saved). */
  readonly position: Watermark;
  /** Messages published and acknowledged in this run. */
  readonly published: number;
  /** Messages found beyond the saved watermark at start and adopted without publishing again. */
  readonly adopted: number;
}

const DEFAULT_PREFIX = 'batpak';

function positiveInt(value: number | undefined, fallback: number, max: number, field: string): number {
  const v = value ?? fallback;
  if (!Number.isSafeInteger(v) || v < 1 || v > max) throw NatsbatError.INVALID_OPTION(`${field} must be an integer in 1..${max}`, field);
  return v;
}

export class JournalExporter {
  readonly #store: Store;
  readonly #nc: NatsConnection;
  readonly #settings: StreamSettings;
  readonly #fs: Fs;
  readonly #batchSize: number;
  readonly #maxInFlight: number;
  readonly #timeoutMs: number;
  /** Events between attestations (Infinity: only at the end of each catch-up); undefined: none. */
  readonly #attestEvery: number | undefined;
  readonly #frames: boolean;
  #running = false;
  /** The latest run (settled or not) and its stop switch, for `Symbol.asyncDispose`. */
  #current: Promise<ExportProgress> | undefined;
  #stop: AbortController | undefined;
  /** The stream this exporter publishes to. */
  readonly stream: string;
  /** `<prefix>.<name>`: every subject of this export starts with it. */
  readonly subjects: string;
  readonly watermarkPath: string;

  constructor(options: ExporterOptions) {
    if (typeof options !== 'object' || options === null) throw NatsbatError.INVALID_OPTION('options are required', 'options');
    const { store, connection } = options;
    if (typeof store?.query !== 'function' || typeof store.getRaw !== 'function' || typeof store.receipt !== 'function') {
      throw NatsbatError.INVALID_OPTION('store must be an open @batpak/core Store (one with store.receipt)', 'store');
    }
    if (typeof connection?.request !== 'function') throw NatsbatError.INVALID_OPTION('connection must be a NATS connection', 'connection');
    this.#store = store;
    this.#nc = connection;
    this.subjects = subjectBase(options.subjectPrefix ?? DEFAULT_PREFIX, options.name);
    this.stream = options.stream ?? `BATPAK_${options.name}`;
    checkToken(this.stream, 'stream');
    const settings = options.streamSettings ?? {};
    this.#settings = {
      duplicateWindowMs: positiveInt(settings.duplicateWindowMs, 120_000, 7 * 24 * 3_600_000, 'streamSettings.duplicateWindowMs'),
      replicas: positiveInt(settings.replicas, 1, 5, 'streamSettings.replicas'),
    };
    this.#fs = options.watermark?.fs ?? new RealFs();
    this.watermarkPath = options.watermark?.path ?? join(store.dir, `natsbat-${this.stream}.watermark`);
    this.#batchSize = positiveInt(options.batchSize, 64, 4096, 'batchSize');
    this.#maxInFlight = positiveInt(options.maxInFlight, 256, 65_536, 'maxInFlight');
    this.#timeoutMs = positiveInt(options.publishTimeoutMs, 10_000, 600_000, 'publishTimeoutMs');
    const wire = options.wireFormat ?? 2;
    if (wire !== 1 && wire !== 2) throw NatsbatError.INVALID_OPTION('wireFormat must be 1 or 2', 'wireFormat');
    this.#frames = wire === 2;
    const att = options.attestations ?? false;
    if (att !== false) {
      if (att !== true && (typeof att !== 'object' || att === null)) throw NatsbatError.INVALID_OPTION('attestations must be a boolean or { everyEvents }', 'attestations');
      if (store.publicKey === undefined) throw NatsbatError.INVALID_OPTION('attestations need a store opened with its signing key', 'attestations');
      this.#attestEvery = att === true || att.everyEvents === undefined ? Number.POSITIVE_INFINITY : positiveInt(att.everyEvents, 1, 1_000_000_000, 'attestations.everyEvents');
    }
  }

  /** The subject an event of `entity` is published on. */
  subjectFor(entity: string): string {
    return subjectFor(this.subjects, entity);
  }

  /**
   * Reconciles the stream with the watermark, then publishes every event after it in commit order,
   * saving the watermark as acknowledgements arrive. Resolves when caught up (or, with `follow`, rejects
   * with ERR_ABORTED once `signal` aborts — the normal way to stop a follower).
   */
  run(options: ExportRunOptions = {}): Promise<ExportProgress> {
    if (this.#running) return Promise.reject(NatsbatError.ALREADY_RUNNING());
    const run = this.#guardedRun(options);
    this.#current = run;
    return run;
  }

  /**
   * Stops a running `run()` as its signal would (it rejects with ERR_ABORTED) and resolves once it has
   * settled, so `await using exporter = new JournalExporter(…)` leaves no I/O behind. The NATS connection
   * and the store belong to the caller and stay open.
   */
  async [Symbol.asyncDispose](): Promise<void> {
    this.#stop?.abort(new Error('the exporter was disposed'));
    await this.#current?.catch(() => undefined);
  }

  async #guardedRun(options: ExportRunOptions): Promise<ExportProgress> {
    this.#running = true;
    // One internal signal per run: the caller's signal and disposal both abort it; the one listener on the
    // caller's (possibly long-lived) signal is removed when the run ends.
    const stop = new AbortController();
    this.#stop = stop;
    const outer = options.signal;
    const forward = (): void => stop.abort(outer?.reason);
    if (outer?.aborted === true) forward();
    else outer?.addEventListener('abort', forward, { once: true });
    try {
      return await this.#run({ ...options, signal: stop.signal });
    } catch (err) {
      if (isBatpakError(err, 'ERR_ABORTED') || (stop.signal.aborted && !(err instanceof NatsbatError))) {
        throw NatsbatError.ABORTED('the export', stop.signal.reason ?? err);
      }
      throw err;
    } finally {
      outer?.removeEventListener('abort', forward);
      this.#running = false;
    }
  }

  async #run({ signal, follow = false, onStart, onProgress }: ExportRunOptions): Promise<ExportProgress> {
    const store = this.#store;
    const scope: WatermarkScope = { stream: this.stream, subjects: this.subjects };
    const { js, jsm } = await this.#clients();
    // The watermark first, then the stream: a watermark is only written after JetStream acknowledged,
    // so a stream read afterwards can only be behind it if JetStream lost messages — read in the other
    // order, a concurrent exporter's save in between would look like exactly that.
    const saved = await loadWatermark(this.#fs, this.watermarkPath, scope);
    const position = await ensureStream(jsm, this.stream, this.subjects, this.#settings);
    const { watermark: start, adopted } = await reconcile(store, js, this.stream, position, saved, signal);
    // Adopted messages are acknowledged state: record them before publishing anything after them.
    if (adopted > 0) await saveWatermark(this.#fs, this.watermarkPath, scope, start);
    onStart?.({ position: start, published: 0, adopted });
    const writer = new WatermarkWriter(this.#fs, this.watermarkPath, scope, start);
    const publisher = new FencedPublisher(js, { stream: this.stream, timeoutMs: this.#timeoutMs, maxPayload: this.#nc.info?.max_payload });
    let published = 0;
    let acked = start;
    const settle = async () => {
      acked = await publisher.settleOldest(signal);
      published++;
      writer.advance(acked);
      onProgress?.({ position: acked, published, adopted });
    };
    try {
      let sent = start;
      let cursor = start.globalSequence;
      let sinceAttested = 0;
      for (;;) {
        for await (const { batch, last } of batches(store.query({ after: cursor, ...(signal === undefined ? {} : { signal }) }), this.#batchSize)) {
          const raws: RawEvent[] = [];
          const frames: (ReplicationFrames | undefined)[] = [];
          for (const e of batch) {
            raws.push(await store.getRaw(e.header.eventId));
            frames.push(this.#frames ? await store.replicationFrames(e.header.eventId) : undefined);
          }
          const receipts = await exportReceipts(store, raws);
          sinceAttested += raws.length;
          let attestation: HeadAttestation | undefined;
          if (this.#attestEvery !== undefined && (last || sinceAttested >= this.#attestEvery)) {
            // Exactly the events up to the last one of this batch: the stream holds them once it is published.
            attestation = await store.attest({ through: raws[raws.length - 1]!.header.globalSequence, ...(signal === undefined ? {} : { signal }) });
            sinceAttested = 0;
          }
          for (let i = 0; i < raws.length; i++) {
            while (publisher.inFlight >= this.#maxInFlight) await settle();
            if (signal?.aborted === true) throw NatsbatError.ABORTED('the export', signal.reason);
            sent = publisher.send(encodeEvent(this.subjects, raws[i]!, receipts[i]!, i === raws.length - 1 ? attestation : undefined, frames[i]), sent);
          }
          cursor = batch[batch.length - 1]!.header.globalSequence;
        }
        while (publisher.inFlight > 0) await settle();
        await writer.flush();
        if (!follow) return { position: acked, published, adopted };
        await store.waitForSequence(cursor, signal === undefined ? {} : { signal });
      }
    } catch (err) {
      publisher.abandon();
      // No I/O of this run outlives its promise: the caller may close the store or its Fs next.
      await writer.stop();
      throw err;
    }
  }

  async #clients(): Promise<{ js: JetStreamClient; jsm: JetStreamManager }> {
    try {
      return { js: jetstream(this.#nc), jsm: await jetstreamManager(this.#nc) };
    } catch (err) {
      throw NatsbatError.PUBLISH_FAILED(`JetStream is not available on this connection: ${reasonOf(err)}`, { cause: err });
    }
  }
}

/** Groups an async iterable into arrays of up to `size`, marking the last one (read one batch ahead). */
async function* batches(events: AsyncIterable<StoredEvent>, size: number): AsyncGenerator<{ batch: StoredEvent[]; last: boolean }> {
  let ready: StoredEvent[] | undefined;
  let batch: StoredEvent[] = [];
  for await (const e of events) {
    batch.push(e);
    if (batch.length === size) {
      if (ready !== undefined) yield { batch: ready, last: false };
      ready = batch;
      batch = [];
    }
  }
  if (batch.length > 0) {
    if (ready !== undefined) yield { batch: ready, last: false };
    ready = batch;
  }
  if (ready !== undefined) yield { batch: ready, last: true };
}
