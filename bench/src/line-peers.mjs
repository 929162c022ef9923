// The network cells' two plain ends: a line client (one request in flight per socket, one write per request) and
// the floor they are measured against, a bare `net` server answering every line with one fixed line.
// Shared by scenario 6, syncbat-cost.mjs and netbat's serve-ab.mjs, so every network figure uses the same peers.
import net from 'node:net';

/** One socket speaking request/response lines: resolves each request with its `OK` line, rejects on any other. */
export class LineClient {
  #socket;
  #buffer = '';
  #waiting = [];

  static async open(port) {
    const c = new LineClient();
    c.#socket = net.connect({ port, host: '127.0.0.1', noDelay: true });
    c.#socket.setEncoding('latin1');
    c.#socket.on('data', (chunk) => c.#onData(chunk));
    c.#socket.on('error', (err) => {
      for (const w of c.#waiting.splice(0)) w.reject(err);
    });
    await new Promise((resolve, reject) => c.#socket.once('connect', resolve).once('error', reject));
    return c;
  }

  #onData(chunk) {
    this.#buffer += chunk;
    let nl;
    while ((nl = this.#buffer.indexOf('\n')) >= 0) {
      const line = this.#buffer.slice(0, nl);
      this.#buffer = this.#buffer.slice(nl + 1);
      const w = this.#waiting.shift();
      if (line.startsWith('OK')) w?.resolve(line);
      else w?.reject(new Error(`server answered ${line.slice(0, 120)}`));
    }
  }

  request(line) {
    return new Promise((resolve, reject) => {
      this.#waiting.push({ resolve, reject });
      this.#socket.write(line);
    });
  }

  close() {
    this.#socket.destroy();
  }
}

/** The floor: a bare `net` server answering every line with one fixed line, one write per response. */
export async function bareLineServer() {
  const server = net.createServer((socket) => {
    socket.setNoDelay(true);
    let buffer = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk) => {
      buffer += chunk;
      let nl;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        buffer = buffer.slice(nl + 1);
        socket.write('OK 00\n');
      }
    });
    socket.on('error', () => undefined);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: server.address().port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
