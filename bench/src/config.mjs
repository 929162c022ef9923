// Sizes of every scenario, full and --quick (a tenth of the sizes, fewer rounds, shorter time boxes).
// Invariant: the quick suite runs exactly the same scenarios and cells as the full one, only smaller.

const FULL = {
  mode: 'full',
  reps: 5, // rounds of the interleaved append cells and of the read rounds; figures are their medians
  appendMs: 1000, // time box of one append cell (anchors.md used 1–1.5 s)
  appendWarmupMs: 300,
  probeEvents: 2000, // appends per contender under strace (anchors.md probe.sh used 2,000)
  bigEvents: 1_000_000, // the verifyChain / cold-open / reads store
  bigPayloadBytes: 1024, // 1 KiB events for the MB/s figure
  bigEventsPerEntity: 100,
  verifyReps: 3, // each verifyChain pass reads the whole ~1.3 GB store
  verify256Events: 1_000_000, // a second verifyChain store of 256 B events (verifyChain only, no reads)
  scaleSizes: [1_000_000, 4_000_000, 10_000_000], // the scale scenario's store, grown through these sizes (64 B events)
  scaleEntities: 10_000,
  scaleOpens: 3, // fresh processes opening each size; the figures are their medians
  scaleGets: 1000, // random gets right after open (a cold process), per process
  scaleQueries: 100, // query({ entity, after, limit: 100 }) per process
  gets: 20_000,
  queries: 500,
  scanEvents: 200_000,
  compactEvents: 200_000,
  compactReps: 3,
  replicaEvents: 20_000, // signed events a fresh replica catches up on (natsbat replicate)
  replicaReps: 3,
  replicaLagSamples: 500, // single appends timed from receipt to the replica's apply
  projectionEvents: 1000, // events of the projected entity (issue 18 fixes 1,000, also under --quick)
  projectionReads: 200, // project() calls per cell and round
  deliveryEvents: 20_000, // events appended per live delivery cell (writer alone, + subscribe, + a poll loop)
  deliveryWriters: 64,
  replayEvents: 200_000, // the log a subscription catches up on
  deliveryLatencySamples: 500, // single appends timed from receipt to the follower
  reactionEvents: 2000, // source events per reaction cell (each answered by one effect event)
};

export function config(argv) {
  if (!argv.includes('--quick')) return FULL;
  return {
    ...FULL,
    mode: 'quick',
    reps: 3,
    appendMs: FULL.appendMs / 10,
    appendWarmupMs: FULL.appendWarmupMs / 10,
    probeEvents: FULL.probeEvents / 10,
    bigEvents: FULL.bigEvents / 10,
    verifyReps: 3,
    verify256Events: FULL.verify256Events / 10,
    scaleSizes: FULL.scaleSizes.map((n) => n / 10),
    gets: FULL.gets / 10,
    queries: FULL.queries / 10,
    scanEvents: FULL.scanEvents / 10,
    compactEvents: FULL.compactEvents / 10,
    compactReps: 3,
    replicaEvents: FULL.replicaEvents / 10,
    replicaReps: 3,
    replicaLagSamples: FULL.replicaLagSamples / 5,
    projectionReads: FULL.projectionReads / 10,
    deliveryEvents: FULL.deliveryEvents / 10,
    replayEvents: FULL.replayEvents / 10,
    deliveryLatencySamples: FULL.deliveryLatencySamples / 5,
    reactionEvents: FULL.reactionEvents / 10,
  };
}
