// Child process for the syscall probe: opens one contender, does exactly N appends with W writers, closes.
// Invariant: prints one JSON line and nothing else on stdout, so the parent can run it under strace and read it back.

import { contender } from './contenders.mjs';
import { freshDir, removeAll } from './tmp.mjs';

const [id, writersArg, countArg] = process.argv.slice(2);
const c = contender(id);
const writers = Number(writersArg);
const count = Number(countArg);
const payload = Buffer.alloc(256, 0x5a);
const status = await c.load();
if (!status.ok) {
  console.log(JSON.stringify({ ok: false, reason: status.reason }));
  process.exit(0);
}
const handle = await c.open(freshDir(id), payload);
const perCall = handle.eventsPerCall ?? 1;
let left = Math.ceil(count / perCall);
await Promise.all(
  Array.from({ length: writers }, async (_, w) => {
    while (left > 0) {
      left--;
      await handle.append(w);
    }
  }),
);
await handle.close();
removeAll();
console.log(JSON.stringify({ ok: true, events: Math.ceil(count / perCall) * perCall }));
