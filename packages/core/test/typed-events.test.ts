// Typed events (INV-SCHEMA-ON-APPEND): defineEvent with a Standard Schema v1 validator (a hand-made one here, the interface zod,
// valibot and arktype implement) infers the payload type, validates every append (and, opted in, every
// read), reports the schema's issues in ERR_INVALID_PAYLOAD; definitions work as query kinds and names as keys.
import { describe, expect, expectTypeOf, it } from 'vitest';
import { BatpakError, Coordinate, defineEvent, EventRegistry, Store, type EventDefinition, type StandardSchemaV1 } from '../src/index.js';
import { SimFs } from '../src/entry/testing.js';

/** A tiny Standard Schema: `{ amount: number > 0, note?: string }`, trimming `note` (a transform). */
interface Deposit {
  amount: number;
  note?: string;
}
let schemaRuns = 0;
const depositSchema: StandardSchemaV1<unknown, Deposit> = {
  '~standard': {
    version: 1,
    vendor: 'hand-made',
    validate(value) {
      schemaRuns++;
      if (typeof value !== 'object' || value === null) return { issues: [{ message: 'expected an object' }] };
      const v = value as Record<string, unknown>;
      const issues: { message: string; path: PropertyKey[] }[] = [];
      if (typeof v['amount'] !== 'number' || !(v['amount'] > 0)) issues.push({ message: 'must be a positive number', path: ['amount'] });
      if (v['note'] !== undefined && typeof v['note'] !== 'string') issues.push({ message: 'must be a string', path: ['note'] });
      if (issues.length > 0) return { issues };
      return { value: { amount: v['amount'] as number, ...(v['note'] === undefined ? {} : { note: (v['note'] as string).trim() }) } };
    },
  },
};

const Deposited = defineEvent({ name: 'Deposited', category: 1, typeId: 1, schema: depositSchema });
const Checked = defineEvent({ name: 'Checked', category: 1, typeId: 2, schema: depositSchema, validateOnRead: true });
const Legacy = defineEvent<{ amount: number }>({ category: 1, typeId: 3, name: 'Legacy' });
const acct = new Coordinate('account:1', 'bank');

/** A store whose registry holds `defs` (none: no registry). */
const open = (fs = new SimFs(1), defs: EventDefinition<unknown>[] = [Deposited, Checked, Legacy]) =>
  Store.open({ dir: '/s', fs, ...(defs.length === 0 ? {} : { registry: new EventRegistry(defs) }), onWarning: () => undefined });

async function rejection(p: Promise<unknown>): Promise<BatpakError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(BatpakError);
  return err as BatpakError;
}

