// Chain links: the zero hash a chain starts from, the link rule (an event's prevHash is the content hash of
// the event just before it in its chain) and the assembly of a verification report. Invariant: both
// verifiers (native chain/verify.ts, Rust rust/chain.ts) judge links and `intact` by these definitions only.

import { bytesEqual } from '../encoding/hex.js';
import type { ChainVerificationReport } from '../types.js';

/** The prevHash of a chain's first event: 32 zero bytes. Never write into it. */
export const ZERO_HASH: Uint8Array = new Uint8Array(32);

/** Whether `hash` is the zero hash (the event starts its chain). */
export function isZeroHash(hash: Uint8Array): boolean {
  return bytesEqual(hash, ZERO_HASH);
}

/**
 * The heads of every chain seen so far, fed events in commit order. A chain is whatever the caller keys it
 * by: the entity for a native store, the (entity, lane) pair for a Rust one.
 */
export class ChainHeads {
  /** Content hash of each chain's latest event (a copy: the caller's bytes may be a reused read buffer). */
  readonly #heads = new Map<string, Uint8Array>();

  /**
   * Whether `prevHash` is the content hash of the chain's previous event — the zero hash for its first —
   * then makes this event the chain's head, linked or not (a later event links to what is on disk).
   */
  follow(chain: string, prevHash: Uint8Array, contentHash: Uint8Array): boolean {
    const linked = bytesEqual(prevHash, this.#heads.get(chain) ?? ZERO_HASH);
    this.#heads.set(chain, contentHash.slice());
    return linked;
  }
}

/** A verification's findings; what a verifier does not check (signatures, compaction gaps) defaults to none. */
export type ChainFindings = Pick<
  ChainVerificationReport,
  'eventsChecked' | 'contentHashMismatches' | 'danglingLinks' | 'corruptFrames' | 'missingEvents'
> &
  Partial<Pick<ChainVerificationReport, 'gaps' | 'signatureFailures' | 'signaturesChecked' | 'keyIds' | 'headersUnverified' | 'directoryDamage'>>;

/** The report for `findings`: intact when nothing but gaps (links to events compaction removed) was found. */
export function chainReport(findings: ChainFindings): ChainVerificationReport {
  const gaps = findings.gaps ?? [];
  const signatureFailures = findings.signatureFailures ?? [];
  const directoryDamage = findings.directoryDamage ?? [];
  const intact =
    directoryDamage.length === 0 &&
    findings.contentHashMismatches.length === 0 &&
    findings.danglingLinks.length === 0 &&
    findings.corruptFrames.length === 0 &&
    findings.missingEvents.length === 0 &&
    signatureFailures.length === 0;
  return {
    eventsChecked: findings.eventsChecked,
    contentHashMismatches: findings.contentHashMismatches,
    danglingLinks: findings.danglingLinks,
    gaps,
    corruptFrames: findings.corruptFrames,
    missingEvents: findings.missingEvents,
    signatureFailures,
    signaturesChecked: findings.signaturesChecked ?? 0,
    keyIds: findings.keyIds ?? [],
    headersUnverified: findings.headersUnverified ?? 0,
    directoryDamage,
    intact,
  };
}
