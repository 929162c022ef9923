// Lifecycle of one accepted socket: wait (paused) for a permit, TLS handshake, serve requests or one subscription, close.
// Invariant: the permit is released exactly once on every exit path, and only after the socket has closed.

import type { Socket } from 'node:net';
import { TLSSocket, type SecureContext } from 'node:tls';
import type { Dispatcher } from './dispatcher.js';
import { NetbatError } from './errors.js';
import { encodeErrResponse } from './frame.js';
import type { Limits } from './limits.js';
import { LineReader } from './line-reader.js';
import { startsWithAscii } from './line.js';
import type { Permit, PermitPool } from './permit-pool.js';
import { answerRequest } from './request-handler.js';
import { closeGracefully, writeBounded } from './socket-io.js';
import type { StatsCounters } from './stats.js';
import { serveSubscription, type SubscriptionServing } from './subscription-session.js';
import type { Timeouts } from './timeouts.js';

export interface ConnectionContext {
  readonly dispatcher: Dispatcher;
  readonly limits: Limits;
  readonly timeouts: Timeouts;
  readonly stats: StatsCounters;
  readonly pool: PermitPool;
  readonly subscriptions: SubscriptionServing;
  readonly secureContext: SecureContext | undefined;
  readonly maxRequestsPerConnection: number;
  /** Aborted by `server.close()`. */
  readonly shutdown: AbortSignal;
}

/** A SUBSCRIBE line switches the connection to a subscription session (one per connection). */
function isSubscribeLine(line: Uint8Array): boolean {
  return startsWithAscii(line, 'NETBAT/2 SUBSCRIBE') && (line.length === 18 || line[18] === 0x20 || line[18] === 0x0a || line[18] === 0x0d);
}

export async function handleConnection(ctx: ConnectionContext, raw: Socket): Promise<void> {
  let ioFailed = false;
  const onIoError = (): void => {
    if (ioFailed) return;
    ioFailed = true;
    ctx.stats.bump('connectionIoFailures');
  };
  raw.on('error', onIoError);
  ctx.stats.bump('acceptedConnections');

  let permit: Permit;
  try {
    // The socket stays paused (pauseOnConnect) while it waits: back-pressure, not refusal.
    permit = await ctx.pool.acquire(ctx.shutdown);
  } catch {
    raw.destroy();
    return;
  }
  let socket: Socket = raw;
  try {
    raw.setNoDelay(true);
    if (ctx.secureContext !== undefined) {
      const secure = await handshake(ctx, raw, ctx.secureContext);
      if (secure === undefined) return;
      secure.on('error', onIoError);
      socket = secure;
    }
    await serve(ctx, socket);
  } catch {
    // Only a netbat bug gets here; contain it to this connection like a handler fault.
    ctx.stats.bump('handlerFaults');
  } finally {
    await closeGracefully(socket, ctx.timeouts.writeMs);
    if (socket !== raw) raw.destroy();
    permit.release();
  }
}

/**
 * Runs the TLS server handshake on an already-permitted socket, so a hostile handshake holds one
 * slot at most. Failure, timeout, or a peer that leaves first is counted and yields `undefined`.
 */
function handshake(ctx: ConnectionContext, raw: Socket, secureContext: SecureContext): Promise<TLSSocket | undefined> {
  return new Promise((resolve) => {
    const secure = new TLSSocket(raw, { isServer: true, secureContext, requestCert: false });
    let settled = false;
    const finish = (ok: boolean, timedOut = false): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      secure.off('secure', onSecure);
      secure.off('error', onFail);
      secure.off('close', onFail);
      secure.off('end', onFail);
      if (ok) {
        resolve(secure);
        return;
      }
      ctx.stats.bump('tlsHandshakeFailures');
      if (timedOut) ctx.stats.bump('timeouts');
      secure.on('error', () => undefined); // late alerts on a dying socket are expected noise
      secure.destroy();
      resolve(undefined);
    };
    const onSecure = (): void => finish(true);
    const onFail = (): void => finish(false);
    const timer = setTimeout(() => finish(false, true), Math.min(ctx.timeouts.readMs, 2_147_483_647));
    secure.once('secure', onSecure);
    secure.once('error', onFail);
    secure.once('close', onFail);
    // The listener is half-open capable, so a peer that leaves mid-handshake shows up as 'end', not 'close'.
    secure.once('end', onFail);
    raw.resume();
  });
}

async function serve(ctx: ConnectionContext, socket: Socket): Promise<void> {
  const reader = new LineReader(socket, ctx.limits.maxLineBytes);
  const gone = new AbortController();
  const onClose = (): void => gone.abort();
  socket.once('close', onClose);
  const stopReading = AbortSignal.any([ctx.shutdown, gone.signal]);
  try {
    for (let served = 0; served < ctx.maxRequestsPerConnection && !ctx.shutdown.aborted; served++) {
      const read = await reader.read({ idleMs: ctx.timeouts.idleMs, readMs: ctx.timeouts.readMs }, stopReading);
      if (read.kind === 'eof' || read.kind === 'closed') return;
      if (read.kind === 'timeout') {
        ctx.stats.bump('timeouts');
        socket.destroy();
        return;
      }
      if (read.kind === 'unterminated') {
        // The peer sent FIN mid-line: whatever it was, it is not a complete request and is never executed.
        ctx.stats.bump('failedRequests');
        await write(ctx, socket, encodeErrResponse(NetbatError.malformedRequest('line ended without a newline')));
        return;
      }
      if (read.kind === 'too_long') {
        // The rest of the over-long line is still on the wire with no frame boundary: answer, then close.
        ctx.stats.bump('failedRequests');
        await write(ctx, socket, encodeErrResponse(NetbatError.lineTooLong(ctx.limits.maxLineBytes)));
        return;
      }
      if (isSubscribeLine(read.line)) {
        await serveSubscription(ctx, socket, reader, read.line, ctx.shutdown);
        return;
      }
      const response = await answerRequest(ctx, read.line, gone.signal);
      if (!(await write(ctx, socket, response))) return;
    }
  } finally {
    socket.off('close', onClose);
    reader.dispose();
  }
}

async function write(ctx: ConnectionContext, socket: Socket, bytes: Uint8Array): Promise<boolean> {
  const outcome = await writeBounded(socket, bytes, ctx.timeouts.writeMs);
  if (outcome === 'timeout') {
    ctx.stats.bump('timeouts');
    socket.destroy();
  }
  return outcome === 'written';
}
