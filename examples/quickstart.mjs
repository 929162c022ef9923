// Quickstart: open a store in a temp dir, append typed events to a few entities, read them back,
// verify the chain and a receipt, erase one customer with shredScope, and verify again.
// Run: npx -y pnpm@10 install && npx -y pnpm@10 demo
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Coordinate, defineEvent, EventRegistry, isBatpakError, Store, receiptToJSON, verifyReceiptClaim } from '@batpak/core';

const Deposited = defineEvent({ category: 0x1, typeId: 1, name: 'Deposited' });
const Withdrawn = defineEvent({ category: 0x1, typeId: 2, name: 'Withdrawn' });

const dir = await mkdtemp(join(tmpdir(), 'batpak-quickstart-'));
const signingKey = randomBytes(32);
const store = await Store.open({
  dir,
  registry: new EventRegistry([Deposited, Withdrawn]),
  signingKey, // receipts are signed with ed25519 (one signature per commit group)
  payloadEncryption: { granularity: 'entity' }, // payloads sealed per entity, so one customer can be erased
});
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

  const balances = async () => {
    for (const acct of accounts) {
      let balance = 0;
      let shredded = 0;
      for await (const e of store.query({ entity: acct.entity })) {
        if (e.shredded) shredded++;
        else balance += e.header.kind.typeId === 1 ? e.payload.amount : -e.payload.amount;
      }
      console.log(`  ${acct.entity}: ${shredded > 0 ? `${shredded} events shredded` : `balance ${balance}`}`);
    }
  };
  await balances();

  let report = await store.verifyChain();
  console.log('verifyChain report:', JSON.stringify(report));

  const receipt = receipts[0];
  console.log('first receipt (portable JSON):', JSON.stringify(receiptToJSON(receipt)));
  console.log('store-side verification:', (await store.verifyReceipt(receipt)).status);
  console.log('offline verification with only the public key:', verifyReceiptClaim(receipt, [store.publicKey]).status);

  // An erasure request for alice: her key is destroyed; her payloads become unrecoverable.
  const shred = await store.shredScope({ entity: accounts[0] });
  console.log('shredScope(alice):', shred.status, `${shred.destroyed} key(s), scope ${shred.scope}, shred event ${shred.receipt?.eventId}`);
  await balances();
  try {
    await store.get(receipt.eventId);
  } catch (err) {
    if (!isBatpakError(err, 'ERR_PAYLOAD_SHREDDED')) throw err;
    console.log(`get(alice's first event): ${err.code}`);
  }
  report = await store.verifyChain();
  console.log('verifyChain after the shred:', JSON.stringify(report));
  console.log('alice\'s old receipt still verifies:', verifyReceiptClaim(receipt, [store.publicKey]).status);
  if (!report.intact) process.exitCode = 1;
} finally {
  await store.close();
  await rm(dir, { recursive: true, force: true });
}
