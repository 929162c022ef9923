// An event-sourced order service on @batpak/core: orders are the source of truth, a reaction turns each
// order into exactly one invoice (committed together with its cursor), a projection folds each customer's
// balance, and a durable consumer feeds a report that resumes after a restart. It checks its own results
// and exits non-zero if any is wrong: every order has exactly one invoice caused by it, every balance is
// the sum of its invoices minus its payments, the report saw every order exactly once.
// Run: npx -y pnpm@10 run build && node examples/event-sourced-service.mjs
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Coordinate, defineEvent, defineProjection, EventRegistry, Store } from '@batpak/core';

const OrderPlaced = defineEvent({ category: 0x2, typeId: 1, name: 'OrderPlaced' });
const InvoiceIssued = defineEvent({ category: 0x2, typeId: 2, name: 'InvoiceIssued' });
const PaymentReceived = defineEvent({ category: 0x2, typeId: 3, name: 'PaymentReceived' });
const registry = new EventRegistry([OrderPlaced, InvoiceIssued, PaymentReceived]);

// What a customer owes: invoices add, payments subtract. Folded per customer account entity.
const Balance = defineProjection({
  name: 'balance',
  version: 1,
  kinds: [InvoiceIssued, PaymentReceived],
  initial: () => ({ owed: 0, invoices: 0 }),
  apply: (s, e) =>
    e.header.kind.typeId === InvoiceIssued.kind.typeId ? { owed: s.owed + e.payload.amount, invoices: s.invoices + 1 } : { owed: s.owed - e.payload.amount, invoices: s.invoices },
  snapshotEvery: 10,
});

const CUSTOMERS = ['alice', 'bob', 'carol'];
const account = (customer) => new Coordinate(`account:${customer}`, 'billing');
const failures = [];
const check = (ok, what) => {
  if (!ok) failures.push(what);
};

/** The invoicing reaction: one InvoiceIssued per order, on the customer's account (causation set by the store). */
const invoicing = (store, signal) =>
  store.react(
    'invoicing',
    { kinds: [OrderPlaced] },
    (order, tx) => {
      const { orderId, customer, amount } = order.payload;
      tx.append(account(customer), InvoiceIssued, { orderId, amount });
    },
    { signal },
  );

/** The report: a durable consumer of orders; acks every delivery, so a restart resumes after the last one. */
async function report(store, seen, stopAfter) {
  const consumer = await store.consumer('report', { kinds: [OrderPlaced] });
  const stop = new AbortController();
  let n = 0;
  for await (const { event, ack } of consumer.deliveries({ signal: stop.signal })) {
    seen.set(event.payload.orderId, (seen.get(event.payload.orderId) ?? 0) + 1);
    await ack();
    if (++n === stopAfter) stop.abort();
  }
  const { position } = consumer;
  await consumer.close();
  return position;
}

/** Resolves once `count` InvoiceIssued events are committed (a plain subscription, ended by its own signal). */
async function invoicesCommitted(store, count) {
  const stop = new AbortController();
  let n = 0;
  for await (const _ of store.subscribe({ kinds: [InvoiceIssued], signal: stop.signal })) if (++n === count) stop.abort();
}

/** Runs the reaction until `count` invoices exist in total, then stops it. */
async function invoiceUntil(store, count) {
  const stop = new AbortController();
  const running = invoicing(store, stop.signal);
  await invoicesCommitted(store, count);
  stop.abort();
  await running; // resolves (no error) once the abort is seen
}

const dir = await mkdtemp(join(tmpdir(), 'batpak-es-service-'));
try {
  // First run: 30 orders placed while the reaction runs; the report reads them all.
  const orders = [];
  let store = await Store.open({ dir, registry });
  const stop = new AbortController();
  const reacting = invoicing(store, stop.signal);
  const place = async (i) => {
    const customer = CUSTOMERS[i % CUSTOMERS.length];
    const order = { orderId: `o${i}`, customer, amount: 10 + i };
    const r = await store.append(new Coordinate(`order:${order.orderId}`, 'shop'), OrderPlaced, order);
    orders.push({ ...order, eventId: r.eventId });
  };
  await Promise.all(Array.from({ length: 30 }, (_, i) => place(i)));
  await store.append(account('alice'), PaymentReceived, { amount: 50 });
  await invoicesCommitted(store, 30);
  stop.abort();
  await reacting;
  const seen = new Map();
  await report(store, seen, 30);
  await store.close();

  // Restart: one more order. The reaction and the report resume after what they already handled, so the
  // 30 earlier orders get no second invoice and no second report line.
  store = await Store.open({ dir, registry });
  await place(30);
  await invoiceUntil(store, 31);
  const position = await report(store, seen, 1);

  // Checks. Every order: exactly one invoice, caused by the order, and the causation walk ends at it.
  const invoicesByOrder = new Map();
  for await (const e of store.query({ kind: InvoiceIssued.kind })) {
    const list = invoicesByOrder.get(e.payload.orderId) ?? [];
    list.push(e);
    invoicesByOrder.set(e.payload.orderId, list);
  }
  for (const o of orders) {
    const invoices = invoicesByOrder.get(o.orderId) ?? [];
    check(invoices.length === 1, `order ${o.orderId} has ${invoices.length} invoices`);
    const inv = invoices[0];
    if (inv === undefined) continue;
    check(inv.header.causationId === o.eventId, `invoice of ${o.orderId} has causationId ${inv.header.causationId}, not the order's id`);
    check(inv.payload.amount === o.amount, `invoice of ${o.orderId} is for ${inv.payload.amount}, not ${o.amount}`);
    const walk = await store.walkCausation(inv.header.eventId);
    check(walk.boundary.kind === 'reached-root' && walk.events.at(-1)?.header.eventId === o.eventId, `causation of ${o.orderId}'s invoice does not end at the order`);
  }
  check(invoicesByOrder.size === orders.length, `${invoicesByOrder.size} orders invoiced, ${orders.length} placed`);
  // Every balance is what the orders and payments say.
  const balances = {};
  for (const customer of CUSTOMERS) {
    const expected = orders.filter((o) => o.customer === customer).reduce((sum, o) => sum + o.amount, 0) - (customer === 'alice' ? 50 : 0);
    const { state } = await store.project(Balance, account(customer).entity);
    balances[customer] = state.owed;
    check(state.owed === expected, `${customer} owes ${state.owed} by the projection, ${expected} by the orders`);
  }
  // The report saw every order exactly once, across the restart.
  for (const o of orders) check(seen.get(o.orderId) === 1, `the report saw ${o.orderId} ${seen.get(o.orderId) ?? 0} times`);
  check(seen.size === orders.length, `the report saw ${seen.size} orders, ${orders.length} placed`);
  const [info] = (await store.consumers()).filter((c) => c.name === 'report');
  check(info?.position === position, `the report's durable position is ${info?.position}, its last ack ${position}`);
  await store.close();

  console.log(`orders placed: ${orders.length} (30, a restart, 1 more); invoices issued: ${[...invoicesByOrder.values()].flat().length}`);
  console.log(`balances owed: ${CUSTOMERS.map((c) => `${c} ${balances[c]}`).join(', ')}`);
  console.log(`report: ${seen.size} orders seen, cursor at global sequence ${position}`);
  if (failures.length > 0) {
    console.error(`FAILED:\n  ${failures.join('\n  ')}`);
    process.exitCode = 1;
  } else console.log('all checks passed');
} finally {
  await rm(dir, { recursive: true, force: true });
}
