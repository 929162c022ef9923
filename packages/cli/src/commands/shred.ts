// `batpak shred <dir>`: destroys one key scope of an encrypted store (crypto-shred) under the writer lock, and prints the shred receipt.
// Invariant: it never creates a store or a keyset, refuses (exit 2, one line) when another process holds the lock — nothing is changed then —
// a scope that never had a key (a typo) is ERR_SHRED_SCOPE_UNKNOWN and one with plaintext events ERR_SHRED_INCOMPLETE (exit 2, never "done"); already shredded is exit 0.

import { join } from 'node:path';
import { Coordinate, type ShredResult, type ShredSelector, type StoredEvent } from '@batpak/core';
import { dirArgument } from '../args.js';
import { JSON_FLAG, toJson, writeAll, type Command, type CommandContext } from '../command.js';
import { CliError, EXIT, type ExitCode } from '../exit.js';
import { KEYSET_FILE_NAME } from '../keyset-file.js';
import { signingKeyFromFile } from '../keys.js';
import { parseKind } from '../kind-arg.js';
import { ENCRYPTION_FLAGS, encryptionOf, openStore, requireStoreDir, storeAccess } from '../store-open.js';

function selectorOf(args: CommandContext['args']): { selector: ShredSelector; label: string; described: Record<string, unknown> } {
  const entity = args.string('entity');
  const kind = args.string('kind');
  const event = args.string('event');
  const given = [entity, kind, event].filter((x) => x !== undefined).length;
  if (given !== 1) throw CliError.usage('name exactly one scope: --entity <E> [--scope <S>], --kind <C:T> or --event <ID>');
  if (entity !== undefined) {
    const scope = args.string('scope');
    let coordinate: Coordinate | undefined;
    try {
      coordinate = scope === undefined ? undefined : new Coordinate(entity, scope);
    } catch (err) {
      throw CliError.usage(`--entity/--scope: ${(err as Error).message}`);
    }
    return {
      selector: { entity: coordinate ?? entity },
      label: `entity ${JSON.stringify(entity)}${scope === undefined ? '' : ` (scope ${JSON.stringify(scope)})`}`,
      described: { entity, ...(scope === undefined ? {} : { scope }) },
    };
  }
  if (args.has('scope')) throw CliError.usage('--scope goes with --entity');
  if (kind !== undefined) {
    const k = parseKind(kind, 'kind');
    return { selector: { kind: k }, label: `kind ${kind}`, described: { kind: k } };
  }
  const id = event!.toLowerCase();
  if (!/^[0-9a-f]{32}$/.test(id)) throw CliError.usage('--event must be an event id (32 hex characters)');
  return { selector: { eventId: id }, label: `event ${id}`, described: { eventId: id } };
}

