// Child process for the cold-open figure: a fresh Node process (cold JIT, empty heap) opens the store once.
// Invariant: module loading is outside the timed region; prints one JSON line { openSeconds, rssMiB, arrayBuffersMiB, events }.

import { performance } from 'node:perf_hooks';
import { Store } from '@batpak/core';

const dir = process.argv[2];
const t0 = performance.now();
const store = await Store.open({ dir });
const openSeconds = (performance.now() - t0) / 1000;
const events = Number(store.stats().events);
const mem = process.memoryUsage();
const rssMiB = mem.rss / 2 ** 20;
// ArrayBuffer memory still referenced after open: shows whether the index keeps segment bytes alive.
const arrayBuffersMiB = mem.arrayBuffers / 2 ** 20;
await store.close();
console.log(JSON.stringify({ openSeconds, rssMiB, arrayBuffersMiB, events }));
