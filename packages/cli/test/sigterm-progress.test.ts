// SIGTERM (kill, systemd, a container stop) stops a long command like Ctrl-C: `verify --json` still prints its one
// JSON object and exits 130 (INV-CLI-EXIT-CODES). The progress bar needs only stderr to be a terminal.
// Guards: stdout of an interrupted --json run parses as exactly one object; a redirected stdout gets no escape code.
import { spawn, spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Store } from '@batpak/core';
import { CLI, hasEscapes } from './helpers/cli.js';
import { makeStore, tempDir } from './helpers/store.js';

const hasScript = spawnSync('script', ['--version']).status === 0;
let dir = '';
let cleanup: () => Promise<void> = async () => undefined;

beforeAll(async () => {
  const t = await tempDir();
  dir = t.dir;
  cleanup = t.cleanup;
  // Large enough that verify is still walking well after the signal (at ~300k events/s, ~0.7 s; 40k events once
  // took over a second, and a faster verify then finished before the signal and exited 0).
  await makeStore(dir, { events: 200_000, batch: 4_000 });
});
afterAll(() => cleanup());

// Preloaded into the CLI: says on stderr when a SIGTERM handler is installed, so the test signals a command
// that is running (not one still loading, which the default action would kill with 143).
const WATCH = `process.on('newListener', (e) => { if (e === 'SIGTERM') setImmediate(() => process.stderr.write('[sigterm-handler]\\n')); });`;

function verifyThenSigterm(): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', `data:text/javascript,${encodeURIComponent(WATCH)}`, CLI, 'verify', dir, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let sent = false;
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => {
      stderr += c;
      if (!sent && stderr.includes('[sigterm-handler]')) {
        sent = true;
        // Let it get into the chain walk first (open takes tens of milliseconds).
        setTimeout(() => child.kill('SIGTERM'), 100);
      }
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

describe('INV-CLI-EXIT-CODES SIGTERM during verify --json', () => {
  it('prints exactly one JSON object (result "error", ERR_ABORTED), exits 130, and leaves the store untouched', async () => {
    const r = await verifyThenSigterm();
    expect(r.signal, r.stderr).toBeNull();
    expect(r.code, r.stderr).toBe(130);
    expect(r.stderr).toContain('interrupted: stopping cleanly (SIGTERM again to exit at once)');
    const lines = r.stdout.split('\n').filter((l) => l !== '');
    expect(lines).toHaveLength(1);
    const report = JSON.parse(lines[0]!) as { command: string; result: string; exitCode: number; error: { code: string } };
    expect(report).toMatchObject({ command: 'verify', result: 'error', exitCode: 130, error: { code: 'ERR_ABORTED' } });
    const store = await Store.open({ dir });
    await store.close();
  });
});

describe.skipIf(!hasScript)('progress bar when only stderr is a terminal', () => {
  it('snapshot with stdout redirected to a file draws its bar on the terminal; the file holds no escape code', async () => {
    const t = await tempDir();
    try {
      const out = join(t.dir, 'out.txt');
      const dest = join(t.dir, 'copy');
      const r = await new Promise<{ code: number | null; output: string }>((resolve, reject) => {
        const child = spawn('script', ['-qfec', `${process.execPath} ${CLI} snapshot ${dir} ${dest} > ${out}`, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
        let output = '';
        child.stdout.setEncoding('utf8').on('data', (c: string) => (output += c));
        child.stderr.resume();
        child.on('error', reject);
        child.on('close', (code) => resolve({ code, output }));
      });
      expect(r.code).toBe(0);
      expect(r.output).toMatch(/snapshot \[[#-]+\] /);
      const text = await readFile(out, 'utf8');
      expect(text).toMatch(/^snapshot: 200000 events/);
      expect(hasEscapes(text)).toBe(false);
    } finally {
      await t.cleanup();
    }
  });
});
