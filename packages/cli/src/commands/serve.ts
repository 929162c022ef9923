// `batpak serve <dir>`: serves a store over NETBAT with the reference terminals and event subscriptions until SIGTERM.
// Invariant: SIGTERM drains requests and subscriptions, then closes the store (exit 0, lock released); anonymous clients get only system.heartbeat by default.

import { readFile } from 'node:fs/promises';
import type { EventKind, Store } from '@batpak/core';
import {
  DEFAULT_LIMITS,
  DEFAULT_MAX_CONNECTIONS,
  createServer,
  createTerminalCore,
  createTerminalSubscriptions,
  type NetbatServer,
  type TlsServerOptions,
} from '@batpak/netbat';
import { dirArgument, integerFlag } from '../args.js';
import { writeAll, type Command, type CommandContext } from '../command.js';
import { CliError, EXIT, type ExitCode } from '../exit.js';
import { signingKeyFromFile } from '../keys.js';
import { parseKind } from '../kind-arg.js';
import { ACCESS_FLAGS, authOf, clientCaOf, fairnessOf } from '../serve-access.js';
import { ENCRYPTION_FLAGS, openStore, storeAccess } from '../store-open.js';

async function tlsOf(cert: string | undefined, key: string | undefined): Promise<TlsServerOptions | undefined> {
  if (cert === undefined && key === undefined) return undefined;
  if (cert === undefined || key === undefined) throw CliError.usage('--tls-cert and --tls-key go together');
  const read = async (path: string, what: string) => {
    try {
      return await readFile(path, 'utf8');
    } catch (err) {
      throw new CliError('ERR_IO', `cannot read ${what} ${path}: ${(err as Error).message}`, { cause: err });
    }
  };
  return { cert: await read(cert, 'TLS certificate'), key: await read(key, 'TLS key') };
}

