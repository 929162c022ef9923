// The reference terminals over loopback with a real @batpak/core store in a temp dir: every operation end to end
// through netbat → syncbat → core, the effect declarations they run under, and the event subscriptions (INV-NETBAT-TERMINALS).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { Store, type EventKind } from '@batpak/core';
import { SYNCBAT_RECEIPT_KIND, decodeReceiptEnvelope } from '@batpak/syncbat';
import {
  TERMINAL_CODECS,
  connect,
  createServer,
  createTerminalCore,
  createTerminalSubscriptions,
  terminalClient,
  terminalSubscriptionId,
  type NetbatClient,
  type NetbatServer,
  type ReceiptClaim,
  type TerminalClient,
  type TerminalCoreOptions,
} from '../src/index.js';

const HEARTBEAT_REQUEST: EventKind = { category: 0xf, typeId: 0xa01 };
const DATA: EventKind = { category: 0x1, typeId: 0 };
const bytes = (s: string) => new TextEncoder().encode(s);

interface Rig {
  readonly dir: string;
  readonly store: Store;
  readonly server: NetbatServer;
  readonly client: NetbatClient;
  readonly t: TerminalClient;
}

const open: Rig[] = [];

afterEach(async () => {
  for (const r of open.splice(0)) {
    await r.client.close();
    await r.server.close();
    await r.store.close();
    await rm(r.dir, { recursive: true, force: true });
  }
});

async function rig(options: { store?: Partial<Parameters<typeof Store.open>[0]>; core?: Partial<TerminalCoreOptions>; maxOutputBytes?: number } = {}): Promise<Rig> {
  const dir = await mkdtemp(join(tmpdir(), 'netbat-terminals-'));
  const store = await Store.open({ dir, ...options.store });
  const core = createTerminalCore({ store, commitKinds: [HEARTBEAT_REQUEST, DATA], ...options.core });
  const server = createServer({
    core,
    subscriptions: { source: createTerminalSubscriptions(store), ackTimeoutMs: 2_000 },
    ...(options.maxOutputBytes === undefined ? {} : { limits: { maxOutputBytes: options.maxOutputBytes } }),
  });
  const { port } = await server.listen(0);
  const client = await connect({ port });
  const r = { dir, store, server, client, t: terminalClient(client) };
  open.push(r);
  return r;
}

async function commit(t: TerminalClient, entity: string, payload: string, kind: EventKind = DATA): Promise<ReceiptClaim> {
  return t.call('bank.commit', { entity, scope: 'scope:test', kind, payload: bytes(payload) });
}

async function entityEvents(store: Store, entity: string): Promise<number> {
  let n = 0;
  for await (const _ of store.query({ entity })) n++;
  return n;
}

