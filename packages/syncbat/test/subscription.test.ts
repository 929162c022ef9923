// Event-category subscriptions (syncbat-hostbat.md §4): ids, routes, cursor v1 bytes, and the replay → watermark → live stream.
import { Coordinate, Store, blake3, cbin, decodeCanonical, fromHex } from '@batpak/core';
import { SimFs } from '@batpak/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import {
  EVENT_CURSOR_V1_LEN,
  SubscriptionError,
  SubscriptionRegistry,
  SubscriptionRuntime,
  decodeEventCursor,
  encodeEventCursor,
  findSubscriptionIdViolation,
  type StreamItem,
} from '../src/index.js';
import { bytes, simStore } from './helpers/fixtures.js';

describe('subscription ids', () => {
  it('accepts the spec examples and reports Rust’s reasons in order', () => {
    for (const id of ['orders.open.v1', 'a.v1.v2', '0x.v10', 'a-b_c.v9']) expect(findSubscriptionIdViolation(id), id).toBeUndefined();
    const table: [string, string][] = [
      ['', 'empty subscription id'],
      [`${'a'.repeat(126)}.v1`, 'subscription id longer than 128 bytes'],
      ['.a.v1', "subscription id has a leading or trailing '.'"],
      ['a..b.v1', "subscription id has a doubled '.'"],
      ['orders', 'subscription id must contain a .v version suffix'],
      ['.v1x', "subscription id has a leading or trailing '.'"],
      ['_a.v1', 'subscription id must start with [a-z0-9]'],
      ['Orders.v1', 'subscription id must start with [a-z0-9]'],
      ['a B.v1', 'subscription id has characters outside [a-z0-9._-]'],
      ['a.v', 'subscription id missing version digits after .v'],
      ['a.v01', 'subscription id version must start with 1-9'],
      ['a.v1x', 'subscription id version must be digits only'],
    ];
    for (const [id, reason] of table) expect(findSubscriptionIdViolation(id), id).toBe(reason);
  });
});

describe('registry', () => {
  it('validates id, route and uniqueness', () => {
    const r = new SubscriptionRegistry().insert('orders.v1', { kind: 'event-category', category: 0xf, wirePayloadSchemaRef: 'orders.envelope.v1' });
    const reason = (fn: () => unknown): [string, string] | undefined => {
      try {
        fn();
      } catch (err) {
        if (err instanceof SubscriptionError) return [err.kind, err.message];
        throw err;
      }
      return undefined;
    };
    expect(reason(() => r.insert('orders.v1', { kind: 'event-category', category: 1, wirePayloadSchemaRef: 'x' }))).toEqual([
      'duplicate_subscription',
      'duplicate subscription route: orders.v1',
    ]);
    expect(reason(() => r.insert('bad', { kind: 'event-category', category: 1, wirePayloadSchemaRef: 'x' }))?.[0]).toBe('invalid_subscription_id');
    expect(reason(() => r.insert('x.v1', { kind: 'event-category', category: 16, wirePayloadSchemaRef: 'x' }))).toEqual(['invalid_route', 'event category out of range']);
    expect(reason(() => r.insert('x.v1', { kind: 'event-category', category: 1, wirePayloadSchemaRef: '' }))).toEqual(['invalid_route', 'wire payload schema ref is empty']);
    expect(reason(() => r.insert('x.v1', { kind: 'event-category', category: 1, wirePayloadSchemaRef: 'Upper' }))?.[1]).toBe(
      'wire payload schema ref has characters outside [a-z0-9._-]',
    );
    expect(reason(() => r.insert('x.v1', { kind: 'event-category', category: 1, wirePayloadSchemaRef: 'x', backpressureCapacity: 0 }))).toEqual([
      'invalid_route',
      'backpressure capacity is zero',
    ]);
  });
});

