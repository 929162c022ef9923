// `batpak verify`, `inspect` and `import` on a Rust batpak directory (the segment Rust itself wrote, fixtures/rust-core), run as the real binary.
// Guards (INV-CLI-EXIT-CODES, INV-RUST-READ-VERIFY): same exit codes as for our stores; damage named by event, segment and offset;
// the Rust directory is never written (bytes, mtimes and listing unchanged); an import keeps ids and content hashes and verifies natively.
import { copyFile, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { crc32 } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { Store, blake3 } from '@batpak/core';
import { hasEscapes, runCli } from './helpers/cli.js';
import { flipByte, makeStore, tempDir } from './helpers/store.js';

const FIXTURE = fileURLToPath(new URL('../../../fixtures/rust-core/store-checkpoint-v5/000001.fbat', import.meta.url));
const SEGMENT = '000001.fbat';
/** The fixture's frames (packages/core/test/rust.read.test.ts, rust.corruption.test.ts): system open, the user event, system close. */
const USER_FRAME = { start: 1076, end: 1597 };
const USER_ID = '0000000000000000000000000000ad05';
/** The event hash Rust recorded for it (core's rust.read test pins 0a7ddac6…58b1): blake3 of the payload bytes. */
const USER_HASH = '0a7ddac648f62a92dcb96fd21f89d27d852a75222cc042af46285cfa50a658b1';
/** Rust's canonical msgpack of {fixture: "checkpoint-v5"}. */
const USER_PAYLOAD = Buffer.concat([Buffer.from([0x81, 0xa7]), Buffer.from('fixture'), Buffer.from([0xad]), Buffer.from('checkpoint-v5')]);

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});
async function dir(): Promise<string> {
  const t = await tempDir('batpak-cli-rust-');
  cleanups.push(t.cleanup);
  return t.dir;
}
/** A copy of the Rust fixture in its own directory, as a Rust service would leave it. */
async function rustDir(): Promise<string> {
  const d = join(await dir(), 'rust');
  await mkdir(d);
  await copyFile(FIXTURE, join(d, SEGMENT));
  return d;
}

/** Everything a write would change: the listing, each file's bytes and mtime, the directory's own mtime. */
async function snapshot(d: string): Promise<unknown> {
  const names = (await readdir(d)).sort();
  return {
    dirMtime: (await stat(d)).mtimeMs,
    files: await Promise.all(names.map(async (n) => ({ n, mtime: (await stat(join(d, n))).mtimeMs, bytes: (await readFile(join(d, n))).toString('hex') }))),
  };
}

/**
 * Changes the last byte of the user event's payload ("checkpoint-v5" → "checkpoint-v6") and recomputes the
 * frame's CRC: the frame reads, only the event hash can tell (the attack a CRC alone does not stop).
 */
async function rewriteUserPayload(file: string): Promise<void> {
  const bytes = await readFile(file);
  // The payload is stored as an array of small integers: its ASCII tail appears verbatim, after `0xad` (fixstr 13) as `cc ad`.
  const at = bytes.indexOf(Buffer.from('ccad636865636b706f696e742d7635', 'hex'), USER_FRAME.start);
  expect(at).toBeGreaterThan(USER_FRAME.start);
  expect(at).toBeLessThan(USER_FRAME.end);
  bytes[at + 14] = 0x36;
  const length = bytes.readUInt32BE(USER_FRAME.start);
  bytes.writeUInt32BE(crc32(bytes.subarray(USER_FRAME.start + 8, USER_FRAME.start + 8 + length)), USER_FRAME.start + 4);
  await writeFile(file, bytes);
}

