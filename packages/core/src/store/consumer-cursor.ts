// The cursor file of a durable consumer, `consumers/<name>.cursor`: the global sequence up to which it has
// acknowledged, replaced atomically and checksummed. Invariant: damage is ERR_CORRUPT_CURSOR, never a silent
// restart from the beginning; a cursor is only ever written with a position the consumer acknowledged.

import { join } from 'node:path';
import { cmap, cstr, cuint } from '../encoding/canonical.js';
import { openEnvelope, sealEnvelope } from '../encoding/envelope.js';
import { BatpakError, ioError } from '../errors.js';
import type { Fs } from '../fs/fs.js';
import { readPrefix } from '../segment/read.js';

export const CONSUMERS_DIR = 'consumers';
export const CURSOR_SUFFIX = '.cursor';
export const CURSOR_MAGIC = new TextEncoder().encode('BPCURS');
export const CURSOR_VERSION = 1;

/** Consumer names: a file name on every platform, never a temp file's leading dot; no '..' (names are also entities). */
const NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/;

export interface CursorRecord {
  readonly name: string;
  /** Every event with a global sequence at or below this was acknowledged (or lay before a `from: 'end'` start). */
  readonly position: number;
  /** Store clock (Unix ms) when it was written. */
  readonly updatedAt: number;
}

export function checkConsumerName(name: unknown): string {
  if (typeof name !== 'string' || !NAME.test(name) || name.includes('..')) {
    throw BatpakError.invalidArgument('consumer name must be 1-128 characters of A-Z a-z 0-9 . _ -, not start with a dot nor hold two in a row', { field: 'name' });
  }
  return name;
}

export const cursorPath = (dir: string, name: string): string => join(dir, CONSUMERS_DIR, `${name}${CURSOR_SUFFIX}`);
export const consumerLockPath = (dir: string, name: string): string => join(dir, CONSUMERS_DIR, `${name}.lock`);

/** `"BPCURS" | version u16le | crc32 u32le (body) | msgpack { name: str, position: uint, updatedAt: uint }`. */
export function encodeCursor(c: CursorRecord): Uint8Array {
  return sealEnvelope(
    CURSOR_MAGIC,
    CURSOR_VERSION,
    cmap([
      [cstr('name'), cstr(c.name)],
      [cstr('position'), cuint(c.position)],
      [cstr('updatedAt'), cuint(c.updatedAt)],
    ]),
  );
}

export function corruptCursor(path: string, reason: string): BatpakError {
  return new BatpakError('ERR_CORRUPT_CURSOR', `consumer cursor ${path} refused: ${reason}`, { details: { file: path, reason } });
}

export function decodeCursor(bytes: Uint8Array, path: string): CursorRecord {
  const bad = (reason: string) => corruptCursor(path, reason);
  const { value: v } = openEnvelope(bytes, CURSOR_MAGIC, CURSOR_VERSION, CURSOR_VERSION, bad);
  const e = v.t === 'map' ? v.entries : [];
  const [name, position, updatedAt] = [e[0]?.[1], e[1]?.[1], e[2]?.[1]];
  if (e.length !== 3 || name?.t !== 'str' || position?.t !== 'int' || updatedAt?.t !== 'int') throw bad('body is not a cursor');
  if (typeof position.v !== 'number' || typeof updatedAt.v !== 'number') throw bad('position out of range');
  return { name: name.v, position: position.v, updatedAt: updatedAt.v };
}

/** The consumer's cursor, or undefined when it has none yet. ERR_CORRUPT_CURSOR when it does not check. */
export async function readCursor(fs: Fs, dir: string, name: string): Promise<CursorRecord | undefined> {
  const path = cursorPath(dir, name);
  let st;
  try {
    st = await fs.stat(path);
  } catch (err) {
    throw ioError(err, `cannot stat ${path}`, { file: path });
  }
  if (st === null) return undefined;
  const c = decodeCursor(await readPrefix(fs, path), path);
  if (c.name !== name) throw corruptCursor(path, `it belongs to consumer '${c.name}'`);
  return c;
}

/** Replaces the cursor atomically and durably (the consumers directory is created on first use). */
export async function writeCursor(fs: Fs, dir: string, c: CursorRecord): Promise<void> {
  const path = cursorPath(dir, c.name);
  try {
    await fs.writeFileAtomic(path, encodeCursor(c));
  } catch (err) {
    throw ioError(err, `cannot write consumer cursor ${path}`, { file: path });
  }
}

/** Names of the consumers with a cursor file, sorted. */
export async function cursorNames(fs: Fs, dir: string): Promise<string[]> {
  const at = join(dir, CONSUMERS_DIR);
  try {
    if ((await fs.stat(at)) === null) return [];
    const names = await fs.readdir(at);
    return names.filter((n) => n.endsWith(CURSOR_SUFFIX) && !n.startsWith('.')).map((n) => n.slice(0, -CURSOR_SUFFIX.length));
  } catch (err) {
    throw ioError(err, `cannot list ${at}`, { file: at });
  }
}

/** Creates `consumers/` (durably) if it does not exist yet. */
export async function ensureConsumersDir(fs: Fs, dir: string): Promise<void> {
  const at = join(dir, CONSUMERS_DIR);
  try {
    if ((await fs.stat(at)) !== null) return;
    await fs.mkdir(at, { recursive: true });
    await fs.syncDir(dir);
  } catch (err) {
    throw ioError(err, `cannot create ${at}`, { file: at });
  }
}