/** `[::1]:7400` for IPv6, `127.0.0.1:7400` otherwise. */
function endpoint(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Resolves with the signal's name on the first SIGTERM or SIGINT; a second one exits at once. */
function stopRequested(stderr: CommandContext['io']['stderr']): { readonly stopped: Promise<string>; dispose(): void } {
  let resolve!: (name: string) => void;
  const stopped = new Promise<string>((r) => (resolve = r));
  let seen = false;
  const handler = (name: NodeJS.Signals): void => {
    if (seen) {
      stderr.write(`${name} again: exiting without draining\n`);
      process.exit(EXIT.INTERRUPTED);
    }
    seen = true;
    resolve(name);
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
  return {
    stopped,
    dispose: () => {
      process.off('SIGTERM', handler);
      process.off('SIGINT', handler);
    },
  };
}

async function run({ args, io }: CommandContext): Promise<ExitCode> {
  const dir = dirArgument(args, 'serve');
  const port = integerFlag(args, 'port', { max: 65535 });
  if (port === undefined) throw CliError.usage('--port is required (0 picks a free port)');
  const host = args.string('host') ?? '127.0.0.1';
  const max = integerFlag(args, 'max-connections', { min: 1 }) ?? DEFAULT_MAX_CONNECTIONS;
  const serverTls = await tlsOf(args.string('tls-cert'), args.string('tls-key'));
  const clientCa = await clientCaOf(args);
  if (clientCa !== undefined && serverTls === undefined) throw CliError.usage('--tls-client-ca needs --tls-cert and --tls-key');
  const tls = serverTls === undefined ? undefined : { ...serverTls, ...(clientCa === undefined ? {} : { clientCa }) };
  const auth = await authOf(args);
  const fairness = fairnessOf(args);
  const idleMs = integerFlag(args, 'idle-timeout', { min: 1 });
  const commitKinds: EventKind[] = args.strings('commit-kind').map((k) => parseKind(k, 'commit-kind'));
  const receipts = args.string('receipts') ?? 'store';
  if (receipts !== 'store' && receipts !== 'none') throw CliError.usage(`--receipts must be store or none, got ${JSON.stringify(receipts)}`);
  const keyFile = args.string('signing-key-file');
  const signingKey = keyFile === undefined ? undefined : await signingKeyFromFile(keyFile);
  const access = storeAccess(args);

  const stop = stopRequested(io.stderr);
  let store: Store | undefined;
  let server: NetbatServer | undefined;
  try {
    // Like Rust hbat, a missing directory becomes a new store (only serve and import's target create one).
    store = await openStore(dir, { readOnly: false, access, ...(signingKey === undefined ? {} : { signingKey }) });
    server = createServer({
      core: createTerminalCore({
        store,
        receipts,
        maxOutputBytes: DEFAULT_LIMITS.maxOutputBytes,
        ...(commitKinds.length === 0 ? {} : { commitKinds }),
      }),
      subscriptions: { source: createTerminalSubscriptions(store) },
      connectionLimit: { mode: 'concurrent', max },
      ...(tls === undefined ? {} : { tls }),
      auth,
      fairness,
      ...(idleMs === undefined ? {} : { timeouts: { idleMs } }),
    });
    const address = await server.listen(port, host);
    await writeAll(io.stdout, `listening ${endpoint(address.host, address.port)}\n`);
    const signal = await stop.stopped;
    io.stderr.write(`${signal}: draining in-flight requests, then closing the store\n`);
    await server.close();
    const s = server.stats();
    server = undefined;
    await store.close();
    store = undefined;
    io.stderr.write(`stopped cleanly: ${s.acceptedConnections} connections, ${s.servedRequests} requests served, ${s.failedRequests} failed\n`);
    return EXIT.OK;
  } finally {
    stop.dispose();
    await server?.close().catch(() => undefined);
    await store?.close().catch(() => undefined);
  }
}

export const serveCommand: Command = {
  name: 'serve',
  summary: 'Serve a store over NETBAT/1 + NETBAT/2 with the reference terminals until SIGTERM.',
  usage:
    'batpak serve <dir> --port <n|0> [--host 127.0.0.1] [--max-connections n] [--tls-cert f --tls-key f [--tls-client-ca f]] [--auth-config f] [--allow-anonymous grants] [--idle-timeout ms]',
  description: [
    'Takes the writer lock (a missing directory becomes a new store), serves system.heartbeat, event.get,',
    'event.query, event.walk, receipt.verify and bank.commit, and the subscriptions events.<x>.v1 (one per',
    'event category). Prints exactly one line, `listening <host>:<port>`, once ready. SIGTERM or Ctrl-C drains',
    'in-flight requests, ends subscriptions and closes the store (exit 0). A client that does not authenticate',
    '(a token line from --auth-config, or a client certificate with --tls-client-ca) may only call',
    'system.heartbeat unless --allow-anonymous names more; each principal gets the grants its config names.',
  ].join('\n'),
  examples: [
    'batpak serve ./data --port 7400',
    'batpak serve ./data --port 7400 --auth-config access.json --allow-anonymous system.heartbeat,event.query',
    'batpak serve ./data --port 0 --host 0.0.0.0 --tls-cert chain.pem --tls-key key.pem --commit-kind 0xf:0xa01',
  ],
  flags: [
    { name: 'port', type: 'string', value: 'n', help: 'TCP port; 0 picks a free one (printed in the listening line)' },
    { name: 'host', type: 'string', value: 'addr', help: 'address to bind (default 127.0.0.1)' },
    { name: 'max-connections', type: 'string', value: 'n', help: `connections served at once; more wait for a slot (default ${DEFAULT_MAX_CONNECTIONS})` },
    { name: 'tls-cert', type: 'string', value: 'file', help: 'PEM certificate chain (leaf first): serve TLS' },
    { name: 'tls-key', type: 'string', value: 'file', help: 'PEM private key of the leaf' },
    { name: 'commit-kind', type: 'string', value: 'C:T', repeatable: true, help: 'a kind bank.commit may append (default 1:0, the DATA kind)' },
    { name: 'receipts', type: 'string', value: 'store|none', help: 'bank a syncbat receipt per call in the store (default store)' },
    { name: 'signing-key-file', type: 'string', value: 'file', help: 'ed25519 seed (64 hex): sign what this server commits' },
    ...ACCESS_FLAGS,
    ...ENCRYPTION_FLAGS,
  ],
  run,
};
