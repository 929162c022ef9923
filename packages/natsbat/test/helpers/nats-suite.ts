// One throwaway nats-server per JetStream test file and the connections its tests open: started before the
// file's tests, every connection closed and the server stopped after them. `until` polls for a live condition.

import { connect, type NatsConnection } from '@nats-io/transport-node';
import { startNatsServer, type NatsServer } from './nats-server.js';

export interface NatsSuite {
  /** Starts the server (call in beforeAll). */
  start(bin: string): Promise<void>;
  /** Closes every connection opened through `connect`, then stops the server (call in afterAll). */
  stop(): Promise<void>;
  /** A new client connection, closed by `stop`. */
  connect(): Promise<NatsConnection>;
  readonly url: string;
}

export function natsSuite(): NatsSuite {
  let server: NatsServer | undefined;
  const connections: NatsConnection[] = [];
  return {
    async start(bin) {
      server = await startNatsServer(bin);
    },
    async stop() {
      for (const nc of connections) await nc.close().catch(() => undefined);
      await server?.stop();
    },
    async connect() {
      const nc = await connect({ servers: this.url });
      connections.push(nc);
      return nc;
    },
    get url() {
      if (server === undefined) throw new Error('the nats-server of this suite is not started');
      return server.url;
    },
  };
}

/** Waits (polling every 10 ms) until `pred` holds; fails naming `what` after `ms`. */
export async function until(pred: () => boolean, what: string, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
