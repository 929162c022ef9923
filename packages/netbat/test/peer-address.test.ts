// A served socket's peer address is read without caching it on the socket (one hidden class fewer per socket).
import { createServer as createNetServer, connect, type Socket } from 'node:net';
import { expect, it } from 'vitest';
import { peerAddress } from '../src/connection.js';

it('reads the address remoteAddress gives, without leaving `_peername` on the socket', async () => {
  const accepted = new Promise<Socket>((resolve) => {
    const server = createNetServer((socket) => {
      resolve(socket);
      server.close();
    });
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address !== null && typeof address !== 'string') connect(address.port, '127.0.0.1').on('error', () => undefined);
    });
  });
  const socket = await accepted;
  try {
    expect(peerAddress(socket)).toBe('127.0.0.1');
    expect(Object.hasOwn(socket, '_peername')).toBe(false);
    expect(socket.remoteAddress).toBe('127.0.0.1');
    expect(Object.hasOwn(socket, '_peername')).toBe(true);
  } finally {
    socket.destroy();
  }
});

it('gives undefined for a socket without a peer, as remoteAddress does', () => {
  const socket = connect({ port: 1, host: '127.0.0.1' }).on('error', () => undefined);
  socket.destroy();
  expect(peerAddress(socket)).toBe(socket.remoteAddress);
});
