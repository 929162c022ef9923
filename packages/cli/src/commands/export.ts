// `batpak export <dir> --jsonl`: every committed event as one JSON line — receipt fields, flags, hex payload — for migrations and audits.
// Invariant: lines are written whole and in commit order; a shredded event is marked and carries its stored (ciphertext) bytes, never a guessed plaintext.

import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { isBatpakError, type Store } from '@batpak/core';
import { dirArgument } from '../args.js';
import { writeAll, type Command, type CommandContext, type Output } from '../command.js';
import { CliError, EXIT, type ExitCode } from '../exit.js';
import { ProgressBar, progressEnabled } from '../progress.js';
import { onInterrupt } from '../signals.js';
import { ENCRYPTION_FLAGS, openStore, requireStoreDir, storeAccess } from '../store-open.js';

const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

/** One event as a JSON line (bigints as decimal strings, bytes as lowercase hex, as receiptToJSON writes them). */
export interface ExportLine {
  readonly v: 1;
  readonly eventId: string;
  readonly globalSequence: string;
  readonly entitySequence: string;
  readonly kind: { readonly category: number; readonly typeId: number };
  readonly coordinate: { readonly entity: string; readonly scope: string };
  readonly committedAt: string;
  readonly contentHash: string;
  readonly prevHash: string;
  readonly payloadVersion: number;
  readonly raw: boolean;
  readonly encrypted: boolean;
  readonly tombstone: boolean;
  readonly shredded: boolean;
  /** The stored bytes: what contentHash covers (ciphertext when encrypted). */
  readonly payload: string;
  /** Encrypted raw events that are not shredded: the plaintext bytes. */
  readonly plaintext?: string;
}

async function* lines(store: Store, signal: AbortSignal): AsyncGenerator<ExportLine> {
  for await (const e of store.query({ signal })) {
    const h = e.header;
    // A plain raw event's payload already is its stored bytes; anything else is read as stored.
    const stored = h.raw && !h.encrypted && e.payload instanceof Uint8Array ? e.payload : (await store.getRaw(h.eventId)).bytes;
    yield {
      v: 1,
      eventId: h.eventId,
      globalSequence: h.globalSequence.toString(),
      entitySequence: h.entitySequence.toString(),
      kind: { category: h.kind.category, typeId: h.kind.typeId },
      coordinate: { entity: e.coordinate.entity, scope: e.coordinate.scope },
      committedAt: h.committedAt.toString(),
      contentHash: hex(h.contentHash),
      prevHash: hex(h.prevHash),
      payloadVersion: h.payloadVersion,
      raw: h.raw,
      encrypted: h.encrypted,
      tombstone: h.tombstone,
      shredded: e.shredded,
      payload: hex(stored),
      ...(h.encrypted && !e.shredded && e.payload instanceof Uint8Array ? { plaintext: hex(e.payload) } : {}),
    };
  }
}

async function fileOutput(path: string): Promise<Output & { close(): Promise<void> }> {
  const stream = createWriteStream(path, { flags: 'w' });
  await once(stream, 'open');
  return {
    write: (chunk) => stream.write(chunk),
    once: (event, listener) => stream.once(event, listener),
    close: () => new Promise<void>((resolve, reject) => stream.end((err?: Error | null) => (err ? reject(err) : resolve()))),
  };
}

async function run({ args, io }: CommandContext): Promise<ExitCode> {
  const dir = dirArgument(args, 'export');
  if (!args.bool('jsonl')) throw CliError.usage('choose the format: --jsonl (the only one so far)');
  const access = storeAccess(args);
  const outPath = args.string('out');
  await requireStoreDir(dir);
  const interrupt = onInterrupt(io.stderr);
  const store = await openStore(dir, { readOnly: true, access });
  const out = outPath === undefined ? undefined : await fileOutput(outPath);
  const sink: Output = out ?? io.stdout;
  // Data goes to stdout; the bar only when stderr is a terminal and it will not interleave with the data.
  const enabled = progressEnabled({ json: false, streams: out === undefined ? [io.stderr, { isTTY: io.stdout.isTTY !== true }] : [io.stderr] });
  const progress = new ProgressBar({ label: 'export', unit: 'events', stream: io.stderr, signal: interrupt.signal, enabled });
  const total = Number(store.stats().events);
  let done = 0;
  try {
    for await (const line of lines(store, interrupt.signal)) {
      await writeAll(sink, `${JSON.stringify(line)}\n`);
      progress.update(++done, total);
    }
  } catch (err) {
    if (interrupt.signal.aborted || isBatpakError(err, 'ERR_ABORTED')) {
      progress.clear();
      io.stderr.write(`export interrupted after ${done} of ${total} events (every line written is complete)\n`);
      return EXIT.INTERRUPTED;
    }
    throw err;
  } finally {
    progress.clear();
    await out?.close();
    await store.close();
    interrupt.dispose();
  }
  if (out !== undefined) io.stderr.write(`exported ${done} events to ${outPath}\n`);
  return EXIT.OK;
}

export const exportCommand: Command = {
  name: 'export',
  summary: 'Write every event as one JSON line (receipt fields, flags, hex payload; shredded events marked).',
  usage: 'batpak export <dir> --jsonl [--out <file>]',
  description: [
    'Read-only and lock-free, in commit order. Each line: v, eventId, globalSequence, entitySequence, kind,',
    'coordinate, committedAt, contentHash, prevHash (the receipt fields; counters as decimal strings, bytes as',
    'hex), payloadVersion, raw, encrypted, tombstone, shredded, payload (the stored bytes contentHash covers),',
    'and plaintext for a readable encrypted raw event. Progress is drawn on stderr when it is a terminal.',
  ].join('\n'),
  examples: ['batpak export ./data --jsonl > events.jsonl', 'batpak export ./data --jsonl --out events.jsonl'],
  flags: [
    { name: 'jsonl', type: 'boolean', help: 'JSON Lines: one object per event (required)' },
    { name: 'out', type: 'string', value: 'file', help: 'write to a file instead of stdout' },
    ...ENCRYPTION_FLAGS,
  ],
  run,
};