async function run({ args, io, json }: CommandContext): Promise<ExitCode> {
  const dir = dirArgument(args, 'shred');
  const { selector, label, described } = selectorOf(args);
  const access = storeAccess(args);
  const keyFile = args.string('signing-key-file');
  const signingKey = keyFile === undefined ? undefined : await signingKeyFromFile(keyFile);
  await requireStoreDir(dir);
  const encryption = await encryptionOf(dir, { ...access, encrypted: false });
  if (encryption === undefined) {
    // Opening with encryption would write an empty keyset into a store that never had one.
    const where = access.keyset ?? join(dir, KEYSET_FILE_NAME);
    throw new CliError('ERR_ENCRYPTION_NOT_CONFIGURED', `no keyset at ${where}: the store was not written with payload encryption, nothing can be shredded`);
  }
  const store = await openStore(dir, { readOnly: false, access: { ...access, encrypted: true }, ...(signingKey === undefined ? {} : { signingKey }) });
  let result: ShredResult;
  let event: StoredEvent | undefined;
  try {
    result = await store.shredScope(selector);
    event = result.receipt === undefined ? undefined : await store.get(result.receipt.eventId);
  } finally {
    await store.close();
  }
  if (result.plaintextEvents > 0) {
    // Events written before encryption was enabled hold plaintext no key destroys: the erasure is not complete.
    const done = result.status === 'destroyed' ? `destroyed ${result.destroyed} key(s) of ${label} (shred event ${result.receipt?.eventId ?? '?'}), but ` : '';
    throw new CliError(
      'ERR_SHRED_INCOMPLETE',
      `${done}${result.plaintextEvents} event(s) of ${label} are stored in plaintext (written before payload encryption was enabled): no shred can erase them`,
    );
  }
  if (result.status === 'never-keyed') {
    // A typo in an erasure request must not look like success: nothing was ever sealed under this scope.
    throw new CliError(
      'ERR_SHRED_SCOPE_UNKNOWN',
      `no key was ever minted for ${label} (granularity ${result.granularity}, scope ${result.scope}): nothing was written under it — check the selector`,
    );
  }
  const destroyed = result.status === 'destroyed';
  const receipt =
    event === undefined
      ? undefined
      : {
          eventId: event.header.eventId,
          globalSequence: event.header.globalSequence,
          entitySequence: event.header.entitySequence,
          kind: event.header.kind,
          coordinate: { entity: event.coordinate.entity, scope: event.coordinate.scope },
          committedAt: event.header.committedAt,
          contentHash: event.header.contentHash,
          prevHash: event.header.prevHash,
          record: event.payload,
        };
  const granularity = encryption.granularity ?? 'entity';
  if (json) {
    await writeAll(
      io.stdout,
      `${toJson({ command: 'shred', dir, granularity, selector: described, status: result.status, destroyed, keysDestroyed: result.destroyed, scope: result.scope, shredEvent: receipt ?? null })}\n`,
    );
  } else if (receipt === undefined) {
    await writeAll(io.stdout, `already shredded: ${label} (granularity ${granularity}) had a key and none is live — nothing left to destroy\n`);
  } else {
    await writeAll(
      io.stdout,
      [
        `shredded ${label} (granularity ${granularity}): its key is destroyed and the keyset flushed`,
        `  shred event ${receipt.eventId}  sequence ${receipt.globalSequence}  committed ${new Date(Number(receipt.committedAt)).toISOString()}`,
        `  content hash ${Buffer.from(receipt.contentHash).toString('hex')}`,
        '',
      ].join('\n'),
    );
  }
  return EXIT.OK;
}

export const shredCommand: Command = {
  name: 'shred',
  summary: 'Crypto-shred one key scope (entity, kind or event) of an encrypted store and print the shred receipt.',
  usage: 'batpak shred <dir> (--entity <E> [--scope <S>] | --kind <C:T> | --event <ID>) [--json]',
  description: [
    "Takes the writer lock: if another process holds the store, it refuses with ERR_STORE_LOCKED (exit 2) and",
    'changes nothing — stop the writer, or shred through it. The selector must match the keyset granularity',
    '(entity → --entity, category/type → --kind, event → --event); the granularity is read from keyset.bpk.',
    'The shred is recorded as a system event, chained (and signed with --signing-key-file) like any event;',
    'afterwards the payloads read as shredded while verify still reports the chain intact.',
    'A scope that never had a key (an unknown entity, kind or event: usually a typo) is refused with',
    'ERR_SHRED_SCOPE_UNKNOWN (exit 2); a scope shredded before is reported as already shredded (exit 0). If the',
    'scope has events written before payload encryption was enabled (plaintext no shred erases), the keys are',
    'still destroyed, and the command fails with ERR_SHRED_INCOMPLETE (exit 2) naming how many.',
  ].join('\n'),
  examples: ['batpak shred ./data --entity customer:42 --scope eu', 'batpak shred ./data --kind 1:0 --granularity type --json'],
  flags: [
    JSON_FLAG,
    { name: 'entity', type: 'string', value: 'E', help: 'shred the key of this entity (granularity entity)' },
    { name: 'scope', type: 'string', value: 'S', help: "the entity's scope (validated with the entity; the key scope is the entity)" },
    { name: 'kind', type: 'string', value: 'C:T', help: 'shred the key of this kind (granularity category or type)' },
    { name: 'event', type: 'string', value: 'ID', help: 'shred the key of one event (granularity event)' },
    { name: 'signing-key-file', type: 'string', value: 'file', help: 'ed25519 seed (64 hex) to sign the shred event with' },
    ...ENCRYPTION_FLAGS.filter((f) => f.name !== 'encrypted'),
  ],
  run,
};
