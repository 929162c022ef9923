// The export watermark: the last event JetStream acknowledged, persisted with Fs.writeFileAtomic (old
// or new after a crash, never torn). Invariant: it is only ever written with an acknowledged position.

import type { Fs } from '@batpak/core';
import { NatsbatError, reasonOf } from './errors.js';

/** Where an export stands: the last acknowledged event and the stream message that holds it. */
export interface Watermark {
  /** Global sequence of the last exported event (0n: nothing exported yet). */
  readonly globalSequence: bigint;
  /** Stream sequence of its message (0n: nothing exported yet). */
  readonly streamSequence: bigint;
  /** Its msgID, the `expect.lastMsgID` of the next publish; undefined before the first. */
  readonly msgId: string | undefined;
}

export const ZERO_WATERMARK: Watermark = Object.freeze({ globalSequence: 0n, streamSequence: 0n, msgId: undefined });

/** What a watermark file is bound to: a file of another stream or subject base is refused. */
export interface WatermarkScope {
  readonly stream: string;
  readonly subjects: string;
}

interface WatermarkJson {
  readonly v: 1;
  readonly stream: string;
  readonly subjects: string;
  readonly globalSequence: string;
  readonly streamSequence: string;
  readonly msgId?: string;
}

const utf8 = new TextEncoder();
const COUNTER = /^(0|[1-9][0-9]{0,19})$/;

export async function loadWatermark(fs: Fs, path: string, scope: WatermarkScope): Promise<Watermark> {
  let text: string;
  try {
    if ((await fs.stat(path)) === null) return ZERO_WATERMARK;
    const file = await fs.open(path);
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(await file.readAt(0, await file.size()));
    } finally {
      await file.close();
    }
  } catch (err) {
    throw NatsbatError.IO(`cannot read the watermark ${path}: ${reasonOf(err)}`, { cause: err, details: { file: path } });
  }
  const invalid = (why: string): never => {
    throw NatsbatError.WATERMARK_INVALID(`the watermark ${path} ${why}; move it aside to let the exporter rebuild it from the stream`, { details: { file: path } });
  };
  let j: Partial<Record<keyof WatermarkJson, unknown>>;
  try {
    j = JSON.parse(text) as typeof j;
  } catch {
    return invalid('does not parse');
  }
  if (typeof j !== 'object' || j === null || j.v !== 1) return invalid('is not a version 1 watermark');
  if (j.stream !== scope.stream || j.subjects !== scope.subjects) invalid(`belongs to stream ${String(j.stream)} (${String(j.subjects)})`);
  if (typeof j.globalSequence !== 'string' || !COUNTER.test(j.globalSequence)) invalid('has a malformed globalSequence');
  if (typeof j.streamSequence !== 'string' || !COUNTER.test(j.streamSequence)) invalid('has a malformed streamSequence');
  if (j.msgId !== undefined && typeof j.msgId !== 'string') invalid('has a malformed msgId');
  const w: Watermark = { globalSequence: BigInt(j.globalSequence as string), streamSequence: BigInt(j.streamSequence as string), msgId: j.msgId as string | undefined };
  if ((w.streamSequence === 0n) !== (w.msgId === undefined)) invalid('has a msgId without a position, or a position without a msgId');
  return w;
}

export async function saveWatermark(fs: Fs, path: string, scope: WatermarkScope, w: Watermark): Promise<void> {
  const j: WatermarkJson = {
    v: 1,
    stream: scope.stream,
    subjects: scope.subjects,
    globalSequence: w.globalSequence.toString(),
    streamSequence: w.streamSequence.toString(),
    ...(w.msgId === undefined ? {} : { msgId: w.msgId }),
  };
  try {
    await fs.writeFileAtomic(path, utf8.encode(`${JSON.stringify(j)}\n`));
  } catch (err) {
    throw NatsbatError.IO(`cannot write the watermark ${path}: ${reasonOf(err)}`, { cause: err, details: { file: path } });
  }
}

/**
 * Saves acknowledged positions in the background, one write at a time and always the newest, so
 * publishing never waits for an fsync; `flush()` waits until the newest position is on disk.
 */
export class WatermarkWriter {
  readonly #fs: Fs;
  readonly #path: string;
  readonly #scope: WatermarkScope;
  #saved: Watermark;
  #latest: Watermark;
  #writing: Promise<void> | undefined;
  #failure: unknown;
  #stopped = false;

  constructor(fs: Fs, path: string, scope: WatermarkScope, saved: Watermark) {
    this.#fs = fs;
    this.#path = path;
    this.#scope = scope;
    this.#saved = saved;
    this.#latest = saved;
  }

  /** The newest position on disk. */
  get saved(): Watermark {
    return this.#saved;
  }

  /** Records a newly acknowledged position; throws an earlier background write failure. */
  advance(w: Watermark): void {
    this.#throwFailure();
    this.#latest = w;
    this.#kick();
  }

  async flush(): Promise<void> {
    while (this.#writing !== undefined) await this.#writing;
    this.#throwFailure();
    if (this.#latest !== this.#saved) {
      const w = this.#latest;
      await saveWatermark(this.#fs, this.#path, this.#scope, w);
      this.#saved = w;
    }
  }

  /** Starts no further write and waits for one under way (it holds an acknowledged position; its failure is moot). */
  async stop(): Promise<void> {
    this.#stopped = true;
    while (this.#writing !== undefined) await this.#writing;
  }

  #kick(): void {
    if (this.#stopped || this.#writing !== undefined || this.#latest === this.#saved || this.#failure !== undefined) return;
    const w = this.#latest;
    this.#writing = saveWatermark(this.#fs, this.#path, this.#scope, w).then(
      () => {
        this.#saved = w;
        this.#writing = undefined;
        this.#kick();
      },
      (err: unknown) => {
        this.#failure = err;
        this.#writing = undefined;
      },
    );
  }

  #throwFailure(): void {
    if (this.#failure !== undefined) throw this.#failure;
  }
}
