// Lifecycle of one accepted socket: wait (paused) for a permit, TLS handshake, serve requests or one subscription, close.
// Invariant: the permit is released exactly once on every exit path, and only after the socket has closed.

import type { Socket } from 'node:net';
import { TLSSocket, type SecureContext } from 'node:tls';
import { decodeAuthLine } from './auth-line.js';
import type { Authority, Identity } from './auth.js';
import type { ClientTally } from './client-limits.js';
import type { Dispatcher } from './dispatcher.js';
import { NetbatError } from './errors.js';
import { encodeErrResponse, encodeOkResponse } from './frame.js';
import type { Limits } from './limits.js';
import { LineReader } from './line-reader.js';
import type { Permit, PermitPool } from './permit-pool.js';
import type { IdleReclaimer } from './reclaim.js';
import { isSubscribeLine, RequestLoop } from './request-loop.js';
import { closeGracefully, writeOrWait, type WriteOutcome } from './socket-io.js';
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
  /** `shutdown.aborted` as a plain field, set just before it (see RequestLoopContext.stopping). */
  readonly stopping: { readonly aborted: boolean };
  /** Present when `auth` is configured: every connection then has an identity and every request is checked. */
  readonly authority: Authority | undefined;
  /** Whether the TLS handshake asks for a client certificate (`tls.clientCa`). */
  readonly requestClientCertificate: boolean;
  /** Whether a client without a verified certificate fails the handshake (`tls.rejectUnauthorized`). */
  readonly requireClientCertificate: boolean;
  readonly reclaimer: IdleReclaimer;
  readonly clients: ClientTally;
  readonly maxConnectionsPerClient: number;
}

/** What a connection's finally needs to know about how it ended. */
export interface Slot {
  /** Closed by the idle reclaimer to hand its permit to a waiting client. */
  reclaimed: boolean;
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

  // One address may hold only so many connections, served or waiting: a flood from one host is refused at once.
  const releaseAddress = ctx.clients.admit(`address:${peerAddress(raw) ?? '?'}`);
  if (releaseAddress === undefined) {
    ctx.stats.bump('refusedConnections');
    raw.destroy();
    return;
  }
  let permit: Permit;
  try {
    // The socket stays paused (pauseOnConnect) while it waits: back-pressure, not refusal.
    permit = await ctx.pool.acquire(ctx.shutdown);
  } catch {
    raw.destroy();
    releaseAddress();
    return;
  }
  let socket: Socket = raw;
  const slot: Slot = { reclaimed: false };
  const held: Array<() => void> = [releaseAddress];
  try {
    raw.setNoDelay(true);
    let identity = ctx.authority?.anonymous();
    if (ctx.secureContext !== undefined) {
      const secure = await handshake(ctx, raw, ctx.secureContext);
      if (secure === undefined) return;
      secure.on('error', onIoError);
      socket = secure;
      const cert = ctx.authority === undefined ? undefined : secure.getPeerX509Certificate();
      if (cert !== undefined) identity = ctx.authority!.fromCertificate(cert);
    }
    if (identity?.authenticated === true && !(await admitPrincipal(ctx, socket, identity, held))) return;
    await serve(ctx, socket, slot, identity, held);
  } catch {
    // Only a netbat bug gets here; contain it to this connection like a handler fault.
    ctx.stats.bump('handlerFaults');
  } finally {
    await closeGracefully(socket, ctx.timeouts.writeMs);
    if (socket !== raw) raw.destroy();
    for (const release of held) release();
    permit.release();
    if (slot.reclaimed) ctx.reclaimer.settled();
  }
}

/**
 * The peer's IP address, read from the handle as `socket.remoteAddress` reads it, but not cached on the socket:
 * `remoteAddress` stores `_peername` on the socket, which gives every served socket one more hidden class, and with
 * the sockets of a client in the same process that was enough to turn Node's own socket code megamorphic (+1.5k
 * instructions per request, callgrind). Falls back to `remoteAddress` where the handle has no `getpeername`.
 */
export function peerAddress(socket: Socket): string | undefined {
  const handle = (socket as unknown as { _handle?: { getpeername?: (out: { address?: string }) => number } })._handle;
  if (typeof handle?.getpeername !== 'function') return socket.remoteAddress;
  const out: { address?: string } = {};
  return handle.getpeername(out) === 0 ? out.address : undefined;
}

/** Counts the connection against its principal's cap; over it, answers `too_many_connections` and says no. */
async function admitPrincipal(ctx: ConnectionContext, socket: Socket, identity: Identity, held: Array<() => void>): Promise<boolean> {
  const release = ctx.clients.admit(`principal:${identity.principal}`);
  if (release !== undefined) {
    held.push(release);
    return true;
  }
  ctx.stats.bump('refusedConnections');
  await write(ctx, socket, encodeErrResponse(NetbatError.tooManyConnections(ctx.maxConnectionsPerClient)));
  return false;
}

