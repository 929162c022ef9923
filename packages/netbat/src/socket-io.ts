// Writes and shutdown for one served socket, each bounded by the write deadline.
// Invariant: no await here can outlive `writeMs`: a peer that stops reading is destroyed, not waited on.

import type { Socket } from 'node:net';

export type WriteOutcome = 'written' | 'timeout' | 'closed';

/** Writes `bytes`; if the kernel buffer is full, waits for `drain` at most `writeMs`. */
export function writeBounded(socket: Socket, bytes: Uint8Array, writeMs: number): Promise<WriteOutcome> {
  const now = writeOrWait(socket, bytes, writeMs);
  return typeof now === 'string' ? Promise.resolve(now) : now;
}

/** As writeBounded, but the usual outcome (the kernel took the bytes) comes back at once, not as a promise. */
export function writeOrWait(socket: Socket, bytes: Uint8Array, writeMs: number): WriteOutcome | Promise<WriteOutcome> {
  if (socket.destroyed || !socket.writable) return 'closed';
  if (socket.write(bytes)) return 'written';
  return new Promise((resolve) => {
    const done = (outcome: WriteOutcome): void => {
      clearTimeout(timer);
      socket.off('drain', onDrain);
      socket.off('close', onClose);
      resolve(outcome);
    };
    const onDrain = (): void => done('written');
    const onClose = (): void => done('closed');
    const timer = setTimeout(() => done('timeout'), Math.min(writeMs, 2_147_483_647));
    socket.on('drain', onDrain);
    socket.on('close', onClose);
  });
}

/**
 * Sends FIN after pending writes and waits for the socket to close; destroys it if the peer does
 * not finish within `graceMs`. Resolves once the descriptor is released.
 */
export function closeGracefully(socket: Socket, graceMs: number): Promise<void> {
  if (socket.closed) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => socket.destroy(), Math.min(graceMs, 2_147_483_647));
    socket.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    if (socket.destroyed) return;
    // Whatever the peer still sends is of no interest; reading it lets its FIN arrive.
    socket.resume();
    socket.end();
  });
}
