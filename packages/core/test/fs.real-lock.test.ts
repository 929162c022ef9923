// RealFs's lock across processes: a child process runs the real RealFs code (transpiled from source at
// test time), so both sides of every check are the code the store ships, not a replica of its format.

import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
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
const [realUrl, mode, path, startAt] = process.argv.slice(2);
const { RealFs } = await import(realUrl);
const say = (line) => process.stdout.write(line + '\\n');
// Racing children start together: spin until the agreed instant.
if (startAt !== undefined) while (Date.now() < Number(startAt)) {}
if (mode === 'cycle') {
  for (let i = 0; i < 300; i++) await (await new RealFs().lock(path)).release();
  say('cycled');
  process.exit(0);
}
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
  for (const rel of ['errors.ts', 'fs/real.ts', 'fs/real-file.ts', 'fs/real-lock.ts', 'fs/atomic-write.ts']) {
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

function runChild(mode: 'hold' | 'try' | 'cycle', path: string, startAt?: number): Child {
  const proc = spawn(process.execPath, [childScript, realUrl, mode, path, ...(startAt === undefined ? [] : [String(startAt)])], { stdio: ['pipe', 'pipe', 'inherit'] });
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

  /**
   * Several processes race for one stale lock (a dead holder's, or an empty one an older version left):
   * by construction exactly one wins each round (INV-WRITER-LOCK). The old takeover compared the file to
   * its stale text, "" — which a lock created a moment earlier also matched — and could let two in.
   */
  it('lock-takeover-race: children racing for a stale lock — exactly one wins each round', async () => {
    const dead = await deadPid();
    for (let round = 0; round < 4; round++) {
      const path = lockPath();
      if (round % 2 === 0) {
        await writeFile(path, '');
        const old = new Date(Date.now() - 60_000);
        await utimes(path, old, old);
      } else {
        await writeFile(path, JSON.stringify({ pid: dead, start: '1', host: hostname() }));
      }
      const startAt = Date.now() + 700;
      const racers = Array.from({ length: 4 }, () => runChild('hold', path, startAt));
      const outcomes = await Promise.all(racers.map((r) => r.next()));
      const winners = outcomes.filter((o) => o.startsWith('acquired'));
      expect(winners, `round ${round}: ${outcomes.join(', ')}`).toHaveLength(1);
      expect(outcomes.filter((o) => o === 'refused ERR_STORE_LOCKED')).toHaveLength(3);
      const winner = racers[outcomes.findIndex((o) => o.startsWith('acquired'))]!;
      expect(JSON.parse(await readFile(path, 'utf8'))).toMatchObject({ pid: winner.proc.pid });
      winner.proc.stdin?.write('release\n');
      expect(await winner.next()).toBe('released');
      await Promise.all(racers.map((r) => r.exited));
    }
  }, 120_000);

  /**
   * The root of the "" race: a lock file must never be observable without its holder's identity, or a
   * contender comparing it to a stale empty text takes it for the stale one. The old code created the
   * file, then wrote it (an observer saw it empty thousands of times in 300 acquisitions); now it appears whole.
   */
  it('lock-appears-whole: an observer never sees a lock file without its holder identity', async () => {
    const path = lockPath();
    const cycler = runChild('cycle', path);
    let finished = false;
    void cycler.exited.then(() => (finished = true));
    let seen = 0;
    const partial: string[] = [];
    while (!finished) {
      try {
        const text = readFileSync(path, 'utf8');
        seen++;
        if (!/"pid":\d+/.test(text)) partial.push(JSON.stringify(text));
      } catch {
        // not held at this instant
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(await cycler.next()).toBe('cycled');
    expect(seen).toBeGreaterThan(0);
    expect(partial.slice(0, 3)).toEqual([]);
  }, 60_000);

  it('takeover claims: a live claimant of the same stale lock blocks, a dead one is passed over and cleaned up', async () => {
    const path = lockPath();
    const stale = JSON.stringify({ pid: await deadPid(), start: '1', host: hostname() });
    await writeFile(path, stale);
    const claim = (k: number) => `${path}.takeover-${createHash('sha256').update(stale).digest('hex').slice(0, 16)}-${k}`;
    await writeFile(claim(0), JSON.stringify({ pid: process.pid, start: '', host: hostname() }));
    expect(isBatpakError(await lockError(new RealFs(), path), 'ERR_STORE_LOCKED')).toBe(true);
    expect(await readFile(path, 'utf8')).toBe(stale);
    await writeFile(claim(0), JSON.stringify({ pid: await deadPid(), start: '1', host: hostname() }));
    const lock = await new RealFs().lock(path);
    expect(JSON.parse(await readFile(path, 'utf8'))).toMatchObject({ pid: process.pid });
    await expect(readFile(claim(0))).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(readFile(claim(1))).rejects.toMatchObject({ code: 'ENOENT' });
    await lock.release();
    await expect(readFile(path)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('a lock file that is a FIFO is refused without blocking', async () => {
    if (process.platform !== 'linux') return;
    const path = lockPath();
    const { execFileSync } = await import('node:child_process');
    execFileSync('mkfifo', [path]);
    await expect(new RealFs().lock(path)).rejects.toMatchObject({ code: 'ENOTREG' });
  });
});
