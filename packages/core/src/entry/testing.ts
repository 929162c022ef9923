// @batpak/core/testing: fault tooling for tests and simulations, and the conformance suites for people who
// write their own Fs or KeyStore. Invariant: nothing here is needed to run a store; faults are seeded.

export { SimFs } from '../fs/sim.js';
export type { SimFsOptions, SimFsStats, SimFileInfo, CrashReport, CrashedFile } from '../fs/sim.js';
export { FS_OPS, FAULT_KINDS, FAULT_KINDS_BY_OP } from '../fs/faults.js';
export type { FsOp, FaultKind, FaultKindFor, FaultRate, InjectedFault } from '../fs/faults.js';
export { SeededRng } from '../fs/rng.js';
export { KillableFs } from '../fs/killable.js';
export { ConformanceError, type ConformanceCase } from '../testing/conformance.js';
export { fsConformance, type FsUnderTest } from '../testing/fs-conformance.js';
export { keyStoreConformance, type KeyStoreUnderTest } from '../testing/keystore-conformance.js';
