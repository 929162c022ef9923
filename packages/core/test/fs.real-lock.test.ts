// RealFs's lock across processes: a child process runs the real RealFs code (transpiled from source at
// test time), so both sides of every check are the code the store ships, not a replica of its format.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isBatpakError } from '../src/errors.js';
import { RealFs } from '../src/fs/real.js';

const SRC = fileURLToPath(new URL('../src/', import.meta.url));

// Holds or tries the lock named on the command line; talks to the test over stdin/stdout lines.
const CHILD = `
const [realUrl, mode, path] = process.argv.slice(2);
const { RealFs } = await import(realUrl);
const say = (line) => process.stdout.write(line + '\\n');
let lock;
try {
  lock = await new RealFs().lock(path);
  say('acquired ' + process.pid);
} catch (err) {
  say('refused ' + (err.code ?? 'unknown'));
  process.exit(0);
}
if (mode === 'try') { await lock.release(); process.exit(0); }
process.stdin.setEncoding('utf8');
process.stdin.on('data', async (text) => {
  if (text.includes('release')) { await lock.release(); say('released'); process.exit(0); }
});
`;

let work: string;
let childScript: string;
let realUrl: string;
const children: ChildProcess[] = [];

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'batpak-lock-'));
  const build = join(work, 'build');
  for (const rel of ['errors.ts', 'fs/real.ts', 'fs/atomic-write.ts']) {
    const source = await readFile(join(SRC, rel), 'utf8');
    const out = ts.transpileModule(source, {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: true },
    }).outputText;
    const dest = join(build, rel.replace(/\.ts$/, '.js'));
    await mkdir(dirname(dest), { recursive: true });
    await writeFile(dest, out);
  }
  await writeFile(join(build, 'package.json'), '{"type":"module"}');
  childScript = join(work, 'child.mjs');
  await writeFile(childScript, CHILD);
  realUrl = pathToFileURL(join(build, 'fs', 'real.js')).href;
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

interface Child {
  readonly proc: ChildProcess;
  next(): Promise<string>;
  exited: Promise<void>;
}

function runChild(mode: 'hold' | 'try', path: string): Child {
  const proc = spawn(process.execPath, [childScript, realUrl, mode, path], { stdio: ['pipe', 'pipe', 'inherit'] });
  children.push(proc);
  const lines: string[] = [];
  const waiters: ((line: string) => void)[] = [];
  let buffer = '';
  proc.stdout?.setEncoding('utf8');
  proc.stdout?.on('data', (text: string) => {
    buffer += text;
    for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      const w = waiters.shift();
      if (w === undefined) lines.push(line);
      else w(line);
    }
  });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  return {
    proc,
    exited,
    next: () => {
      const line = lines.shift();
      return line !== undefined ? Promise.resolve(line) : new Promise((resolve) => waiters.push(resolve));
    },
  };
}

async function lockError(fs: RealFs, path: string): Promise<unknown> {
  try {
    const l = await fs.lock(path);
    await l.release();
  } catch (err) {
    return err;
  }
  return undefined;
}

async function deadPid(): Promise<number> {
  const proc = spawn(process.execPath, ['-e', '']);
  const pid = proc.pid;
  await new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  if (pid === undefined) throw new Error('no pid for the child');
  return pid;
}

describe('INV-WRITER-LOCK: RealFs lock across processes', () => {
  let n = 0;
  const lockPath = (): string => join(work, `lock-${++n}`);

  it('lock-excludes-second-process: a live child holder refuses the parent, then hands over', async () => {
    const path = lockPath();
    const holder = runChild('hold', path);
    expect(await holder.next()).toBe(`acquired ${holder.proc.pid}`);
    const err = await lockError(new RealFs(), path);
    expect(isBatpakError(err, 'ERR_STORE_LOCKED')).toBe(true);
    expect(String((err as Error).message)).toContain(`pid ${holder.proc.pid}`);
    holder.proc.stdin?.write('release\n');
    expect(await holder.next()).toBe('released');
    const lock = await new RealFs().lock(path);
    await lock.release();
  });

  it('lock-excludes-second-process: the parent holder refuses a child', async () => {
    const path = lockPath();
    const lock = await new RealFs().lock(path);
    const contender = runChild('try', path);
    expect(await contender.next()).toBe('refused ERR_STORE_LOCKED');
    await lock.release();
    const after = runChild('try', path);
    expect(await after.next()).toMatch(/^acquired /);
  });

  it('lock of a killed holder is taken over', async () => {
    const path = lockPath();
    const holder = runChild('hold', path);
    expect(await holder.next()).toMatch(/^acquired /);
    holder.proc.kill('SIGKILL');
    await holder.exited;
    const lock = await new RealFs().lock(path);
    expect(JSON.parse(await readFile(path, 'utf8'))).toMatchObject({ pid: process.pid, host: hostname() });
    await lock.release();
  });

  it('stale lock of a dead pid is taken over', async () => {
    const path = lockPath();
    await writeFile(path, JSON.stringify({ pid: await deadPid(), start: '1', host: hostname() }));
    const lock = await new RealFs().lock(path);
    expect(JSON.parse(await readFile(path, 'utf8'))).toMatchObject({ pid: process.pid });
    await lock.release();
  });

  it.runIf(process.platform === 'linux')('a live pid with another start time (pid reuse) is stale', async () => {
    const path = lockPath();
    const holder = runChild('hold', path);
    expect(await holder.next()).toMatch(/^acquired /);
    holder.proc.kill('SIGKILL');
    await holder.exited;
    // Our own live pid, but a start time that is not ours: a previous process that had this pid.
    await writeFile(path, JSON.stringify({ pid: process.pid, start: 'not-my-start', host: hostname() }));
    const lock = await new RealFs().lock(path);
    await lock.release();
  });

  it('a holder on another host is never presumed dead', async () => {
    const path = lockPath();
    await writeFile(path, JSON.stringify({ pid: await deadPid(), start: '1', host: `not-${hostname()}` }));
    expect(isBatpakError(await lockError(new RealFs(), path), 'ERR_STORE_LOCKED')).toBe(true);
  });

  it('an unreadable lock file is busy while fresh and debris once old', async () => {
    const path = lockPath();
    await writeFile(path, '');
    expect(isBatpakError(await lockError(new RealFs(), path), 'ERR_STORE_LOCKED')).toBe(true);
    const old = new Date(Date.now() - 60_000);
    await utimes(path, old, old);
    const lock = await new RealFs().lock(path);
    await lock.release();
  });
});