describe('event cursor v1', () => {
  it('lays out 40 big-endian bytes: BPSC, version, source, position, category, H16(id), wall ms, sequence', () => {
    const id = 'orders.v1';
    const c = { category: 0xf, subscriptionIdHash: subscriptionHash(id), wallMs: 0x0102n, afterSequence: 7n };
    const b = encodeEventCursor(c);
    expect(b.length).toBe(EVENT_CURSOR_V1_LEN);
    expect([...b.subarray(0, 8)]).toEqual([0x42, 0x50, 0x53, 0x43, 0x01, 0x01, 0x01, 0x0f]);
    expect(b.subarray(8, 24)).toEqual(subscriptionHash(id));
    expect([...b.subarray(24, 40)]).toEqual([0, 0, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 0, 0, 0, 7]);
    expect(decodeEventCursor(b)).toEqual(c);
  });

  it('decode checks length, magic, version, source, position, and zero fields of a beginning cursor, in order', () => {
    const good = encodeEventCursor({ category: 1, subscriptionIdHash: new Uint8Array(16), wallMs: 0n, afterSequence: undefined });
    const patch = (i: number, v: number) => {
      const b = good.slice();
      b[i] = v;
      return b;
    };
    const table: [Uint8Array, string][] = [
      [good.subarray(0, 39), 'cursor length is not 40 bytes'],
      [patch(0, 0), 'cursor magic mismatch'],
      [patch(4, 2), 'cursor version mismatch'],
      [patch(5, 2), 'cursor source kind mismatch'],
      [patch(6, 9), 'cursor position kind is invalid'],
      [patch(39, 1), 'beginning cursor has nonzero numeric fields'],
    ];
    for (const [b, reason] of table) {
      expect(() => decodeEventCursor(b)).toThrow(expect.objectContaining({ code: 'cursor_invalid', message: reason }));
    }
  });
});

function subscriptionHash(id: string): Uint8Array {
  return blake3(bytes('syncbat.event-stream.cursor.subscription-id.v1\0'), bytes(id)).slice(0, 16);
}

const APP = new Coordinate('app:a', 'scope:s');
const OTHER = new Coordinate('app:b', 'scope:s');
const CAT_F = { category: 0xf, typeId: 1 };
const CAT_E = { category: 0xe, typeId: 1 };

let store: Store | undefined;
afterEach(async () => {
  await store?.close();
  store = undefined;
});

function runtime(s: Store, pageSize = 64) {
  const registry = new SubscriptionRegistry().insert('app.events.v1', {
    kind: 'event-category',
    category: 0xf,
    wirePayloadSchemaRef: 'app.event.envelope.v1',
    innerEventPayloadSchemaRef: 'app.event.v1',
  });
  return new SubscriptionRuntime(s, registry, { queryPageSize: pageSize });
}

/** Pulls `n` items, failing the test instead of hanging. */
async function take(it: AsyncIterator<StreamItem>, n: number): Promise<StreamItem[]> {
  const out: StreamItem[] = [];
  for (let i = 0; i < n; i++) {
    const next = await Promise.race([it.next(), new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`timed out waiting for item ${i}`)), 2000))]);
    if (next.done === true) throw new Error('stream ended');
    out.push(next.value);
  }
  return out;
}

function event(item: StreamItem | undefined): Extract<StreamItem, { kind: 'event' }> {
  if (item?.kind !== 'event') throw new Error(`expected an event, got ${item?.kind}`);
  return item;
}

function envelopeFields(item: StreamItem): Map<string, unknown> {
  if (item.kind !== 'event') throw new Error('not an event');
  const v = decodeCanonical(item.payload);
  if (v.t !== 'map') throw new Error('not a map');
  return new Map(v.entries.map(([k, val]) => [(k as { v: string }).v, val]));
}