describe('INV-CLI-EXIT-CODES INV-RUST-READ-VERIFY batpak verify on a Rust batpak directory', () => {
  it('INV-RUST-READ-VERIFY: the segment Rust wrote verifies intact (exit 0), read-only: not one byte, mtime or file changes', async () => {
    const d = await rustDir();
    const before = await snapshot(d);
    const r = await runCli(['verify', d]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^intact: 3 events in 1 segment of a Rust batpak directory — every content hash and chain link verified\n$/);
    expect(r.stderr).toBe('');
    const j = await runCli(['verify', d, '--json']);
    expect(j.code).toBe(0);
    expect(JSON.parse(j.stdout)).toEqual({
      command: 'verify',
      dir: d,
      format: 'rust-batpak',
      result: 'intact',
      exitCode: 0,
      opened: true,
      eventsChecked: 3,
      segments: 1,
      signatureKeys: 0,
      gaps: 0,
      problems: [],
      warnings: [],
    });
    // No lock file, no index, nothing: the directory is as Rust left it.
    expect(await snapshot(d)).toEqual(before);
  });

  it('INV-CLI-EXIT-CODES: one flipped byte in a frame exits 1 naming the event, the segment file and the frame offset', async () => {
    const d = await rustDir();
    await flipByte(join(d, SEGMENT), 1300);
    const r = await runCli(['verify', d]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^DAMAGED: the Rust batpak directory refuses to open — 1 problem found/);
    expect(r.stdout).toContain(`corrupt frame: event ${USER_ID}, segment ${SEGMENT} offset ${USER_FRAME.start} — `);
    const j = await runCli(['verify', d, '--json']);
    expect(j.code).toBe(1);
    const report = JSON.parse(j.stdout) as { format: string; result: string; opened: boolean; problems: unknown[]; warnings: string[] };
    expect(report).toMatchObject({ format: 'rust-batpak', result: 'damaged', exitCode: 1, opened: false });
    expect(report.problems).toEqual([expect.objectContaining({ kind: 'corrupt-frame', eventId: USER_ID, file: SEGMENT, offset: USER_FRAME.start })]);
    // One problem is where the reader stopped, not proof there is no other: the report says so.
    expect(report.warnings.join(' ')).toMatch(/stops at the first damaged place/);
  });

  it('INV-RUST-READ-VERIFY: a payload rewritten with a fixed-up CRC is a content hash mismatch (exit 1) at its event and offset', async () => {
    const d = await rustDir();
    await rewriteUserPayload(join(d, SEGMENT));
    const r = await runCli(['verify', d, '--json']);
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout) as { opened: boolean; eventsChecked: number; problems: unknown[] };
    expect(report).toMatchObject({ format: 'rust-batpak', result: 'damaged', opened: true, eventsChecked: 3 });
    expect(report.problems).toContainEqual(expect.objectContaining({ kind: 'content-hash-mismatch', eventId: USER_ID, file: SEGMENT, offset: USER_FRAME.start }));
    const human = await runCli(['verify', d]);
    expect(human.stdout).toContain(`content hash mismatch: event ${USER_ID}, segment ${SEGMENT} offset ${USER_FRAME.start}`);
  });

  it('INV-CLI-EXIT-CODES: flags that only mean something for our stores are refused (exit 2, one line), not silently ignored', async () => {
    const d = await rustDir();
    for (const extra of [['--receipts', 'r.jsonl'], ['--public-key', 'ab'.repeat(32)], ['--encrypted']]) {
      const r = await runCli(['verify', d, ...extra]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/^batpak verify: ERR_USAGE --[a-z-]+ does not apply to the Rust batpak directory [^\n]*\n$/);
    }
  });

  it('INV-CLI-EXIT-CODES: a directory with segments of both formats is refused (exit 2) rather than half-read', async () => {
    const d = await rustDir();
    await makeStore(d, { events: 1 });
    const r = await runCli(['verify', d]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^batpak verify: ERR_AMBIGUOUS_FORMAT /);
  });
});

describe('INV-CLI-EXIT-CODES INV-RUST-READ-VERIFY batpak inspect on a Rust batpak directory', () => {
  it('INV-RUST-READ-VERIFY: describes the 3 events, the segment with its footer kind and trust, entities, kinds and last sequence (exit 0)', async () => {
    const d = await rustDir();
    const before = await snapshot(d);
    const r = await runCli(['inspect', d, '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      command: 'inspect',
      format: 'rust-batpak',
      formatVersions: [1],
      events: '3',
      userEvents: '1',
      systemEvents: '2',
      sealedEvents: 0,
      lastSequence: '2',
      bytes: '2701',
      entities: 2,
      kinds: [
        { kind: '0x0008', category: 0, typeId: 8, events: 1 },
        { kind: '0x0009', category: 0, typeId: 9, events: 1 },
        { kind: '0x1000', category: 1, typeId: 0, events: 1 },
      ],
      segments: [{ file: SEGMENT, bytes: 2701, formatVersion: 1, events: 3, frames: 3, footer: 'SDX2', footerTrusted: false, sequenceSource: 'scan', tornTail: null }],
      keyset: false,
      warnings: [],
    });
    const human = await runCli(['inspect', d]);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain('(Rust batpak data directory, read-only)');
    expect(human.stdout).toContain('events      3: 1 user, 2 written by Rust (last sequence 2, 0-based)');
    expect(human.stdout).toMatch(/000001\.fbat .* 3 events {2}SDX2 footer untrusted/);
    expect(await snapshot(d)).toEqual(before);
  });

  it('INV-CLI-EXIT-CODES: a damaged Rust segment makes inspect exit 2 with one line pointing at verify', async () => {
    const d = await rustDir();
    await flipByte(join(d, SEGMENT), 1300);
    const r = await runCli(['inspect', d]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^batpak inspect: ERR_CORRUPT_SEGMENT [^\n]*offset 1076[^\n]*run `batpak verify`[^\n]*\n$/);
  });
});

