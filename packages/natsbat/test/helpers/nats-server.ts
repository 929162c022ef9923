// A throwaway nats-server for the JetStream tests: 127.0.0.1, a free port (-p -1), JetStream in a temp
// directory; the port is read from the server's log. Stopped and removed after the suite.

import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

/** Debian installs nats-server in /usr/sbin, which is not on every user's PATH. */
export function findNatsServer(): string | undefined {
  const candidates = [process.env.NATS_SERVER_BIN, ...(process.env.PATH ?? '').split(delimiter).map((d) => join(d, 'nats-server')), '/usr/sbin/nats-server', '/usr/local/bin/nats-server'];
  for (const c of candidates) {
    if (c === undefined || c === '' || c === 'nats-server') continue;
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      // not here; try the next place
    }
  }
  return undefined;
}

export interface NatsServer {
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
}

const LISTENING = /Listening for client connections on 127\.0\.0\.1:(\d+)/;
const READY = /Server is ready/;

export async function startNatsServer(bin: string): Promise<NatsServer> {
  const dir = await mkdtemp(join(tmpdir(), 'natsbat-js-'));
  const child: ChildProcess = spawn(bin, ['-a', '127.0.0.1', '-p', '-1', '-js', '-sd', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  const port = await new Promise<number>((resolve, reject) => {
    let found: number | undefined;
    const timer = setTimeout(() => reject(new Error(`nats-server did not start within 10 s:\n${log}`)), 10_000);
    const onData = (chunk: Buffer) => {
      log += chunk.toString('utf8');
      found ??= Number(LISTENING.exec(log)?.[1] ?? NaN) || undefined;
      if (found !== undefined && READY.test(log)) {
        clearTimeout(timer);
        resolve(found);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`nats-server exited with ${code}:\n${log}`));
    });
  });
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
