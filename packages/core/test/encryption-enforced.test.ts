// An encrypted store never takes plaintext user payloads (issue 17 item 2): a writable open without payloadEncryption is refused.
// Invariant: INV-NO-PLAINTEXT-IN-ENCRYPTED-STORE — read-only opens (verify, export, inspect) keep working without the option.

import { describe, expect, it } from 'vitest';
import { BatpakError, Coordinate, defineEvent, Store, type KeyStore } from '../src/index.js';
import { SimFs } from '../src/entry/testing.js';

const Note = defineEvent<{ text: string }>({ category: 3, typeId: 1, name: 'Note' });
const alice = new Coordinate('user:alice', 'profile');

const segmentBytes = (fs: SimFs) =>
  Buffer.concat(fs.listFiles().filter((f) => f.endsWith('.bps')).map((f) => Buffer.from(fs.inspect(f)!.current)));

function memoryKeyStore(): KeyStore {
  let image: Uint8Array | undefined;
  return {
    name: 'memory',
    load: async () => (image === undefined ? undefined : new Uint8Array(image)),
    persist: async (next) => {
      image = new Uint8Array(next);
    },
  };
}

async function refusal(p: Promise<unknown>): Promise<BatpakError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(BatpakError);
  return err as BatpakError;
}

describe('INV-NO-PLAINTEXT-IN-ENCRYPTED-STORE', () => {
  it('refuses a writable open without payloadEncryption, so a later shred can never leave plaintext behind', async () => {
    const fs = new SimFs(21);
    const first = await Store.open({ dir: '/s', fs, payloadEncryption: {} });
    const sealed = await first.append(alice, Note, { text: 'sealed' });
    await first.close();
    const before = fs.listFiles().map((f) => [f, Buffer.from(fs.inspect(f)!.current).toString('hex')]);

    const err = await refusal(Store.open({ dir: '/s', fs }));
    expect(err.code).toBe('ERR_ENCRYPTION_NOT_CONFIGURED');
    expect(err.message).toMatch(/keyset\.bpk is present.*payloadEncryption/);
    // Nothing was written: not the lock's content, not a segment, not a checkpoint.
    expect(fs.listFiles().map((f) => [f, Buffer.from(fs.inspect(f)!.current).toString('hex')])).toEqual(before);

    // Read-only opens for verification still work; the sealed payload stays sealed.
    const reader = await Store.openReadOnly('/s', { fs });
    expect((await reader.verifyChain()).intact).toBe(true);
    expect((await reader.getRaw(sealed.eventId)).header.encrypted).toBe(true);
    await expect(reader.get(sealed.eventId)).rejects.toMatchObject({ code: 'ERR_ENCRYPTION_NOT_CONFIGURED' });
    await reader.close();

    // With the option, appends are sealed and the shred erases everything the entity ever wrote.
    const writer = await Store.open({ dir: '/s', fs, payloadEncryption: {} });
    await writer.append(alice, Note, { text: 'PLAINTEXT-MARKER' });
    expect((await writer.shredScope({ entity: alice })).status).toBe('destroyed');
    await writer.close();
    expect(segmentBytes(fs).indexOf('PLAINTEXT-MARKER')).toBe(-1);
  });

  it('refuses it too when the keyset lives outside the directory but committed events are sealed', async () => {
    const fs = new SimFs(22);
    const keyStore = memoryKeyStore();
    const first = await Store.open({ dir: '/s', fs, payloadEncryption: { keyStore } });
    await first.append(alice, Note, { text: 'sealed' });
    await first.close();
    expect(fs.listFiles().some((f) => f.endsWith('keyset.bpk'))).toBe(false);
    const err = await refusal(Store.open({ dir: '/s', fs, checkpoint: 'off' }));
    expect(err.code).toBe('ERR_ENCRYPTION_NOT_CONFIGURED');
    expect(err.message).toMatch(/is encrypted/);
    // Through the checkpoint index the same.
    expect((await refusal(Store.open({ dir: '/s', fs }))).code).toBe('ERR_ENCRYPTION_NOT_CONFIGURED');
    const reader = await Store.openReadOnly('/s', { fs });
    expect(reader.lastSequence).toBe(1n);
    await reader.close();
  });

  it('a store that never used encryption still opens writable without the option', async () => {
    const fs = new SimFs(23);
    const s = await Store.open({ dir: '/s', fs });
    await s.append(alice, Note, { text: 'plain' });
    await s.close();
    const again = await Store.open({ dir: '/s', fs });
    expect(again.lastSequence).toBe(1n);
    await again.close();
  });
});