describe('INV-CLI-EXIT-CODES INV-RUST-READ-VERIFY the other commands and a Rust batpak directory', () => {
  it('INV-RUST-READ-VERIFY: compact, export and serve refuse it (exit 2) instead of opening it as an empty store of ours — nothing is written', async () => {
    const d = await rustDir();
    const before = await snapshot(d);
    for (const args of [['compact', d, '--strategy', 'merge'], ['export', d, '--jsonl'], ['serve', d, '--port', '0']]) {
      const r = await runCli(args);
      expect(r.code, args[0]).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(new RegExp(`^batpak ${args[0]}: ERR_RUST_DIRECTORY [^\\n]* is a Rust batpak directory[^\\n]*\\n$`));
    }
    expect(await snapshot(d)).toEqual(before);
  });
});

describe('INV-CLI-EXIT-CODES INV-RUST-READ-VERIFY batpak import', () => {
  it('INV-RUST-READ-VERIFY: round trip — the imported event keeps its id and content hash, verifies natively, and the Rust directory is untouched', async () => {
    const d = await rustDir();
    const target = join(await dir(), 'native');
    const before = await snapshot(d);

    const r = await runCli(['import', d, target]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^imported 1 event of 1 entity from the Rust batpak directory /);
    expect(r.stdout).toContain('skipped 2 events: 2 written by Rust itself');
    expect(r.stdout).toContain(`report: ${join(target, 'rust-import-report.json')}`);
    expect(hasEscapes(r.stdout + r.stderr)).toBe(false);
    expect(await snapshot(d)).toEqual(before);

    const v = await runCli(['verify', target, '--json']);
    expect(v.code).toBe(0);
    expect(JSON.parse(v.stdout)).toMatchObject({ format: 'native', result: 'intact', eventsChecked: 1 });

    const lines = (await runCli(['export', target, '--jsonl'])).stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      eventId: USER_ID,
      kind: { category: 1, typeId: 0 },
      coordinate: { entity: 'entity:adr0009-checkpoint-v5', scope: 'scope:fixture' },
      raw: false,
      payloadVersion: 0,
      // The payload bytes as Rust stored them, and the content hash Rust recorded, which is blake3 of exactly those bytes.
      payload: USER_PAYLOAD.toString('hex'),
      contentHash: USER_HASH,
    });
    expect(Buffer.from(blake3(new Uint8Array(USER_PAYLOAD))).toString('hex')).toBe(USER_HASH);

    // And as core reads it back, with the payload decoded.
    const store = await Store.openReadOnly(target);
    try {
      const e = await store.get(USER_ID);
      expect(Buffer.from(e.header.contentHash).toString('hex')).toBe(lines[0]!.contentHash);
      expect(e.payload).toEqual({ fixture: 'checkpoint-v5' });
    } finally {
      await store.close();
    }

    const report = JSON.parse(await readFile(join(target, 'rust-import-report.json'), 'utf8')) as Record<string, unknown>;
    expect(report).toMatchObject({
      status: 'imported',
      userEvents: 1,
      imported: 1,
      skipped: { system: 2, effect: 0, sealed: 0, byKind: { '0x0008': 1, '0x0009': 1 } },
      entities: [{ entity: 'entity:adr0009-checkpoint-v5', headEventId: USER_ID, headRustSequence: '1', headTargetSequence: '1', lanes: [5] }],
    });
  });

  it('INV-CLI-EXIT-CODES: a second import into the same target is refused (exit 2, one line with the code) and changes nothing', async () => {
    const d = await rustDir();
    const target = join(await dir(), 'native');
    expect((await runCli(['import', d, target])).code).toBe(0);
    const before = await snapshot(target);
    const again = await runCli(['import', d, target]);
    expect(again.code).toBe(2);
    expect(again.stdout).toBe('');
    expect(again.stderr).toMatch(/^batpak import: ERR_TARGET_NOT_EMPTY [^\n]*already holds 1 event[^\n]*--append[^\n]*\n$/);
    // --append is allowed, but the ids are already there: refused by core, atomically.
    const appended = await runCli(['import', d, target, '--append']);
    expect(appended.code).toBe(2);
    expect(appended.stderr).toMatch(/^batpak import: ERR_INVALID_ARGUMENT event 0{28}ad05 already exists in the store; nothing was imported\n$/);
    // Same files, same bytes (the directory's own mtime moves: --append took and released the writer lock).
    expect((await snapshot(target)) as { files: unknown }).toMatchObject({ files: (before as { files: unknown }).files });
  });

  it('INV-CLI-EXIT-CODES: --json prints one object carrying the report; --report writes it where asked (never inside the Rust directory)', async () => {
    const d = await rustDir();
    const out = await dir();
    const target = join(out, 'native');
    const reportFile = join(out, 'report.json');
    const r = await runCli(['import', d, target, '--json', '--report', reportFile]);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as { report: { imported: number } };
    expect(j).toMatchObject({ command: 'import', result: 'imported', exitCode: 0, from: d, dir: target, reportFile, report: { status: 'imported', imported: 1 } });
    expect(JSON.parse(await readFile(reportFile, 'utf8'))).toMatchObject({ imported: 1 });
    expect((await readdir(target)).sort()).toEqual(['000001.bps', 'index.checkpoint']);

    const inside = await runCli(['import', d, join(out, 'other'), '--report', join(d, 'report.json')]);
    expect(inside.code).toBe(2);
    expect(inside.stderr).toMatch(/^batpak import: ERR_USAGE --report .* is inside the Rust directory/);
  });

  it('INV-RUST-READ-VERIFY: a source whose chain does not verify imports nothing and exits 1; a damaged frame too', async () => {
    const d = await rustDir();
    await rewriteUserPayload(join(d, SEGMENT));
    const target = join(await dir(), 'native');
    const r = await runCli(['import', d, target]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^batpak import: ERR_CHAIN_VERIFICATION_FAILED [^\n]*nothing was imported[^\n]*\n$/);
    // Planning comes before any write: the target was not even created.
    await expect(stat(target)).rejects.toThrow();

    const d2 = await rustDir();
    await flipByte(join(d2, SEGMENT), 1300);
    const j = await runCli(['import', d2, target, '--json']);
    expect(j.code).toBe(1);
    expect(JSON.parse(j.stdout)).toMatchObject({ command: 'import', result: 'error', exitCode: 1, error: { code: 'ERR_CORRUPT_SEGMENT' } });
    await expect(stat(target)).rejects.toThrow();
  });

  it('INV-CLI-EXIT-CODES: unusable arguments exit 2 before anything is written — never into the Rust directory', async () => {
    const d = await rustDir();
    const native = await dir();
    await makeStore(native, { events: 2 });
    const before = await snapshot(d);
    const cases: Array<[string[], RegExp]> = [
      [['import', d], /ERR_USAGE/],
      [['import', join(d, 'missing'), join(native, 'x')], /ERR_NOT_FOUND/],
      [['import', native, join(await dir(), 'x')], /ERR_USAGE .* is not a Rust batpak directory/],
      [['import', d, join(d, 'inside')], /ERR_USAGE .* is inside the Rust directory/],
      [['import', d, d], /ERR_USAGE .* is inside the Rust directory/],
      [['import', d, await rustDir()], /ERR_USAGE .* is a Rust batpak directory/],
    ];
    for (const [args, message] of cases) {
      const r = await runCli(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
    // A directory that is neither empty nor a store is not taken over.
    const busy = await dir();
    await writeFile(join(busy, 'notes.txt'), 'mine');
    const r = await runCli(['import', d, busy]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^batpak import: ERR_TARGET_NOT_EMPTY .* is neither empty nor a batpak store/);
    expect(await readdir(busy)).toEqual(['notes.txt']);
    expect(await snapshot(d)).toEqual(before);
  });
});