describe('event-category stream', () => {
  it('replays the category in commit order, then a watermark, then live events with chained cursors', async () => {
    store = await simStore(21);
    await store.appendRaw(APP, CAT_F, bytes('one'));
    await store.appendRaw(OTHER, CAT_E, bytes('other category'));
    await store.appendRaw(OTHER, CAT_F, bytes('two'));
    const controller = new AbortController();
    const stream = runtime(store, 1).open({ subscriptionId: 'app.events.v1', clientWindow: 8, signal: controller.signal });
    const it = stream[Symbol.asyncIterator]();
    const [i1, i2, w] = await take(it, 3);
    expect([i1?.kind, i2?.kind, w?.kind]).toEqual(['event', 'event', 'watermark']);
    const a = event(i1);
    const b = event(i2);
    expect(a.globalSequence).toBe(1n);
    expect(b.globalSequence).toBe(3n);
    expect(w!.globalSequence).toBe(3n);
    // The first cursorBefore is the beginning cursor; each delivery chains from the previous cursorAfter.
    expect(decodeEventCursor(a.cursorBefore).afterSequence).toBeUndefined();
    expect(b.cursorBefore).toEqual(a.cursorAfter);
    expect(decodeEventCursor(w!.cursorAfter).afterSequence).toBe(3n);
    expect(a.schemaRef).toBe('app.event.envelope.v1');

    // Live: a commit after the watermark is delivered, chaining from the watermark cursor.
    const live = take(it, 1);
    await store.appendRaw(APP, CAT_F, bytes('three'));
    const c = event((await live)[0]);
    expect(c.cursorBefore).toEqual(w!.cursorAfter);
    expect(c.globalSequence).toBe(4n);
    controller.abort();
    expect((await it.next()).done).toBe(true);
  });

  it('envelopes carry the committed event: ids as u128 bin, stored payload bytes, chain link', async () => {
    store = await simStore(22);
    const receipt = await store.appendRaw(APP, CAT_F, bytes('payload'));
    const controller = new AbortController();
    const it = runtime(store).open({ subscriptionId: 'app.events.v1', clientWindow: 1, signal: controller.signal })[Symbol.asyncIterator]();
    const [item] = await take(it, 1);
    const f = envelopeFields(item!);
    expect([...f.keys()]).toEqual([
      'schema_version', 'subscription_id', 'event_id', 'correlation_id', 'entity', 'scope', 'event_kind_raw', 'event_category',
      'payload_version', 'timestamp_us', 'hlc_wall_ms', 'global_sequence', 'content_hash', 'prev_hash', 'inner_event_payload_schema_ref', 'payload',
    ]);
    expect(f.get('event_id')).toEqual(cbin(fromHex(receipt.eventId)));
    expect(f.get('event_kind_raw')).toEqual({ t: 'int', v: 0xf001 });
    expect(f.get('hlc_wall_ms')).toEqual({ t: 'int', v: Number(receipt.committedAt) });
    expect(f.get('payload')).toEqual({ t: 'array', items: [...bytes('payload')].map((v) => ({ t: 'int', v })) });
    controller.abort();
  });

  it('resumes strictly after a cursor, and still reports a watermark once caught up', async () => {
    store = await simStore(23);
    for (const p of ['a', 'b', 'c']) await store.appendRaw(APP, CAT_F, bytes(p));
    const rt = runtime(store);
    const c1 = new AbortController();
    const first = event((await take(rt.open({ subscriptionId: 'app.events.v1', clientWindow: 4, signal: c1.signal })[Symbol.asyncIterator](), 1))[0]);
    c1.abort();
    const c2 = new AbortController();
    const resumed = rt.open({ subscriptionId: 'app.events.v1', clientWindow: 4, resumeCursor: first.cursorAfter, signal: c2.signal });
    const items = await take(resumed[Symbol.asyncIterator](), 3);
    expect(items.map((i) => [i.kind, i.globalSequence])).toEqual([
      ['event', 2n],
      ['event', 3n],
      ['watermark', 3n],
    ]);
    expect(items[0]!.kind === 'event' && items[0]!.cursorBefore).toEqual(first.cursorAfter);
    c2.abort();
  });

  it('an empty store waits without a watermark, then delivers the first live event', async () => {
    store = await simStore(24);
    const controller = new AbortController();
    const it = runtime(store).open({ subscriptionId: 'app.events.v1', clientWindow: 4, signal: controller.signal })[Symbol.asyncIterator]();
    const pending = take(it, 1);
    await new Promise((r) => setTimeout(r, 10));
    await store.appendRaw(APP, CAT_F, bytes('x'));
    const [item] = await pending;
    expect([item!.kind, item!.globalSequence]).toEqual(['event', 1n]);
    controller.abort();
  });

  it('a live commit of another category moves the watermark, not the events', async () => {
    store = await simStore(25);
    await store.appendRaw(APP, CAT_F, bytes('x'));
    const controller = new AbortController();
    const it = runtime(store).open({ subscriptionId: 'app.events.v1', clientWindow: 4, signal: controller.signal })[Symbol.asyncIterator]();
    await take(it, 2);
    const pending = take(it, 1);
    await store.appendRaw(OTHER, CAT_E, bytes('elsewhere'));
    const [w] = await pending;
    expect([w!.kind, w!.globalSequence]).toEqual(['watermark', 2n]);
    controller.abort();
  });

  it('skips a crypto-shredded event but moves the cursor past it', async () => {
    store = await Store.open({ dir: '/s', fs: new SimFs(28), payloadEncryption: { granularity: 'entity' } });
    await store.appendRaw(OTHER, CAT_F, bytes('secret'));
    await store.appendRaw(APP, CAT_F, bytes('kept'));
    expect((await store.shredScope({ entity: OTHER })).status).toBe('destroyed');
    const controller = new AbortController();
    const it = runtime(store).open({ subscriptionId: 'app.events.v1', clientWindow: 4, signal: controller.signal })[Symbol.asyncIterator]();
    const first = event((await take(it, 1))[0]);
    expect(first.globalSequence).toBe(2n);
    expect(decodeEventCursor(first.cursorBefore).afterSequence).toBe(1n);
    controller.abort();
  });

  it('open() refuses unknown ids, foreign or corrupt cursors and a zero window, with stream codes', async () => {
    store = await simStore(26);
    const rt = runtime(store);
    const code = (fn: () => unknown): [string, string] | undefined => {
      try {
        fn();
      } catch (err) {
        if (err instanceof SubscriptionError) return [err.code, err.message];
        throw err;
      }
      return undefined;
    };
    expect(code(() => rt.open({ subscriptionId: 'nope.v1', clientWindow: 1 }))).toEqual(['unknown_subscription', 'nope.v1']);
    const foreign = encodeEventCursor({ category: 0xf, subscriptionIdHash: subscriptionHash('other.v1'), wallMs: 0n, afterSequence: 1n });
    expect(code(() => rt.open({ subscriptionId: 'app.events.v1', clientWindow: 1, resumeCursor: foreign }))).toEqual([
      'cursor_mismatch',
      'cursor subscription id hash mismatch',
    ]);
    const otherCategory = encodeEventCursor({ category: 0xe, subscriptionIdHash: subscriptionHash('app.events.v1'), wallMs: 0n, afterSequence: 1n });
    expect(code(() => rt.open({ subscriptionId: 'app.events.v1', clientWindow: 1, resumeCursor: otherCategory }))).toEqual([
      'cursor_mismatch',
      'cursor event category mismatch',
    ]);
    expect(code(() => rt.open({ subscriptionId: 'app.events.v1', clientWindow: 1, resumeCursor: new Uint8Array(3) }))?.[0]).toBe('cursor_invalid');
    expect(code(() => rt.open({ subscriptionId: 'app.events.v1', clientWindow: 0 }))?.[0]).toBe('internal_error');
    expect(rt.open({ subscriptionId: 'app.events.v1', clientWindow: 1000 }).window).toBe(256);
  });

  it('a closed store ends the stream with an internal_error', async () => {
    store = await simStore(27);
    const it = runtime(store).open({ subscriptionId: 'app.events.v1', clientWindow: 4 })[Symbol.asyncIterator]();
    const pending = it.next();
    await new Promise((r) => setTimeout(r, 5));
    await store.close();
    await expect(pending).rejects.toMatchObject({ code: 'internal_error' });
  });
});
