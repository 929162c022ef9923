// Options of the store calls that verify against, or make, a head attestation (FORMAT.md § Head attestations).
// Invariant: an attestation is only ever made after the log verified (INV-ATTEST-SIGNED).

import type { HeadAttestation } from './statement.js';

/** Options of `store.verifyChain`. */
export interface VerifyChainOptions {
  readonly signal?: AbortSignal;
  readonly onProgress?: (done: number, total: number) => void;
  /** An attestation the store must extend (every attested event present and unchanged): see `report.attestation`. */
  readonly expect?: HeadAttestation;
}

/** Options of `store.attest`. */
export interface AttestOptions {
  readonly signal?: AbortSignal;
  readonly onProgress?: (done: number, total: number) => void;
  /** A name for the store carried (signed) in the attestation; at most 256 UTF-8 bytes. Default "". */
  readonly label?: string;
  /**
   * Attest only the events up to this global sequence (an exporter attests exactly what it exported);
   * at most the last committed sequence. Default: everything committed. The whole log is still verified.
   */
  readonly through?: bigint;
}