/**
 * Runs the TLS server handshake on an already-permitted socket, so a hostile handshake holds one
 * slot at most. Failure, timeout, or a peer that leaves first is counted and yields `undefined`.
 */
function handshake(ctx: ConnectionContext, raw: Socket, secureContext: SecureContext): Promise<TLSSocket | undefined> {
  return new Promise((resolve) => {
    // With a client CA the server asks for a certificate but lets a client without one through (it is then
    // anonymous) unless `tls.rejectUnauthorized`; a certificate that does not verify fails the handshake below.
    const secure = new TLSSocket(raw, { isServer: true, secureContext, requestCert: ctx.requestClientCertificate, rejectUnauthorized: false });
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
    const onSecure = (): void => {
      const presented = ctx.requestClientCertificate && Object.keys(secure.getPeerCertificate()).length > 0;
      finish(presented ? clientCertificateVerified(secure) : !ctx.requireClientCertificate);
    };
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

/**
 * Whether the presented client certificate chains to `tls.clientCa`. A TLSSocket made outside a tls.Server
 * never sets `authorized`, so this asks the handle for its verification result as tls.Server does; when that
 * is unavailable the certificate counts as unverified (fail closed).
 */
function clientCertificateVerified(secure: TLSSocket): boolean {
  const handle = (secure as unknown as { _handle?: { verifyError?: () => unknown } })._handle;
  if (typeof handle?.verifyError !== 'function') return false;
  return handle.verifyError() === null;
}

async function serve(ctx: ConnectionContext, socket: Socket, slot: Slot, first: Identity | undefined, held: Array<() => void>): Promise<void> {
  const gone = new AbortController();
  const onClose = (): void => gone.abort();
  socket.once('close', onClose);
  const stopReading = AbortSignal.any([ctx.shutdown, gone.signal]);
  const reader = new LineReader(socket, ctx.limits.maxLineBytes, stopReading);
  const requests = new RequestLoop(ctx, socket, reader, gone.signal, first, () => {
    slot.reclaimed = true;
    ctx.stats.bump('reclaimedConnections');
  });
  try {
    for (;;) {
      // CALL lines are served by the loop; it hands back whatever else arrives, and the connection ends or goes on here.
      const read = await requests.run();
      if (read === 'done' || read.kind === 'eof' || read.kind === 'closed') return;
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
        await serveSubscription(ctx, socket, reader, read.line, ctx.shutdown, slot, requests.identity);
        return;
      }
      // An AUTH line (the loop hands one back only when auth is configured); it is not a request.
      const outcome = authenticate(ctx, read.line, requests.served === 0 && requests.identity?.authenticated !== true);
      if (outcome instanceof NetbatError) {
        ctx.stats.bump('unauthorized');
        await write(ctx, socket, encodeErrResponse(outcome));
        return;
      }
      requests.identity = outcome;
      if (!(await admitPrincipal(ctx, socket, outcome, held))) return;
      if (!(await write(ctx, socket, encodeOkResponse(new TextEncoder().encode(outcome.principal))))) return;
    }
  } finally {
    socket.off('close', onClose);
    reader.dispose();
  }
}

/** The identity an AUTH line proves, or the error to answer before closing. Only the first line may authenticate. */
function authenticate(ctx: ConnectionContext, line: Uint8Array, first: boolean): Identity | NetbatError {
  if (!first) return NetbatError.unauthorized('AUTH must be the first line of an unauthenticated connection');
  if (!ctx.authority!.acceptsTokens) return NetbatError.unauthorized('token authentication is not configured');
  let token: Uint8Array;
  try {
    token = decodeAuthLine(line);
  } catch (err) {
    return err as NetbatError;
  }
  return ctx.authority!.fromToken(token) ?? NetbatError.unauthorized('invalid token');
}

/** Whether the response went out; a promise only when the socket's buffer was full (no promise per response). */
function write(ctx: ConnectionContext, socket: Socket, bytes: Uint8Array): boolean | Promise<boolean> {
  const now = writeOrWait(socket, bytes, ctx.timeouts.writeMs);
  return typeof now === 'string' ? written(ctx, socket, now) : now.then((outcome) => written(ctx, socket, outcome));
}

function written(ctx: ConnectionContext, socket: Socket, outcome: WriteOutcome): boolean {
  if (outcome === 'timeout') {
    ctx.stats.bump('timeouts');
    socket.destroy();
  }
  return outcome === 'written';
}
