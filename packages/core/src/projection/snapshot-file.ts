// The projection snapshot file: one entity's folded state at an entity sequence, for one projection
// version, checksummed, so a cold read resumes from it. Derived, never an authority: a file that fails
// any check is ignored and the state is rebuilt from the log (INV-PROJECTION-SNAPSHOT-CHECKED).

import { join } from 'node:path';
import { blake3 } from '../crypto/blake3.js';
import { carray, cbin, cstr, cuint, decodeCanonical, encodeCanonical, type CanonicalValue } from '../encoding/canonical.js';
import { bytesEqual, toHex } from '../encoding/hex.js';
import { ioError } from '../errors.js';
import { atomicTempTarget } from '../fs/atomic-write.js';
import type { Fs } from '../fs/fs.js';
import { decodePayload, encodePayload } from '../payload.js';
import { snapshotPayload } from '../payload-value.js';

/** Directory (in the store directory) holding the snapshot files. */
export const PROJECTIONS_DIR = 'projections';
const MAGIC = new TextEncoder().encode('BPPROJ');
const FORMAT_VERSION = 1;
/** magic (6) + format version u16 LE (2) + blake3 of the body (32). */
const HEADER_BYTES = 40;

export interface ProjectionSnapshot {
  readonly name: string;
  readonly version: number;
  readonly entity: string;
  /** Entity sequence of the last event the state covers. */
  readonly entitySequence: number;
  /** Global sequence of the last event examined. */
  readonly cursor: number;
  readonly state: unknown;
}

const utf8 = new TextEncoder();

/** `<blake3(entity)[0..16] hex>-<blake3(name)[0..16] hex>.bpproj`: an entity's files share a prefix. */
export function snapshotFileName(name: string, entity: string): string {
  return `${entityPrefix(entity)}${toHex(blake3(utf8.encode(name)).subarray(0, 16))}.bpproj`;
}

function entityPrefix(entity: string): string {
  return `${toHex(blake3(utf8.encode(entity)).subarray(0, 16))}-`;
}

/** The file's bytes. Throws ERR_INVALID_PAYLOAD when the state is not a payload value. */
export function encodeProjectionSnapshot(s: ProjectionSnapshot): Uint8Array {
  const state = encodePayload(snapshotPayload(s.state));
  const body = encodeCanonical(carray([cstr(s.name), cuint(s.version), cstr(s.entity), cuint(s.entitySequence), cuint(s.cursor), cbin(state)]));
  const out = new Uint8Array(HEADER_BYTES + body.length);
  out.set(MAGIC, 0);
  new DataView(out.buffer).setUint16(6, FORMAT_VERSION, true);
  out.set(blake3(body), 8);
  out.set(body, HEADER_BYTES);
  return out;
}

/** The snapshot, or why it cannot be used (damaged, another format version): the caller rebuilds. */
export function decodeProjectionSnapshot(bytes: Uint8Array): ProjectionSnapshot | string {
  if (bytes.length < HEADER_BYTES || !bytesEqual(bytes.subarray(0, 6), MAGIC)) return 'not a projection snapshot';
  const version = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint16(6, true);
  if (version !== FORMAT_VERSION) return `unknown snapshot format version ${version}`;
  const body = bytes.subarray(HEADER_BYTES);
  if (!bytesEqual(blake3(body), bytes.subarray(8, HEADER_BYTES))) return 'checksum mismatch';
  try {
    const v = decodeCanonical(body);
    const items = v.t === 'array' && v.items.length === 6 ? v.items : undefined;
    const [name, pv, entity, seq, cursor, state] = items ?? [];
    if (name?.t !== 'str' || entity?.t !== 'str' || state?.t !== 'bin') return 'malformed body';
    return { name: name.v, version: safeUint(pv), entity: entity.v, entitySequence: safeUint(seq), cursor: safeUint(cursor), state: decodePayload(state.v, 'projection snapshot') };
  } catch (err) {
    return `malformed body: ${(err as Error).message}`;
  }
}

function safeUint(v: CanonicalValue | undefined): number {
  if (v?.t !== 'int' || typeof v.v !== 'number' || v.v < 0) throw new Error('expected a safe unsigned integer');
  return v.v;
}

/** Reads the snapshot file of (name, entity): undefined when there is none, else its bytes. */
export async function readSnapshotFile(fs: Fs, dir: string, name: string, entity: string): Promise<Uint8Array | undefined> {
  const path = join(dir, PROJECTIONS_DIR, snapshotFileName(name, entity));
  const st = await fs.stat(path);
  if (st === null || !st.isFile) return undefined;
  const file = await fs.open(path);
  try {
    return await file.readAt(0, st.size);
  } finally {
    await file.close();
  }
}

/** Publishes a snapshot atomically (temp file, fsync, rename, directory fsync). */
export async function writeSnapshotFile(fs: Fs, dir: string, snapshot: ProjectionSnapshot): Promise<void> {
  const bytes = encodeProjectionSnapshot(snapshot);
  const sub = join(dir, PROJECTIONS_DIR);
  if ((await fs.stat(sub)) === null) {
    await fs.mkdir(sub, { recursive: true });
    await fs.syncDir(dir);
  }
  await fs.writeFileAtomic(join(sub, snapshotFileName(snapshot.name, snapshot.entity)), bytes);
}

/**
 * Removes durably the snapshot files of `entity` (every projection), or all of them when `entity` is
 * undefined — temp files of an interrupted write included, since they hold a state too.
 */
export async function removeSnapshotFiles(fs: Fs, dir: string, entity: string | undefined): Promise<void> {
  try {
    await removeMatching(fs, join(dir, PROJECTIONS_DIR), entity === undefined ? '' : entityPrefix(entity));
  } catch (err) {
    throw ioError(err, 'could not remove projection snapshot files', { file: join(dir, PROJECTIONS_DIR) });
  }
}

/** Removes durably the temp files a killed snapshot write left (a writable open, before any write). */
export async function removeSnapshotTemps(fs: Fs, dir: string): Promise<void> {
  try {
    await removeMatching(fs, join(dir, PROJECTIONS_DIR), '', true);
  } catch (err) {
    throw ioError(err, 'could not remove leftover projection snapshot temp files', { file: join(dir, PROJECTIONS_DIR) });
  }
}

async function removeMatching(fs: Fs, sub: string, prefix: string, tempsOnly = false): Promise<void> {
  if ((await fs.stat(sub)) === null) return;
  let removed = 0;
  for (const name of await fs.readdir(sub)) {
    const temp = atomicTempTarget(name);
    if (tempsOnly && temp === undefined) continue;
    const target = temp ?? name;
    if (!target.startsWith(prefix)) continue;
    await fs.remove(join(sub, name), { force: true });
    removed++;
  }
  if (removed > 0) await fs.syncDir(sub);
}
