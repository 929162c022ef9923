// `batpak serve`'s access flags: who may do what (--auth-config, --allow-anonymous, --tls-client-ca) and fair slots.
// Invariant: without flags an anonymous client may only call system.heartbeat; nothing is granted that a flag did not name.

import { readFile } from 'node:fs/promises';
import { DEFAULT_ANONYMOUS_GRANTS, type AuthOptions, type FairnessOptions } from '@batpak/netbat';
import { integerFlag, type FlagSpec, type ParsedArgs } from './args.js';
import { CliError } from './exit.js';

async function readText(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw new CliError('ERR_IO', `cannot read ${what} ${path}: ${(err as Error).message}`, { cause: err });
  }
}

/** `a,b` and repeated flags, flattened; empty items refused. */
function grantList(values: readonly string[], flag: string): string[] {
  const out = values.flatMap((v) => v.split(','));
  if (out.some((g) => g.trim() === '')) throw CliError.usage(`--${flag} takes comma-separated grants, got an empty one`);
  return out.map((g) => g.trim());
}

/**
 * The server's `auth`: principals, tokens and certificate rules from `--auth-config <file.json>` (the netbat
 * `AuthOptions` shape, without `anonymous`), anonymous grants from `--allow-anonymous` (default `system.heartbeat`).
 */
export async function authOf(args: ParsedArgs): Promise<AuthOptions> {
  const anonymousFlags = args.strings('allow-anonymous');
  const anonymous = anonymousFlags.length === 0 ? [...DEFAULT_ANONYMOUS_GRANTS] : grantList(anonymousFlags, 'allow-anonymous');
  const file = args.string('auth-config');
  if (file === undefined) return { anonymous };
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readText(file, 'auth config'));
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw CliError.usage(`--auth-config ${file} is not JSON: ${(err as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw CliError.usage(`--auth-config ${file} must hold a JSON object`);
  const config = parsed as Record<string, unknown>;
  const unknown = Object.keys(config).filter((k) => !['principals', 'tokens', 'certificates'].includes(k));
  if (unknown.length > 0) throw CliError.usage(`--auth-config ${file}: unknown key ${JSON.stringify(unknown[0])} (principals, tokens, certificates; anonymous grants come from --allow-anonymous)`);
  // Shapes inside are checked by netbat's createServer (invalid_option names the field).
  return { ...(config as AuthOptions), anonymous };
}

export async function clientCaOf(args: ParsedArgs): Promise<string | undefined> {
  const file = args.string('tls-client-ca');
  return file === undefined ? undefined : readText(file, 'TLS client CA');
}

export function fairnessOf(args: ParsedArgs): FairnessOptions {
  const perClient = integerFlag(args, 'max-connections-per-client', { min: 1 });
  const reclaim = integerFlag(args, 'reclaim-idle', { min: 1 });
  return {
    ...(perClient === undefined ? {} : { maxConnectionsPerClient: perClient }),
    ...(reclaim === undefined ? {} : { reclaimIdleMs: reclaim }),
  };
}

export const ACCESS_FLAGS: readonly FlagSpec[] = [
  { name: 'allow-anonymous', type: 'string', value: 'grants', repeatable: true, help: 'what a client that did not authenticate may do: operations, prefix.*, subscribe:<id>, *, capabilities (default system.heartbeat)' },
  { name: 'auth-config', type: 'string', value: 'file', help: 'JSON { principals: { name: [grants] }, tokens: [{ principal, token }], certificates: [{ principal, subject?, spkiSha256? }] }' },
  { name: 'tls-client-ca', type: 'string', value: 'file', help: 'PEM CA of client certificates: ask clients for one (needs --tls-cert/--tls-key)' },
  { name: 'idle-timeout', type: 'string', value: 'ms', help: 'close a connection idle between requests this long (default 30000)' },
  { name: 'reclaim-idle', type: 'string', value: 'ms', help: 'while a client waits for a slot, close connections idle this long (default 1000)' },
  { name: 'max-connections-per-client', type: 'string', value: 'n', help: 'connections one address or principal may hold, served or waiting (default 64)' },
];
