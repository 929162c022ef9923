// Fuzzing the store's on-disk inputs (INV-TYPED-ERRORS, INV-TORN-TAIL, INV-KEYSET-FAIL-CLOSED): mutated
// segments, keysets, compaction markers and logs open or parse to exact data or a BatpakError (GAUNTLET.md § Fuzzing).
import { execFileSync } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { crc32 } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BatpakError, Coordinate, defineEvent, Store, type Fs, type FsFile, type FsOpenOptions, type FsStat, type StoreOptions } from '../src/index.js';
import { KillableFs, SimFs } from '../src/entry/testing.js';
import { decodeKeyset } from '../src/keyset/file.js';
import { decodeMarker } from '../src/compaction/marker.js';
import { decodeCompactionLog } from '../src/compaction/log.js';

const CASES = Number(process.env.BATPAK_FUZZ_CASES ?? 300);
const SEED = Number(process.env.BATPAK_FUZZ_SEED ?? 0x5eed);
/** One case may take at most this long: a hang is a failure, not a slow test. */
const CASE_TIMEOUT_MS = 5_000;

const Note = defineEvent<{ n: number; text: string }>({ category: 4, typeId: 2, name: 'Note' });
const counts = { segments: 0, keysets: 0, markers: 0, hostile: 0 };

afterAll(() => {
  const total = counts.segments + counts.keysets + counts.markers + counts.hostile;
  console.log(`fuzz (core): ${total} cases (segments ${counts.segments}, keysets ${counts.keysets}, markers ${counts.markers}, hostile files ${counts.hostile})`);
  if (process.env.BATPAK_FUZZ_COUNTS !== undefined) appendFileSync(process.env.BATPAK_FUZZ_COUNTS, `${JSON.stringify(counts)}\n`);
});

