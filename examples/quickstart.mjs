// Quickstart: open a store in a temp dir, append typed events to a few entities, read them back,
// verify the chain and a receipt, and print the report. Run: npx -y pnpm@10 install && npx -y pnpm@10 demo
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Coordinate, defineEvent, EventRegistry, Store, receiptToJSON, verifyReceiptClaim } from '@batpak/core';

const Deposited = defineEvent({ category: 0x1, typeId: 1, name: 'Deposited' });
const Withdrawn = defineEvent({ category: 0x1, typeId: 2, name: 'Withdrawn' });

const dir = await mkdtemp(join(tmpdir(), 'batpak-quickstart-'));
const signingKey = randomBytes(32);
const store = await Store.open({ dir, registry: new EventRegistry([Deposited, Withdrawn]), signingKey });
try {
  console.log(`store opened in ${dir}`);
  const accounts = ['account:alice', 'account:bob', 'account:carol'].map((e) => new Coordinate(e, 'bank'));
  const receipts = [];
  for (const [i, acct] of accounts.entries()) {
    receipts.push(await store.append(acct, Deposited, { amount: 100 * (i + 1) }));
    receipts.push(await store.append(acct, Withdrawn, { amount: 10 * (i + 1) }));
  }
  // Concurrent appends are group-committed: one write and one fsync for all of them.
  receipts.push(...(await Promise.all(accounts.map((acct) => store.append(acct, Deposited, { amount: 1 })))));
  console.log(`appended ${receipts.length} events (durable: each receipt means fsynced)`);

  for (const acct of accounts) {
    let balance = 0;
    for await (const e of store.query({ entity: acct.entity })) {
      balance += e.header.kind.typeId === 1 ? e.payload.amount : -e.payload.amount;
    }
    console.log(`  ${acct.entity}: balance ${balance}`);
  }

  const report = await store.verifyChain();
  console.log('verifyChain report:', JSON.stringify(report));

  const receipt = receipts[0];
  console.log('first receipt (portable JSON):', JSON.stringify(receiptToJSON(receipt)));
  console.log('store-side verification:', (await store.verifyReceipt(receipt)).status);
  console.log('offline verification with only the public key:', verifyReceiptClaim(receipt, [store.publicKey]).status);
  if (!report.intact) process.exitCode = 1;
} finally {
  await store.close();
  await rm(dir, { recursive: true, force: true });
}