describe('INV-NETBAT-TERMINALS reference terminals over loopback with a real store', () => {
  it('system.heartbeat echoes the nonce with the server clock', async () => {
    const { t } = await rig();
    const before = BigInt(Date.now());
    const ack = await t.call('system.heartbeat', { nonce: 'n-42' });
    expect(ack.nonce).toBe('n-42');
    expect(ack.serverTsMs).toBeGreaterThanOrEqual(before);
    expect(ack.serverTsMs).toBeLessThanOrEqual(BigInt(Date.now()));
  });

  it('bank.commit appends the bytes verbatim and event.get returns them with header and coordinate', async () => {
    const { t, store } = await rig();
    const payload = TERMINAL_CODECS['system.heartbeat'].request.encode({ nonce: 'committed' });
    const ack = await t.call('bank.commit', { entity: 'bank:1', scope: 'scope:test', kind: HEARTBEAT_REQUEST, payload });
    expect(ack.eventId).toMatch(/^[0-9a-f]{32}$/);
    expect(ack.keyId).toBeUndefined(); // keyless store: 64 zero hex on the wire
    const raw = await store.getRaw(ack.eventId);
    expect(raw.bytes).toEqual(payload);
    expect(raw.header.raw).toBe(true);

    const got = await t.call('event.get', { eventId: ack.eventId });
    expect(got).toMatchObject({ eventId: ack.eventId, sequence: ack.sequence, kind: HEARTBEAT_REQUEST, entity: 'bank:1', scope: 'scope:test' });
    expect(got.payload).toEqual(payload);
    expect(got.contentHash).toEqual(ack.contentHash);
    expect(got.correlationId).toBe(ack.eventId);
    expect(got.timestampUs).toBe(raw.header.committedAt * 1000n);
    expect(TERMINAL_CODECS['system.heartbeat'].request.decode(got.payload)).toEqual({ nonce: 'committed' });
  });

  it('bank.commit with an idempotency key writes once and answers the same receipt', async () => {
    const { t, store } = await rig();
    const req = { entity: 'idem:1', scope: 'scope:test', kind: DATA, payload: bytes('once'), idempotencyKey: 'ab'.repeat(16) };
    const a = await t.call('bank.commit', req);
    const b = await t.call('bank.commit', req);
    expect(b.eventId).toBe(a.eventId);
    expect(await entityEvents(store, 'idem:1')).toBe(1);
  });

  it('bank.commit: a key pre-claimed at another entity is invalid_input ERR_IDEMPOTENCY_CONFLICT, never the other receipt (issue 26)', async () => {
    const { t, store } = await rig();
    const key = 'cd'.repeat(16);
    const claimed = await t.call('bank.commit', { entity: 'attacker:box', scope: 'scope:test', kind: DATA, payload: bytes('x'), idempotencyKey: key });
    await expect(t.call('bank.commit', { entity: 'acct:1', scope: 'scope:test', kind: DATA, payload: bytes('x'), idempotencyKey: key })).rejects.toMatchObject({
      code: 'handler',
      message: expect.stringContaining(`invalid_input: append: ERR_IDEMPOTENCY_CONFLICT idempotency key of event ${claimed.eventId}`),
    });
    expect(await entityEvents(store, 'acct:1')).toBe(0);
  });

  it('bank.commit refuses an undeclared kind before writing anything (never appended then denied)', async () => {
    const { t, store } = await rig();
    await expect(commit(t, 'bank:undeclared', 'x', { category: 0x2, typeId: 7 })).rejects.toMatchObject({
      code: 'handler',
      message: expect.stringContaining('evt.2007 is not a declared append target of bank.commit'),
    });
    await expect(commit(t, 'bank:undeclared', 'x', { category: 0x0, typeId: 1 })).rejects.toMatchObject({
      code: 'handler',
      message: expect.stringContaining('reserved for the store'),
    });
    await expect(t.call('bank.commit', { entity: 'bad/entity', scope: 's', kind: DATA, payload: bytes('x') })).rejects.toMatchObject({
      code: 'handler',
      message: expect.stringContaining('invalid_input: coordinate'),
    });
    expect(await entityEvents(store, 'bank:undeclared')).toBe(0);
  });

  it('undecodable input is invalid_input, a missing event names ERR_NOT_FOUND; the server keeps serving', async () => {
    const { t, client } = await rig();
    await expect(client.call('event.get', bytes('not msgpack'))).rejects.toMatchObject({
      code: 'handler',
      message: expect.stringContaining('failed with invalid_input: decode request: event.get.request'),
    });
    await expect(t.call('event.get', { eventId: 'ff'.repeat(16) })).rejects.toMatchObject({
      code: 'handler',
      message: expect.stringContaining('ERR_NOT_FOUND'),
    });
    await expect(t.call('event.query', { limit: 0 })).rejects.toMatchObject({ message: expect.stringContaining('limit must be greater than 0') });
    expect((await t.call('system.heartbeat', { nonce: 'still' })).nonce).toBe('still');
  });

  it('every dispatch banks one syncbat receipt in the store, failures included', async () => {
    const { t, store } = await rig();
    await t.call('system.heartbeat', { nonce: 'a' });
    await commit(t, 'bank:r', 'p');
    await expect(t.call('event.get', { eventId: 'ff'.repeat(16) })).rejects.toThrow();
    const envelopes = [];
    for await (const e of store.query({ kind: SYNCBAT_RECEIPT_KIND })) envelopes.push(decodeReceiptEnvelope((await store.getRaw(e.header.eventId)).bytes));
    expect(envelopes.map((e) => [e.descriptorName, e.outcome.class])).toEqual([
      ['system.heartbeat', 'completed'],
      ['bank.commit', 'completed'],
      ['event.get', 'failed'],
    ]);
  });

  it('receipt.verify accepts a commit ack unchanged (unsigned store) and names what a tampered claim changed', async () => {
    const { t, client } = await rig();
    const input = TERMINAL_CODECS['bank.commit'].request.encode({ entity: 'v:1', scope: 's', kind: DATA, payload: bytes('v') });
    const ackBytes = await client.call('bank.commit', input);
    // The ack bytes go straight back as the request: the shapes are one.
    const verdict = TERMINAL_CODECS['receipt.verify'].ack.decode(await client.call('receipt.verify', ackBytes));
    expect(verdict).toEqual({ valid: true, outcome: 'unsigned_accepted' });

    const claim = TERMINAL_CODECS['bank.commit'].ack.decode(ackBytes);
    const flipped = new Uint8Array(claim.contentHash);
    flipped[0]! ^= 1;
    expect(await t.call('receipt.verify', { ...claim, contentHash: flipped })).toMatchObject({ valid: false, outcome: 'invalid', reasonCode: 'content_hash_mismatch' });
    expect(await t.call('receipt.verify', { ...claim, sequence: claim.sequence + 1n })).toMatchObject({ valid: false, reasonCode: 'sequence_mismatch' });
    expect(await t.call('receipt.verify', { ...claim, eventId: 'ee'.repeat(16) })).toMatchObject({ valid: false, reasonCode: 'missing_committed_event' });
    expect(await t.call('receipt.verify', { ...claim, extensions: new Map([['x', bytes('y')]]) })).toMatchObject({ valid: false, reasonCode: 'extensions_mismatch' });
  });

  it('receipt.verify checks group signatures of a signed store (group_proof carried in the ack)', async () => {
    const { t } = await rig({ store: { signingKey: new Uint8Array(randomBytes(32)) } });
    const claims = await Promise.all([commit(t, 'sig:1', 'a'), commit(t, 'sig:2', 'b')]);
    for (const claim of claims) {
      expect(claim.signature?.length).toBe(64);
      expect(claim.keyId).toMatch(/^[0-9a-f]{64}$/);
      expect(await t.call('receipt.verify', claim)).toEqual({ valid: true, outcome: 'signed' });
    }
    const forged = new Uint8Array(claims[0]!.signature!);
    forged[5]! ^= 0x40;
    expect(await t.call('receipt.verify', { ...claims[0]!, signature: forged })).toMatchObject({ valid: false, reasonCode: 'invalid_signature' });
    const { signature: _s, keyId: _k, groupProof: _g, ...unsigned } = claims[0]!;
    expect(await t.call('receipt.verify', unsigned)).toMatchObject({ valid: false, reasonCode: 'unsigned_receipt_rejected' });
    expect(await t.call('receipt.verify', { ...claims[0]!, keyId: 'cd'.repeat(32) })).toMatchObject({ valid: false, reasonCode: 'unknown_signing_key' });
  });

  it('event.query pages in commit order without overlap, filters by entity, scope and kind', async () => {
    const { t } = await rig();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await commit(t, 'page:1', `p${i}`)).eventId);
    await commit(t, 'page:other', 'q', HEARTBEAT_REQUEST);

    const seen: string[] = [];
    let after: bigint | undefined;
    const truncations: boolean[] = [];
    for (;;) {
      const page = await t.call('event.query', { entity: 'page:1', limit: 2, ...(after === undefined ? {} : { after }) });
      seen.push(...page.entries.map((e) => e.eventId));
      truncations.push(page.truncated);
      if (page.entries.length === 0 || !page.truncated) break;
      after = page.nextAfter;
    }
    expect(seen).toEqual(ids);
    expect(truncations).toEqual([true, true, false]);

    const byKind = await t.call('event.query', { kind: HEARTBEAT_REQUEST, limit: 10 });
    expect(byKind.entries.map((e) => e.entity)).toEqual(['page:other']);
    const byCategory = await t.call('event.query', { kind: { category: 0x1 }, scope: 'scope:test', limit: 10 });
    expect(byCategory.entries.map((e) => e.eventId)).toEqual(ids);
    expect(byCategory.entries[0]).toMatchObject({ entity: 'page:1', scope: 'scope:test', clock: 1, correlationId: ids[0] });
    expect((await t.call('event.query', { entity: 'page:none', limit: 3 })).nextAfter).toBeUndefined();
  });

  it('event.query and event.walk acks stay within the output budget and report the cut as truncation', async () => {
    const { t } = await rig({ core: { maxOutputBytes: 1024 }, maxOutputBytes: 1024 });
    for (let i = 0; i < 12; i++) await commit(t, 'budget:1', `b${i}`);
    const all: string[] = [];
    let after: bigint | undefined;
    for (;;) {
      const out = await t.call('event.query', { entity: 'budget:1', limit: 1024, ...(after === undefined ? {} : { after }) });
      expect(TERMINAL_CODECS['event.query'].ack.encode(out).length).toBeLessThanOrEqual(1024);
      all.push(...out.entries.map((e) => e.eventId));
      if (!out.truncated) break;
      expect(out.entries.length).toBeGreaterThan(0);
      after = out.nextAfter;
    }
    expect(all).toHaveLength(12);
    const last = all[all.length - 1]!;
    const walk = await t.call('event.walk', { eventId: last, limit: 1024 });
    expect(walk.entries.length).toBeGreaterThan(0);
    expect(walk.entries.length).toBeLessThan(12);
    expect(walk.entries[0]!.eventId).toBe(last);
  });

  it('event.walk follows the hash chain back from the anchor, newest first, bounded by limit', async () => {
    const { t } = await rig();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await commit(t, 'walk:1', `w${i}`)).eventId);
    await commit(t, 'walk:2', 'elsewhere');
    expect((await t.call('event.walk', { eventId: ids[2]!, limit: 10 })).entries.map((e) => e.eventId)).toEqual([...ids].reverse());
    expect((await t.call('event.walk', { eventId: ids[2]!, limit: 2 })).entries.map((e) => e.eventId)).toEqual([ids[2], ids[1]]);
    expect((await t.call('event.walk', { eventId: 'ab'.repeat(16), limit: 2 })).entries).toEqual([]);
  });

  it('event.get answers the plaintext of a sealed raw event, never its ciphertext', async () => {
    const { t, store } = await rig({ store: { payloadEncryption: { granularity: 'entity' } } });
    const ack = await commit(t, 'sealed:1', 'secret-bytes');
    const raw = await store.getRaw(ack.eventId);
    expect(raw.header.encrypted).toBe(true);
    expect(raw.bytes).not.toEqual(bytes('secret-bytes'));
    expect((await t.call('event.get', { eventId: ack.eventId })).payload).toEqual(bytes('secret-bytes'));
    await store.shredScope({ entity: 'sealed:1' });
    await expect(t.call('event.get', { eventId: ack.eventId })).rejects.toMatchObject({ message: expect.stringContaining('ERR_PAYLOAD_SHREDDED') });
  });

  it('a read-only store must be served without receipts', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'netbat-terminals-ro-'));
    try {
      await (await Store.open({ dir })).close();
      const ro = await Store.openReadOnly(dir);
      expect(() => createTerminalCore({ store: ro })).toThrow(/receipts: 'none'/);
      expect(createTerminalCore({ store: ro, receipts: 'none' }).operations().map((d) => d.name)).toHaveLength(6);
      await ro.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('descriptors: Rust names and refs; reads declared by the inspectors, append targets by bank.commit', async () => {
    const { store } = await rig();
    const core = createTerminalCore({ store, receipts: 'none', commitKinds: [DATA, HEARTBEAT_REQUEST] });
    const rows = Object.fromEntries(core.operations().map((d) => [d.name, d]));
    expect(Object.keys(rows).sort()).toEqual(['bank.commit', 'event.get', 'event.query', 'event.walk', 'receipt.verify', 'system.heartbeat']);
    expect(rows['system.heartbeat']).toMatchObject({ effect: 'inspect', inputSchemaRef: 'system.heartbeat.request', outputSchemaRef: 'system.heartbeat.ack', receiptKind: 'receipt.system.heartbeat.v1' });
    expect(rows['system.heartbeat']!.effectRow.isEmpty()).toBe(true);
    for (const op of ['event.get', 'event.query', 'event.walk', 'receipt.verify']) {
      expect(rows[op]!.effect).toBe('inspect');
      expect(rows[op]!.effectRow.readsEvents).toEqual(['store.events']);
    }
    expect(rows['bank.commit']!.effect).toBe('persist');
    expect(rows['bank.commit']!.effectRow.appendsEvents).toEqual(['evt.1000', 'evt.fa01']);
    expect(() => createTerminalCore({ store, receipts: 'none', commitKinds: [{ category: 0xd, typeId: 1 }] })).toThrow(/not a user event kind/);
  });
});

