// Entry point of `pnpm bench [--quick] [--only=appends,syscalls,verify,reads,compaction,replication,syncbat,projections,delivery,scale]
// [--scale-sizes=1e6,4e6]`: runs the scenarios, prints the table, writes results.
// Invariant: a peer or scenario that fails is reported (null, with the reason) and the rest still runs; scratch dirs under os.tmpdir() are removed at exit.

import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';

const BENCH_DIR = fileURLToPath(new URL('..', import.meta.url));
const argv = process.argv.slice(2);
const log = (...a) => console.log(...a);

try {
  await import('@batpak/core');
} catch (err) {
  console.error(`@batpak/core does not load (${err.message.split('\n')[0]}).\nBuild it first: pnpm build (at the repository root).`);
  process.exit(1);
}

const { config } = await import('./config.mjs');
const { machineInfo } = await import('./machine.mjs');
const { appendsScenario } = await import('./scenarios/appends.mjs');
const { syscallScenario } = await import('./scenarios/syscalls.mjs');
const { buildStore } = await import('./scenarios/store-build.mjs');
const { verifyScenario } = await import('./scenarios/verify.mjs');
const { readsScenario } = await import('./scenarios/reads.mjs');
const { compactionScenario } = await import('./scenarios/compaction.mjs');
const { replicationScenario } = await import('./scenarios/replication.mjs');
const { syncbatScenario } = await import('./scenarios/syncbat.mjs');
const { projectionsScenario } = await import('./scenarios/projections.mjs');
const { deliveryScenario } = await import('./scenarios/delivery.mjs');
const { scaleScenario, scaleSizes } = await import('./scenarios/scale.mjs');
const { buildResults, printTable } = await import('./report.mjs');
const { freshDir, removeDir, removeAll } = await import('./tmp.mjs');
const { CONTENDERS } = await import('./contenders.mjs');

const cfg = config(argv);
let scaleTitle;
try {
  scaleTitle = scaleSizes(cfg, argv).map((n) => n.toLocaleString('en-US')).join(' / ');
} catch (err) {
  console.error(err.message);
  process.exit(2);
}
const onlyArg = argv.find((a) => a.startsWith('--only='));
const only = onlyArg === undefined ? undefined : new Set(onlyArg.slice('--only='.length).split(','));
const wants = (s) => only === undefined || only.has(s);

const peerVersions = {};
for (const c of CONTENDERS) {
  const s = await c.load();
  const lib = c.id.replace(/-.*$/, '');
  if (lib === 'raw' || lib === 'batpak') continue;
  peerVersions[lib] = s.ok ? s.version : null;
}
const machine = machineInfo(cfg, peerVersions);
log(`@batpak/bench ${cfg.mode}: ${machine.cpus}× ${machine.cpu}, ${machine.memoryGiB} GiB, ${machine.platform}, Node ${machine.node}; load ${machine.loadAverageAtStart.join(' ')}`);
if (machine.coreBuild.stale) log('  ! packages/core/dist is older than packages/core/src: these figures are for the last build (run pnpm build to refresh)');
for (const [k, v] of Object.entries(peerVersions)) log(`  peer ${k}: ${v ?? 'not available (null in results)'}`);

