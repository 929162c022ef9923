// Client-side socket opening (plain TCP or TLS with a caller-chosen trust anchor) and line-level I/O.
// Invariant: every client wait is bounded by a timeout and settles with a NetbatError `io`, never hangs or throws raw errors.

import { isIP, connect as netConnect, type Socket } from 'node:net';
import { checkServerIdentity, connect as tlsConnect, type PeerCertificate } from 'node:tls';
import { NetbatError } from './errors.js';
import { LineReader, type LineRead } from './line-reader.js';

/** Server identity is checked against `ca` (default: Node's bundled roots) and `servername` (default: host). */
export interface ClientTlsOptions {
  /** Trust anchors, PEM. */
  readonly ca?: string | Uint8Array | ReadonlyArray<string | Uint8Array>;
  /** Name the server certificate must carry (SNI and identity check). */
  readonly servername?: string;
  /** Client certificate chain (PEM) and its key, for a server that maps client certificates to principals. */
  readonly cert?: string | Uint8Array;
  readonly key?: string | Uint8Array;
}

export interface ClientTimeouts {
  /** TCP connect plus TLS handshake. Default 10 s. */
  readonly connectMs?: number;
  /** Waiting for a response line (or, in a subscription, for a started line to finish). Default 30 s. */
  readonly responseMs?: number;
}

export interface EndpointOptions {
  readonly host?: string;
  readonly port: number;
  /** `true` = TLS with the default trust store; an object chooses the trust anchor. Absent = plaintext. */
  readonly tls?: boolean | ClientTlsOptions;
  readonly timeouts?: ClientTimeouts;
}

const DEFAULT_CONNECT_MS = 10_000;
const DEFAULT_RESPONSE_MS = 30_000;

export function responseTimeout(options: EndpointOptions): number {
  return options.timeouts?.responseMs ?? DEFAULT_RESPONSE_MS;
}

function toBuffer(value: string | Uint8Array): string | Buffer {
  return typeof value === 'string' ? value : Buffer.from(value);
}

export function openSocket(options: EndpointOptions): Promise<Socket> {
  const host = options.host ?? '127.0.0.1';
  const connectMs = options.timeouts?.connectMs ?? DEFAULT_CONNECT_MS;
  return new Promise((resolve, reject) => {
    let socket: Socket;
    const tls = options.tls;
    if (tls === undefined || tls === false) {
      socket = netConnect({ host, port: options.port });
    } else {
      const opts = tls === true ? {} : tls;
      const ca = opts.ca === undefined ? undefined : Array.isArray(opts.ca) ? opts.ca.map(toBuffer) : toBuffer(opts.ca as string | Uint8Array);
      // SNI carries host names only: an IP there is refused by RFC 6066 and Node warns (DEP0123). For an IP
      // the identity check is done against it explicitly instead (certificate IP SANs).
      const servername = opts.servername ?? host;
      const identity = isIP(servername) === 0 ? { servername } : { checkServerIdentity: (_: string, cert: PeerCertificate) => checkServerIdentity(servername, cert) };
      socket = tlsConnect({
        host,
        port: options.port,
        ...identity,
        ...(ca === undefined ? {} : { ca }),
        ...(opts.cert === undefined ? {} : { cert: toBuffer(opts.cert) }),
        ...(opts.key === undefined ? {} : { key: toBuffer(opts.key) }),
        rejectUnauthorized: true,
      });
    }
    const ready = tls === undefined || tls === false ? 'connect' : 'secureConnect';
    const timer = setTimeout(() => fail(new Error(`connect timed out after ${connectMs} ms`)), connectMs);
    function fail(err: Error): void {
      clearTimeout(timer);
      socket.destroy();
      reject(NetbatError.io(`connect to ${host}:${options.port} failed: ${err.message}`, err));
    }
    socket.once('error', fail);
    socket.once(ready, () => {
      clearTimeout(timer);
      socket.off('error', fail);
      socket.setNoDelay(true);
      resolve(socket);
    });
  });
}

/** A connected socket read line by line; errors after connect are observed by the reader. */
export class LineSocket {
  readonly reader: LineReader;

  constructor(
    readonly socket: Socket,
    maxLineBytes: number,
  ) {
    // A late reset must not become an unhandled 'error' event; the reader reports it as `closed`.
    socket.on('error', () => undefined);
    this.reader = new LineReader(socket, maxLineBytes);
  }

  get usable(): boolean {
    return !this.socket.destroyed && this.socket.writable && this.socket.readable;
  }

  write(bytes: Uint8Array): Promise<void> {
    return new Promise((resolve, reject) => {
      this.socket.write(bytes, (err) => (err ? reject(NetbatError.io(`write failed: ${err.message}`, err)) : resolve()));
    });
  }

  read(responseMs: number, idleMs: number = responseMs, signal?: AbortSignal): Promise<LineRead> {
    return this.reader.read({ idleMs, readMs: responseMs }, signal);
  }

  /** Stops reading lines and hands the socket over (idle connections only: nothing is buffered). */
  detach(): Socket {
    this.reader.dispose();
    return this.socket;
  }

  destroy(): void {
    this.reader.dispose();
    this.socket.destroy();
  }
}