function withTimeout<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`hang: ${what} took more than ${CASE_TIMEOUT_MS} ms`)), CASE_TIMEOUT_MS);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/** Anything but a BatpakError is an escape: an uncaught exception of the library. */
function mustBeTyped(err: unknown, what: string): void {
  if (!(err instanceof BatpakError)) throw new Error(`${what}: untyped error ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
}

// ---- a small reference store: two segments, a batch, a seal in the signed variant, a compaction ------

interface Reference {
  readonly files: ReadonlyMap<string, Uint8Array>;
  readonly events: ReadonlyMap<string, { payload: unknown; contentHash: string; prevHash: string; globalSequence: bigint; entitySequence: bigint; entity: string }>;
  readonly options: Omit<StoreOptions, 'fs'>;
}

async function reference(variant: { signed: boolean; encrypted: boolean; compacted: boolean }): Promise<Reference> {
  const sim = new SimFs(7);
  let clock = 1_700_000_000_000;
  const options: Omit<StoreOptions, 'fs'> = {
    dir: '/db',
    segmentMaxBytes: 700,
    now: () => (clock += 1),
    ...(variant.signed ? { signingKey: new Uint8Array(32).fill(3) } : {}),
    ...(variant.encrypted ? { payloadEncryption: {} } : {}),
  };
  const s = await Store.open({ ...options, fs: sim });
  for (let n = 0; n < 6; n++) await s.append(new Coordinate(`e${n % 3}`, 's'), Note, { n, text: 'x'.repeat(n * 7) });
  await s.appendBatch([0, 1, 2].map((i) => ({ coord: new Coordinate(`e${i}`, 'b'), kind: Note, payload: { n: 100 + i, text: 'batch' } })));
  if (variant.compacted) {
    for (let n = 6; n < 10; n++) await s.append(new Coordinate(`e${n % 3}`, 's'), Note, { n, text: 'y' });
    const r = await s.compact({ strategy: 'retention', keep: (e) => (e.payload as { n: number }).n % 4 !== 1 });
    expect(r.outcome).toBe('performed');
  }
  if (variant.encrypted) await s.shredScope({ entity: 'e2' });
  const events = new Map<string, { payload: unknown; contentHash: string; prevHash: string; globalSequence: bigint; entitySequence: bigint; entity: string }>();
  for await (const e of s.query()) {
    events.set(e.header.eventId, {
      payload: e.payload,
      contentHash: Buffer.from(e.header.contentHash).toString('hex'),
      prevHash: Buffer.from(e.header.prevHash).toString('hex'),
      globalSequence: e.header.globalSequence,
      entitySequence: e.header.entitySequence,
      entity: e.coordinate.entity,
    });
  }
  await s.close();
  const files = new Map<string, Uint8Array>();
  for (const [path, info] of sim.snapshot()) files.set(path, info.durable);
  return { files, events, options };
}

/**
 * Opens a directory holding `files` and reads everything. The oracle (GAUNTLET.md § Fuzzing): open
 * and every read yield data or a BatpakError; every event a read returns is byte-identical to the
 * reference's event with that id — or verifyChain on the same store reports the damage.
 */
async function openAndJudge(
  ref: Reference,
  files: ReadonlyMap<string, Uint8Array>,
  what: string,
  readOnly: boolean,
  place: { readonly fs?: (sim: SimFs) => Fs; readonly dir?: string } = {},
): Promise<void> {
  const sim = new SimFs(1);
  for (const [path, bytes] of files) sim.putFile(path, bytes);
  let store: Store;
  try {
    store = await Store.open({ ...ref.options, ...(place.dir === undefined ? { fs: place.fs?.(sim) ?? sim } : { dir: place.dir }), readOnly });
  } catch (err) {
    mustBeTyped(err, `${what}: open`);
    return;
  }
  try {
    const wrong: string[] = [];
    try {
      for await (const e of store.query()) {
        const want = ref.events.get(e.header.eventId);
        const same =
          want !== undefined &&
          want.entity === e.coordinate.entity &&
          want.globalSequence === e.header.globalSequence &&
          want.entitySequence === e.header.entitySequence &&
          want.contentHash === Buffer.from(e.header.contentHash).toString('hex') &&
          want.prevHash === Buffer.from(e.header.prevHash).toString('hex') &&
          JSON.stringify(want.payload) === JSON.stringify(e.payload);
        if (!same) wrong.push(e.header.eventId);
      }
    } catch (err) {
      mustBeTyped(err, `${what}: query`);
    }
    let report;
    try {
      report = await store.verifyChain();
    } catch (err) {
      mustBeTyped(err, `${what}: verifyChain`);
    }
    if (wrong.length > 0 && report?.intact === true) {
      throw new Error(`${what}: wrong answer — events ${wrong.join(', ')} differ from what was written and verifyChain says intact`);
    }
  } finally {
    await store.close().catch((err: unknown) => mustBeTyped(err, `${what}: close`));
  }
}

// ---- mutations -------------------------------------------------------------------------------------

type Mutation = (bytes: Uint8Array, frames: readonly [number, number][]) => Uint8Array;
const FRAME_MAGIC = [0x42, 0x50, 0x4b, 0x46];

/** Frame boundaries of a segment (offset, length), found by walking the headers: for frame-level mutations. */
function frameSpans(bytes: Uint8Array): [number, number][] {
  const out: [number, number][] = [];
  let pos = 32;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  while (pos + 12 <= bytes.length && FRAME_MAGIC.every((b, i) => bytes[pos + i] === b)) {
    const len = 12 + dv.getUint32(pos + 4);
    if (pos + len > bytes.length) break;
    out.push([pos, len]);
    pos += len;
  }
  return out;
}

const splice = (b: Uint8Array, at: number, remove: number, insert: Uint8Array) => {
  const out = new Uint8Array(b.length - remove + insert.length);
  out.set(b.subarray(0, at), 0);
  out.set(insert, at);
  out.set(b.subarray(at + remove), at + insert.length);
  return out;
};

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  // byte flips: xor with a non-zero mask at 1–3 places
  fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 3 }).map(
    (flips): Mutation =>
      (b) => {
        const out = b.slice();
        for (const [at, mask] of flips) if (out.length > 0) out[at % out.length]! ^= mask;
        return out;
      },
  ),
  // truncation anywhere
  fc.nat().map((at): Mutation => (b) => b.slice(0, at % (b.length + 1))),
  // insertion of random bytes
  fc.tuple(fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 40 })).map((([at, ins]): Mutation => (b) => splice(b, at % (b.length + 1), 0, ins))),
  // a duplicated frame: right after itself, or at the end
  fc.tuple(fc.nat(), fc.boolean()).map(
    ([k, atEnd]): Mutation =>
      (b, frames) => {
        const f = frames[k % Math.max(1, frames.length)];
        if (f === undefined) return b;
        const copy = b.slice(f[0], f[0] + f[1]);
        return splice(b, atEnd ? b.length : f[0] + f[1], 0, copy);
      },
  ),
  // a removed frame (a hole in the sequence)
  fc.nat().map(
    (k): Mutation =>
      (b, frames) => {
        const f = frames[k % Math.max(1, frames.length)];
        return f === undefined ? b : splice(b, f[0], f[1], new Uint8Array(0));
      },
  ),
  // zeros over a range (a lost page)
  fc.tuple(fc.nat(), fc.integer({ min: 1, max: 600 })).map(
    ([at, n]): Mutation =>
      (b) => {
        const out = b.slice();
        out.fill(0, at % (b.length + 1), (at % (b.length + 1)) + n);
        return out;
      },
  ),
);

const variants = [
  { signed: false, encrypted: false, compacted: false },
  { signed: true, encrypted: false, compacted: false },
  { signed: false, encrypted: true, compacted: true },
  { signed: true, encrypted: false, compacted: true },
];

describe('fuzz: mutated segment files open to exact data or a typed error (INV-TYPED-ERRORS, INV-TORN-TAIL)', () => {
  const refs: Reference[] = [];
  beforeAll(async () => {
    for (const v of variants) refs.push(await reference(v));
  });

  it(`${CASES} mutated stores: never an uncaught exception, a hang or a wrong answer`, async () => {
    const cases = fc.sample(
      fc.record({ ref: fc.nat({ max: variants.length - 1 }), file: fc.nat(), mutations: fc.array(mutation, { minLength: 1, maxLength: 3 }), readOnly: fc.boolean() }),
      { numRuns: CASES, seed: SEED },
    );
    for (const [k, c] of cases.entries()) {
      const ref = refs[c.ref]!;
      const segments = [...ref.files.keys()].filter((p) => p.endsWith('.bps'));
      const target = segments[c.file % segments.length]!;
      const original = ref.files.get(target)!;
      const mutated = c.mutations.reduce((b, m) => m(b, frameSpans(b)), original);
      const files = new Map(ref.files);
      files.set(target, mutated);
      await withTimeout(openAndJudge(ref, files, `segment case ${k} (seed ${SEED}, variant ${c.ref}, ${target})`, c.readOnly), `segment case ${k}`);
      counts.segments++;
    }
  }, 600_000);

  it('random bytes behind a valid segment header and as whole files', async () => {
    const ref = refs[0]!;
    const segments = [...ref.files.keys()].filter((p) => p.endsWith('.bps'));
    const cases = fc.sample(fc.tuple(fc.uint8Array({ maxLength: 400 }), fc.boolean(), fc.nat()), { numRuns: Math.ceil(CASES / 4), seed: SEED + 1 });
    for (const [k, [junk, keepHeader, which]] of cases.entries()) {
      const target = segments[which % segments.length]!;
      const original = ref.files.get(target)!;
      const bytes = keepHeader ? splice(original, 32, original.length - 32, junk) : junk;
      const files = new Map(ref.files);
      files.set(target, bytes);
      await withTimeout(openAndJudge(ref, files, `random segment case ${k}`, false), `random segment case ${k}`);
      counts.segments++;
    }
  }, 600_000);
});

describe('fuzz: keysets, compaction markers and logs parse to a value or a typed error (INV-KEYSET-FAIL-CLOSED, INV-TYPED-ERRORS)', () => {
  let keyset: Uint8Array;
  let log: Uint8Array;
  let marker: Uint8Array;
  let encryptedRef: Reference;
  beforeAll(async () => {
    encryptedRef = await reference(variants[2]!);
    keyset = encryptedRef.files.get('/db/keyset.bpk')!;
    log = encryptedRef.files.get('/db/compaction.log')!;
    expect(keyset).toBeDefined();
    expect(log).toBeDefined();
    // A marker as a crashed compaction leaves it: made by crashing right after the commit point.
    const sim = new SimFs(3);
    const filled = await Store.open({ dir: '/m', fs: sim, segmentMaxBytes: 500 });
    for (let n = 0; n < 8; n++) await filled.append(new Coordinate('e', 's'), Note, { n, text: 'm' });
    // Reopened, so the sealed segments' index files (written in the background) are all written and
    // their renames cannot shift the count below.
    await filled.close();
    const s = await Store.open({ dir: '/m', fs: sim, segmentMaxBytes: 500 });
    sim.failOn('rename', 2, 'EIO');
    await s.compact({ strategy: 'merge' });
    marker = sim.inspect('/m/compaction.pending')!.current;
    await s.close();
  });

  /** Mutated bytes, half of them with the header CRC recomputed so the decoder's structure checks run too. */
  const mutatedImage = (fixCrc: boolean) =>
    fc.tuple(fc.array(mutation, { minLength: 1, maxLength: 3 }), fc.constant(fixCrc)).map(([ms, fix]) => (b: Uint8Array) => {
      let out = ms.reduce((x, m) => m(x, []), b);
      if (fix && out.length >= 12) {
        out = out.slice();
        new DataView(out.buffer).setUint32(8, crc32(out.subarray(12)), true);
      }
      return out;
    });

  const decodeCases = (name: string, decode: (b: Uint8Array) => unknown, original: () => Uint8Array, bump: () => void) =>
    it(`${CASES} mutated ${name} images decode or throw a BatpakError`, () => {
      const cases = fc.sample(fc.oneof(mutatedImage(false), mutatedImage(true)), { numRuns: CASES, seed: SEED + name.length });
      for (const [k, m] of cases.entries()) {
        const bytes = m(original());
        try {
          decode(bytes);
        } catch (err) {
          mustBeTyped(err, `${name} case ${k}`);
        }
        bump();
      }
    });

  decodeCases('keyset', (b) => decodeKeyset(b, 'entity', 'keyset.bpk'), () => keyset, () => counts.keysets++);
  decodeCases('compaction marker', (b) => decodeMarker(b, 'compaction.pending'), () => marker, () => counts.markers++);
  decodeCases('compaction log', (b) => decodeCompactionLog(b, 'compaction.log'), () => log, () => counts.markers++);

  it('a store with a mutated keyset, marker or log opens to exact data or refuses with a typed error', async () => {
    const cases = fc.sample(fc.tuple(fc.constantFrom('/db/keyset.bpk', '/db/compaction.log'), fc.oneof(mutatedImage(false), mutatedImage(true))), {
      numRuns: Math.ceil(CASES / 4),
      seed: SEED + 99,
    });
    for (const [k, [path, m]] of cases.entries()) {
      const files = new Map(encryptedRef.files);
      files.set(path, m(files.get(path)!));
      await withTimeout(openAndJudge(encryptedRef, files, `store with mutated ${path}, case ${k}`, false), `store case ${k}`);
      if (path.endsWith('.bpk')) counts.keysets++;
      else counts.markers++;
    }
  }, 600_000);
});

// ---- hostile files: what an unlucky operator or an attacker leaves in the directory -----------------

/** Names the store reads, names it must ignore, and names close to both. */
const HOSTILE_NAMES = [
  '000001.bps',
  '000002.bps',
  'keyset.bpk',
  'compaction.log',
  'compaction.pending',
  'index.checkpoint',
  '.batpak.lock',
  '000001.bps.compact-new',
  '.keyset.bpk.tmp-1-x',
  '999999999999999.bps',
  '000000.bps',
  '1.bps',
  '0000001.bps',
];
const REAL_KINDS = ['fifo', 'symlink-loop', 'dangling-symlink', 'directory', 'empty', 'junk'] as const;
const ERRNOS = ['EACCES', 'EPERM', 'ELOOP', 'ENOTREG', 'ENXIO', 'EISDIR', 'EIO', 'ENOENT'] as const;

/** A process view where one file cannot be opened or examined, with a chosen errno (an unreadable file). */
class DenyOneFs extends KillableFs {
  constructor(
    inner: SimFs,
    private readonly victim: string,
    private readonly errno: string,
    private readonly onStat: boolean,
  ) {
    super(inner);
  }
  #deny(path: string): void {
    if (path === this.victim) throw Object.assign(new Error(`${this.errno}: denied, open '${path}'`), { code: this.errno, path });
  }
  override async open(path: string, options?: FsOpenOptions): Promise<FsFile> {
    this.#deny(path);
    return super.open(path, options);
  }
  override async stat(path: string): Promise<FsStat | null> {
    if (this.onStat) this.#deny(path);
    return super.stat(path);
  }
}

describe('fuzz: hostile and unreadable files open to exact data or a typed error (INV-HOSTILE-FILES, INV-TYPED-ERRORS)', () => {
  const refs: Reference[] = [];
  let work: string;
  beforeAll(async () => {
    for (const v of variants) refs.push(await reference(v));
    work = await mkdtemp(join(tmpdir(), 'batpak-fuzz-hostile-'));
  });
  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  it.runIf(process.platform === 'linux')('FIFOs, symlink loops, directories and stray names on a real filesystem: never a hang', async () => {
    const cases = fc.sample(
      fc.record({ ref: fc.nat({ max: variants.length - 1 }), name: fc.constantFrom(...HOSTILE_NAMES), kind: fc.constantFrom(...REAL_KINDS), readOnly: fc.boolean(), junk: fc.uint8Array({ maxLength: 64 }) }),
      { numRuns: Math.max(24, Math.ceil(CASES / 20)), seed: SEED + 7 },
    );
    for (const [k, c] of cases.entries()) {
      const ref = refs[c.ref]!;
      const dir = join(work, `case-${k}`);
      await mkdir(dir);
      for (const [path, bytes] of ref.files) await writeFile(join(dir, basename(path)), bytes);
      const target = join(dir, c.name);
      await rm(target, { force: true });
      if (c.kind === 'fifo') execFileSync('mkfifo', [target]);
      else if (c.kind === 'symlink-loop') await symlink(c.name, target);
      else if (c.kind === 'dangling-symlink') await symlink('no-such-file', target);
      else if (c.kind === 'directory') await mkdir(target);
      else await writeFile(target, c.kind === 'empty' ? new Uint8Array(0) : c.junk);
      const what = `hostile case ${k} (seed ${SEED + 7}): ${c.kind} as ${c.name}, variant ${c.ref}, ${c.readOnly ? 'read-only' : 'writable'}`;
      await withTimeout(openAndJudge(ref, new Map(), what, c.readOnly, { dir }), what);
      await rm(dir, { recursive: true, force: true });
      counts.hostile++;
    }
  }, 600_000);

  it('a store file that cannot be opened or examined (EACCES, ELOOP, ENOTREG…) is a typed error, never a wrong answer', async () => {
    const cases = fc.sample(
      fc.record({ ref: fc.nat({ max: variants.length - 1 }), file: fc.nat(), errno: fc.constantFrom(...ERRNOS), onStat: fc.boolean(), readOnly: fc.boolean() }),
      { numRuns: Math.ceil(CASES / 4), seed: SEED + 8 },
    );
    for (const [k, c] of cases.entries()) {
      const ref = refs[c.ref]!;
      const paths = [...ref.files.keys()];
      const victim = paths[c.file % paths.length]!;
      const what = `unreadable case ${k} (seed ${SEED + 8}): ${c.errno} on ${victim}${c.onStat ? ' (open and stat)' : ''}`;
      await withTimeout(openAndJudge(ref, ref.files, what, c.readOnly, { fs: (sim) => new DenyOneFs(sim, victim, c.errno, c.onStat) }), what);
      counts.hostile++;
    }
  }, 600_000);
});

describe('fuzz: a forged index.checkpoint (bytes mutated, CRC recomputed) never changes an answer (INV-DERIVED-NOT-AUTHORITY)', () => {
  const refs: Reference[] = [];
  beforeAll(async () => {
    for (const v of variants) refs.push(await reference(v));
  });

  it(`${Math.ceil(CASES / 2)} forged checkpoints: every event still there and exact; a writer opens or refuses with a typed error`, async () => {
    const cases = fc.sample(
      fc.record({ ref: fc.nat({ max: variants.length - 1 }), mutations: fc.array(mutation, { minLength: 1, maxLength: 3 }), readOnly: fc.boolean() }),
      { numRuns: Math.ceil(CASES / 2), seed: SEED + 9 },
    );
    for (const [k, c] of cases.entries()) {
      const ref = refs[c.ref]!;
      const original = ref.files.get('/db/index.checkpoint')!;
      const body = c.mutations.reduce((b, m) => m(b, []), original.subarray(12));
      const forged = new Uint8Array(12 + body.length);
      forged.set(original.subarray(0, 12));
      forged.set(body, 12);
      new DataView(forged.buffer).setUint32(8, crc32(body), true);
      const what = `checkpoint case ${k} (seed ${SEED + 9}, variant ${c.ref}, ${c.readOnly ? 'read-only' : 'writable'})`;
      const sim = new SimFs(1);
      for (const [path, bytes] of ref.files) sim.putFile(path, path.endsWith('index.checkpoint') ? forged : bytes);
      await withTimeout(
        (async () => {
          let store: Store;
          try {
            store = await Store.open({ ...ref.options, fs: sim, readOnly: c.readOnly });
          } catch (err) {
            mustBeTyped(err, `${what}: open`);
            // Only a writer may refuse (the forged checkpoint claims more than the segments hold).
            if (c.readOnly) throw new Error(`${what}: a read-only open over intact segments refused: ${String(err)}`);
            return;
          }
          try {
            const seen = new Set<string>();
            for await (const e of store.query()) {
              const want = ref.events.get(e.header.eventId);
              if (want === undefined || JSON.stringify(want.payload) !== JSON.stringify(e.payload) || want.entitySequence !== e.header.entitySequence || want.entity !== e.coordinate.entity) {
                throw new Error(`${what}: event ${e.header.eventId} differs from what was written`);
              }
              seen.add(e.header.eventId);
            }
            for (const id of ref.events.keys()) {
              if (!seen.has(id)) throw new Error(`${what}: event ${id} is hidden`);
              await store.getRaw(id);
            }
          } finally {
            await store.close().catch((err: unknown) => mustBeTyped(err, `${what}: close`));
          }
        })(),
        what,
      );
      counts.markers++;
    }
  }, 600_000);
});