const out = {};
const errors = {};
async function step(name, title, fn, always = false) {
  if (!always && !wants(name)) return;
  log(`\n-- ${title}`);
  const t0 = Date.now();
  try {
    out[name] = await fn();
  } catch (err) {
    errors[name] = err instanceof Error ? err.stack : String(err);
    log(`  ! ${name} failed: ${err instanceof Error ? err.message : err} (its figures are null)`);
  }
  log(`  (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
}

await step('appends', 'appends: 256 B events, 1/8/64 writers, interleaved', () => appendsScenario(cfg, log));
await step('syscalls', `syscalls per event under strace (${cfg.probeEvents} appends minus an empty open/close)`, () => syscallScenario(cfg, log));

let bigDir;
if (wants('verify') || wants('reads')) {
  await step('big', `build the ${cfg.bigEvents.toLocaleString('en-US')}-event store (${cfg.bigPayloadBytes} B payloads)`, async () => {
    bigDir = freshDir('big-store');
    const r = await buildStore(bigDir, {
      events: cfg.bigEvents,
      payloadBytes: cfg.bigPayloadBytes,
      entities: Math.floor(cfg.bigEvents / cfg.bigEventsPerEntity),
    });
    log(`  ${r.events} events, ${(r.diskBytes / 1e6).toFixed(0)} MB in ${r.segments} segments: appended in ${r.appendSeconds.toFixed(1)} s (${Math.round(r.events / r.appendSeconds)} events/s), sync ${r.syncSeconds.toFixed(2)} s`);
    return r;
  }, true); // the verify and reads scenarios need the store, whatever --only names
  if (out.big !== undefined) {
    await step('verify', 'verifyChain and cold open of the big store', () => verifyScenario(cfg, out.big, bigDir, log));
    await step('reads', 'get / query latency and read throughput on the big store', () => readsScenario(cfg, out.big, bigDir, log));
  }
  if (bigDir !== undefined) removeDir(bigDir);
}
if (wants('verify')) {
  // The 256 B-event store is built after the 1 KiB one is removed, so only one big store is on disk at a time.
  let dir256;
  await step('big256', `build the ${cfg.verify256Events.toLocaleString('en-US')}-event store (256 B payloads)`, async () => {
    dir256 = freshDir('verify-256');
    const r = await buildStore(dir256, { events: cfg.verify256Events, payloadBytes: 256, entities: Math.floor(cfg.verify256Events / cfg.bigEventsPerEntity) });
    log(`  ${r.events} events, ${(r.diskBytes / 1e6).toFixed(0)} MB in ${r.segments} segments: appended in ${r.appendSeconds.toFixed(1)} s (${Math.round(r.events / r.appendSeconds)} events/s), sync ${r.syncSeconds.toFixed(2)} s`);
    return r;
  }, true);
  if (out.big256 !== undefined) await step('verify256', 'verifyChain of the 256 B-event store', () => verifyScenario(cfg, out.big256, dir256, log, { coldOpen: false }), true);
  if (dir256 !== undefined) removeDir(dir256);
}
await step('compaction', 'compaction: merge, and retention dropping half', () => compactionScenario(cfg, log));
await step('replication', 'read replicas over NATS JetStream: catch-up and lag', () => replicationScenario(cfg, log));
await step('syncbat', 'syncbat/netbat vs core: 64 and 1 persist dispatches, loopback persist and heartbeat vs a bare net server', () => syncbatScenario(cfg, log));
await step('projections', `projections: one ${cfg.projectionEvents.toLocaleString('en-US')}-event entity, cold / from a snapshot / cached, beside a hand fold`, () => projectionsScenario(cfg, log));
await step('delivery', `delivery: subscribe live (${cfg.deliveryWriters} writers) and catch-up, receipt → subscriber latency, react throughput, beside appendRaw alone and a poll loop`, () => deliveryScenario(cfg, log));
// Last: the largest store of the suite (up to ~4 GB at 10M events), built and removed inside the step.
await step('scale', `scale: one store grown to ${scaleTitle} events (64 B), each size opened in fresh processes`, () => scaleScenario(cfg, argv, log));

machine.loadAverageAtEnd = loadavg().map((x) => Math.round(x * 100) / 100);
const appends = out.appends ?? [];
const results = buildResults({
  machine,
  appends,
  probes: (out.syscalls ?? []).filter((p) => p.syncsPerEvent !== undefined),
  big: out.big,
  verify: out.verify,
  verify256: out.verify256,
  big256: out.big256,
  scale: out.scale,
  reads: out.reads,
  compaction: out.compaction,
  replication: out.replication,
  projections: out.projections,
  delivery: out.delivery,
});
// Issue 25's figures sit beside issue 10's shape (which stays as it was).
if (out.syncbat !== undefined) results.syncbat = out.syncbat;
printTable(results, appends);

// A partial run (--only) must not overwrite the full results.
const name = only === undefined ? 'results' : `results-only-${[...only].join('-')}`;
writeFileSync(`${BENCH_DIR}${name}.json`, `${JSON.stringify(results, null, 2)}\n`);
writeFileSync(`${BENCH_DIR}${name}-detail.json`, `${JSON.stringify({ config: cfg, errors, ...out }, null, 2)}\n`);
log(`wrote bench/${name}.json and bench/${name}-detail.json`);
removeAll();
