// On a real terminal (a pty from util-linux `script`): the progress bar draws done/total, rate and ETA, and Ctrl-C aborts
// through the AbortSignal — exit 130, store closed and consistent, complete output lines only (INV-CLI-EXIT-CODES).
import { spawn, spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Store } from '@batpak/core';
import { CLI, runCli } from './helpers/cli.js';
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
});
