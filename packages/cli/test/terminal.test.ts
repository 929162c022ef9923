// On a real terminal (a pty from util-linux `script`): the progress bar draws done/total, rate and ETA, and Ctrl-C aborts
// through the AbortSignal — exit 130, store closed and consistent, complete output lines only (INV-CLI-EXIT-CODES).
// compact and import (INV-RUST-READ-VERIFY: from the Rust fixture) draw their bars from core's done/total callbacks.
import { spawn, spawnSync } from 'node:child_process';
import { copyFile, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Store } from '@batpak/core';
import { CLI, hasEscapes, runCli } from './helpers/cli.js';
import { makeStore, tempDir } from './helpers/store.js';

const hasScript = spawnSync('script', ['--version']).status === 0;
let dir = '';
let cleanup: () => Promise<void> = async () => undefined;

beforeAll(async () => {
  const t = await tempDir();
  dir = t.dir;
  cleanup = t.cleanup;
  // Large enough that verify and export take well over a second.
  await makeStore(dir, { events: 40_000, batch: 4_000 });
});
afterAll(() => cleanup());

/** Runs the binary on a pty; sends Ctrl-C (a ^C byte into the terminal) once `interruptWhen` shows up in its output. */
function onTerminal(args: readonly string[], interruptWhen?: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qfec', [process.execPath, CLI, ...args].join(' '), '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    let sent = false;
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      output += c;
      if (interruptWhen !== undefined && !sent && output.includes(interruptWhen)) {
        sent = true;
        child.stdin.write('\u0003');
      }
    });
    child.stderr.resume();
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

describe.skipIf(!hasScript)('INV-CLI-EXIT-CODES progress and Ctrl-C on a terminal', () => {
  it('verify draws a progress bar (done/total, rate, ETA) on a terminal and still exits 0', async () => {
    const r = await onTerminal(['verify', dir]);
    expect(r.code).toBe(0);
    expect(r.output).toMatch(/verify \[[#-]+\] [0-9.]+k?\/40k \d+% [0-9.]+k? events\/s ETA \d+:\d\d/);
    expect(r.output).toContain('\u001b[K');
    expect(r.output).toContain('intact: 40000 events');
  });

  it('Ctrl-C during verify aborts cleanly with exit 130; the store is untouched', async () => {
    const r = await onTerminal(['verify', dir], 'events/s');
    expect(r.code).toBe(130);
    expect(r.output).toContain('interrupted: stopping cleanly');
    expect(r.output).toMatch(/batpak verify: ERR_ABORTED /);
    const store = await Store.open({ dir });
    await store.close();
  });

  it('Ctrl-C during export --out leaves only whole lines, exit 130; the export can simply be rerun', async () => {
    const out = join(dir, 'partial.jsonl');
    const r = await onTerminal(['export', dir, '--jsonl', '--out', out], 'events/s');
    expect(r.code).toBe(130);
    expect(r.output).toMatch(/export interrupted after \d+ of 40000 events/);
    const text = await readFile(out, 'utf8');
    expect(text.endsWith('\n')).toBe(true);
    const lines = text.trim().split('\n');
    expect(lines.length).toBeLessThan(40_000);
    for (const l of lines) expect(() => JSON.parse(l)).not.toThrow();
    expect((await runCli(['export', dir, '--jsonl', '--out', out])).code).toBe(0);
    expect((await readFile(out, 'utf8')).trim().split('\n')).toHaveLength(40_000);
  });

  it('compact draws a real progress bar from core\'s onProgress(done, total) and still exits 0', async () => {
    const t = await tempDir();
    try {
      // Several sealed segments, so there is something to merge (the active one is never compacted).
      await makeStore(t.dir, { events: 20_000, batch: 4_000, segmentMaxBytes: 64 * 1024 });
      const r = await onTerminal(['compact', t.dir, '--strategy', 'merge']);
      expect(r.code).toBe(0);
      expect(r.output).toMatch(/compact \[[#-]+\] [0-9.]+k?\/[0-9.]+k \d+% [0-9.]+k? events\/s ETA \d+:\d\d/);
      // The final frame is done = total: every event of the sealed segments was rewritten.
      expect(r.output).toMatch(/compact \[#+\] ([0-9.]+k?)\/\1 100%/);
      expect(r.output).toMatch(/compacted: \d+ → 2 segments/);
      // Piped: the same command draws nothing.
      const piped = await runCli(['compact', t.dir, '--strategy', 'merge']);
      expect(piped.code).toBe(0);
      expect(hasEscapes(piped.stdout + piped.stderr)).toBe(false);
    } finally {
      await t.cleanup();
    }
  });

  it('INV-RUST-READ-VERIFY: import from a Rust directory draws its bar on a terminal and exits 0', async () => {
    const t = await tempDir();
    try {
      const rust = join(t.dir, 'rust');
      await mkdir(rust);
      await copyFile(fileURLToPath(new URL('../../../fixtures/rust-core/store-checkpoint-v5/000001.fbat', import.meta.url)), join(rust, '000001.fbat'));
      const r = await onTerminal(['import', rust, join(t.dir, 'native')]);
      expect(r.code).toBe(0);
      expect(r.output).toMatch(/import \[#+\] 1\/1 100% /);
      expect(r.output).toContain('imported 1 event of 1 entity');
    } finally {
      await t.cleanup();
    }
  });
});
