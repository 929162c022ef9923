// Runs the real built binary (`node packages/cli/dist/cli.js …`) as a child process with piped stdio, as cron or CI would.
// Invariant: nothing here imports CLI code; the tests see only exit codes and bytes.

import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function runCli(args: readonly string[], options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...options.env } });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

export type CliChild = ChildProcessByStdio<null, Readable, Readable>;

/** Starts a long-running command; `line()` resolves with the next stdout line. */
export function startCli(args: readonly string[]): { child: CliChild; line(): Promise<string>; stdout(): string; stderr(): string; exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }> } {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  let consumed = 0;
  const waiters: Array<() => void> = [];
  child.stdout.setEncoding('utf8').on('data', (c: string) => {
    out += c;
    for (const w of waiters.splice(0)) w();
  });
  child.stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => {
    for (const w of waiters.splice(0)) w();
    resolve({ code, signal });
  }));
  let closed = false;
  void exited.then(() => (closed = true));
  return {
    child,
    exited,
    stdout: () => out,
    stderr: () => err,
    async line() {
      for (;;) {
        const nl = out.indexOf('\n', consumed);
        if (nl !== -1) {
          const l = out.slice(consumed, nl);
          consumed = nl + 1;
          return l;
        }
        if (closed) throw new Error(`process exited before printing a line; stderr: ${err}`);
        await new Promise<void>((r) => waiters.push(r));
      }
    },
  };
}

/** True when `text` holds an ANSI escape (a progress bar redraw or a colour). */
export function hasEscapes(text: string): boolean {
  return text.includes('\u001b') || text.includes('\r');
}