describe('INV-NETBAT-TERMINALS event subscriptions over a real store', () => {
  it('events.<x>.v1 replays the category, then a watermark, then live commits', async () => {
    const { t, client } = await rig();
    await commit(t, 'sub:1', 'one');
    await commit(t, 'sub:1', 'two');
    await commit(t, 'sub:2', 'other-category', HEARTBEAT_REQUEST);

    const sub = client.subscribe(terminalSubscriptionId(0x1), { window: 8 });
    const kinds: string[] = [];
    let committedLive: Promise<ReceiptClaim> | undefined;
    for await (const d of sub) {
      kinds.push(d.kind);
      if (d.kind === 'event') expect(d.schemaRef).toBe('syncbat.event_stream.envelope.v1');
      // Caught up: commit while the stream waits live (call() opens a fresh connection; this one streams).
      if (d.kind === 'watermark') committedLive = commit(t, 'sub:1', 'three');
      if (kinds.filter((k) => k === 'event').length === 3) break;
    }
    sub.close();
    await committedLive;
    expect(kinds).toEqual(['event', 'event', 'watermark', 'event']);
  });

  it('an unknown subscription id ends with unknown_subscription', async () => {
    const { client } = await rig();
    const items = [];
    for await (const d of client.subscribe('events.zz.v1')) items.push(d);
    expect(items).toEqual([expect.objectContaining({ kind: 'error', code: 'unknown_subscription' })]);
  });
});