describe('defineEvent with a Standard Schema', () => {
  it('infers the payload type from the schema; the other forms keep theirs', () => {
    expectTypeOf(Deposited).toEqualTypeOf<EventDefinition<Deposit>>();
    expectTypeOf(Legacy).toEqualTypeOf<EventDefinition<{ amount: number }>>();
    expectTypeOf(defineEvent({ category: 1, typeId: 9 })).toEqualTypeOf<EventDefinition<unknown>>();
    const guarded = defineEvent({ category: 1, typeId: 8, validate: (v: unknown): v is { id: string } => typeof v === 'object' });
    expectTypeOf(guarded).toEqualTypeOf<EventDefinition<{ id: string }>>();
  });

  it('types append: the payload must match the schema, the coordinate must be a coordinate', async () => {
    const store = await open();
    if (Date.now() < 0) {
      // Compile-time checks only (never run).
      // @ts-expect-error amount must be a number
      await store.append(acct, Deposited, { amount: 'ten' });
      // @ts-expect-error a string is not a coordinate
      await store.append('account:1', Deposited, { amount: 1 });
    }
    expectTypeOf(store.append).parameter(0).not.toBeString();
    await store.close();
  });

  it('validates every append and stores the schema output', async () => {
    const store = await open();
    const r = await store.append(acct, Deposited, { amount: 5, note: '  hi  ' });
    expect((await store.get(r.eventId)).payload).toEqual({ amount: 5, note: 'hi' });
    const err = await rejection(store.append(acct, Deposited, { amount: -1, note: 3 } as unknown as Deposit));
    expect(err.code).toBe('ERR_INVALID_PAYLOAD');
    expect(err.message).toMatch(/payload of Deposited: amount: must be a positive number \(and 1 more issue\)/);
    expect(err.details['issues']).toEqual([
      { message: 'must be a positive number', path: 'amount' },
      { message: 'must be a string', path: 'note' },
    ]);
    expect(store.stats().events).toBe(1n); // the refused append wrote nothing
    const batchErr = await rejection(store.appendBatch([{ coord: acct, kind: Deposited, payload: { amount: 1 } }, { coord: acct, kind: Deposited, payload: {} }]));
    expect(batchErr.details).toMatchObject({ index: 1 });
    expect(store.stats().events).toBe(1n);
    await store.close();
  });

  it('validates on read only when asked (validateOnRead)', async () => {
    const fs = new SimFs(2);
    const writer = await open(fs, []);
    // Written without the schema (no registry), as an older program might have.
    const bad = await writer.append(acct, defineEvent({ category: 1, typeId: 2, name: 'raw' }), { amount: 0 });
    const ok = await writer.append(acct, defineEvent({ category: 1, typeId: 1, name: 'raw1' }), { amount: 0 });
    await writer.close();
    const store = await open(fs);
    const before = schemaRuns;
    expect((await store.get(ok.eventId)).payload).toEqual({ amount: 0 }); // Deposited: not validated on read
    expect(schemaRuns).toBe(before);
    const err = await rejection(store.get(bad.eventId));
    expect(err.code).toBe('ERR_INVALID_PAYLOAD');
    expect(err.details).toMatchObject({ eventId: bad.eventId, issues: [{ path: 'amount' }] });
    await store.close();
  });

  it('refuses an asynchronous schema, a thrown schema and a non-schema with typed errors', async () => {
    const asyncSchema: StandardSchemaV1<unknown, number> = { '~standard': { version: 1, vendor: 'x', validate: async (v) => ({ value: v as number }) } };
    const throwing: StandardSchemaV1<unknown, number> = {
      '~standard': {
        version: 1,
        vendor: 'x',
        validate: () => {
          throw new Error('boom');
        },
      },
    };
    const A = defineEvent({ name: 'A', category: 2, typeId: 1, schema: asyncSchema });
    const T = defineEvent({ name: 'T', category: 2, typeId: 2, schema: throwing });
    const store = await open(new SimFs(3), [A, T]);
    expect((await rejection(store.append(acct, A, 1))).message).toMatch(/validates asynchronously/);
    expect((await rejection(store.append(acct, T, 1))).message).toMatch(/the schema threw: boom/);
    await store.close();
    expect(() => defineEvent({ name: 'X', category: 2, typeId: 3, schema: {} as StandardSchemaV1 })).toThrow(/Standard Schema v1/);
  });
});

describe('definitions as lookup keys', () => {
  it('query({ kind }) takes a definition', async () => {
    const store = await open();
    await store.append(acct, Deposited, { amount: 1 });
    await store.append(acct, Legacy, { amount: 2 });
    const found = [];
    for await (const e of store.query({ kind: Deposited })) found.push(e.payload);
    expect(found).toEqual([{ amount: 1 }]);
    await store.close();
  });

  it('registry.byName finds a definition; a name on two kinds is a registry problem', () => {
    const registry = new EventRegistry([Deposited, Legacy]);
    expect(registry.byName('Deposited')).toBe(Deposited);
    expect(registry.byName('nope')).toBeUndefined();
    const clash = new EventRegistry([Deposited, defineEvent({ name: 'Deposited', category: 4, typeId: 4 })]);
    expect(clash.problems().map((p) => p.message)).toEqual(['name Deposited is used by both 0x1001 and 0x4004']);
  });
});
