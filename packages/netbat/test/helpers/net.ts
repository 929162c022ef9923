// Raw loopback helpers: talk to a server byte for byte, without the netbat client.
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface Golden {
  readonly name: string;
  readonly hex: string;
  readonly text: string;
}

export function loadGoldens(): Golden[] {
  const path = fileURLToPath(new URL('../../../../fixtures/netbat/netbat-goldens.json', import.meta.url));
  return JSON.parse(readFileSync(path, 'utf8')) as Golden[];
}

export const text = (s: string): Uint8Array => new TextEncoder().encode(s);
export const str = (b: Uint8Array): string => new TextDecoder().decode(b);

/** Connects, writes `bytes`, half-closes, and returns everything the server sent before closing. */
export function exchange(
  port: number,
  bytes: Uint8Array,
  opts: { halfClose?: boolean; tls?: { ca: string } } = {},
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket: Socket =
      opts.tls === undefined
        ? netConnect({ port, host: '127.0.0.1' })
        : tlsConnect({ port, host: '127.0.0.1', ca: opts.tls.ca, servername: 'localhost' });
    const chunks: Buffer[] = [];
    socket.on(opts.tls === undefined ? 'connect' : 'secureConnect', () => {
      socket.write(bytes);
      if (opts.halfClose ?? true) socket.end();
    });
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', (err) => {
      // A reset after the server answered still leaves a complete answer.
      if (chunks.length > 0) resolve(Buffer.concat(chunks));
      else reject(err);
    });
    socket.on('close', () => resolve(Buffer.concat(chunks)));
  });
}

/** Opens a plain socket and resolves once connected. */
export function openRaw(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = netConnect({ port, host: '127.0.0.1' });
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
  });
}

export function waitForClose(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    if (socket.closed) resolve();
    else socket.once('close', () => resolve());
  });
}

/** Polls `condition` until it holds; bounded, so a broken guarantee fails instead of hanging. */
export async function eventually(condition: () => boolean, what: string, tries = 400): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (condition()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`never happened: ${what}`);
}

/** Open descriptors of this process (Linux). */
export function openFds(): number {
  return readdirSync('/proc/self/fd').length;
}
