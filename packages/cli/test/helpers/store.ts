// Real stores in temp dirs for the CLI tests, written with @batpak/core, plus the byte-level tampering an attacker (or `dd`) would do.
// Invariant: every helper leaves a store that core itself wrote; damage is applied afterwards, at offsets found in the file.

import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { Coordinate, Store, type AppendReceipt, type KeyGranularity } from '@batpak/core';

export async function tempDir(prefix = 'batpak-cli-'): Promise<{ dir: string; cleanup(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export interface MadeStore {
  readonly receipts: AppendReceipt[];
  /** The payload marker of event i (unique bytes inside its frame). */
  marker(i: number): string;
}

/** `events` raw events over three entities, in batches; each payload carries a unique ASCII marker. */
export async function makeStore(
  dir: string,
  options: { events?: number; signingKey?: Uint8Array; encryption?: KeyGranularity; batch?: number; segmentMaxBytes?: number } = {},
): Promise<MadeStore> {
  const n = options.events ?? 12;
  const store = await Store.open({
    dir,
    ...(options.signingKey === undefined ? {} : { signingKey: options.signingKey }),
    ...(options.encryption === undefined ? {} : { payloadEncryption: { granularity: options.encryption } }),
    ...(options.segmentMaxBytes === undefined ? {} : { segmentMaxBytes: options.segmentMaxBytes }),
  });
  const marker = (i: number) => `marker-${String(i).padStart(6, '0')}-end`;
  const receipts: AppendReceipt[] = [];
  const batch = options.batch ?? 1;
  try {
    for (let i = 0; i < n; i += batch) {
      const items = [];
      for (let j = i; j < Math.min(n, i + batch); j++) {
        items.push({ coord: new Coordinate(`acct:${j % 3}`, 'bank'), kind: { category: 1, typeId: 0 }, payload: new TextEncoder().encode(marker(j)) });
      }
      if (batch === 1) receipts.push(await store.appendRaw(items[0]!.coord, items[0]!.kind, items[0]!.payload));
      else receipts.push(...(await store.appendBatch(items)));
    }
  } finally {
    await store.close();
  }
  return { receipts, marker };
}

/** Byte offset of `text` in the segment file (throws when absent). */
export async function offsetOf(file: string, text: string): Promise<number> {
  const at = (await readFile(file)).indexOf(Buffer.from(text));
  if (at < 0) throw new Error(`${text} not found in ${file}`);
  return at;
}

/** What `printf 'X' | dd of=<file> bs=1 seek=<offset> conv=notrunc` does. */
export async function flipByte(file: string, offset: number, value = 0x58): Promise<void> {
  const bytes = await readFile(file);
  bytes[offset] = bytes[offset] === value ? value ^ 1 : value;
  await writeFile(file, bytes);
}

/**
 * A careful attacker: changes a payload byte and recomputes the frame's CRC, so the frame still reads
 * and only the content hash (and chain) can tell.
 */
export async function rewritePayloadByte(file: string, offset: number): Promise<void> {
  const bytes = await readFile(file);
  const magic = Buffer.from('BPKF');
  const frame = bytes.lastIndexOf(magic, offset);
  const length = bytes.readUInt32BE(frame + 4);
  bytes[offset] = bytes[offset]! ^ 0x01;
  bytes.writeUInt32BE(crc32(bytes.subarray(frame + 12, frame + 12 + length)), frame + 8);
  await writeFile(file, bytes);
}

export const SEGMENT = '000001.bps';
