// @batpak/core/testing: fault tooling for tests and simulations, kept out of the main entry.
// Invariant: nothing here is needed to run a store; everything here is deterministic from a seed.

export { SimFs } from '../fs/sim.js';
export type { SimFsOptions, SimFsStats, SimFileInfo, CrashReport, CrashedFile } from '../fs/sim.js';
export { FS_OPS, FAULT_KINDS, FAULT_KINDS_BY_OP } from '../fs/faults.js';
export type { FsOp, FaultKind, FaultKindFor, FaultRate, InjectedFault } from '../fs/faults.js';
export { SeededRng } from '../fs/rng.js';
export { KillableFs } from '../fs/killable.js';
