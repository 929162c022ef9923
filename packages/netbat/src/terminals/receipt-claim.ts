// The receipt claim: the ack-shaped receipt fields `bank.commit` returns and `receipt.verify` accepts unchanged (Rust BankCommitAck / ReceiptVerifyRequest).
// Invariant: the Rust fields keep Rust's bytes; `group_proof` is appended only for a group-signed receipt, so unsigned claims are byte-identical to Rust's.

import { carray, cstr, cstruct, type AppendReceipt, type CanonicalValue, type GroupProof } from '@batpak/core';
import { encodeHex } from '../hex.js';
import { eventIdOf, idBytes, messageCodec, whex, whexMap, woptHex, wuint, type StructFields, type StructReader } from './wire.js';

/** What a client keeps from a commit and presents for verification. */
export interface ReceiptClaim {
  readonly eventId: string;
  readonly sequence: bigint;
  readonly contentHash: Uint8Array;
  /** 64 hex characters; absent for an unsigned receipt (64 zeros on the wire, as in Rust). */
  readonly keyId?: string;
  readonly signature?: Uint8Array;
  readonly extensions: ReadonlyMap<string, Uint8Array>;
  /**
   * TS extension (wire field `group_proof`, after Rust's fields): the receipt's place in its signed
   * commit group. Core signs once per group, so a signed receipt verifies only with it.
   */
  readonly groupProof?: GroupProof;
}

const ZERO_KEY_ID = '0'.repeat(64);

const GROUP_PROOF_ORDER = ['index', 'siblings_hex'] as const;

function groupProofValue(p: GroupProof): CanonicalValue {
  return cstruct([
    ['index', wuint(p.index)],
    ['siblings_hex', carray(p.siblings.map((s) => cstr(encodeHex(s))))],
  ]);
}

function readGroupProof(r: StructReader): GroupProof | undefined {
  const p = r.optStruct('group_proof', 'receipt.group_proof', GROUP_PROOF_ORDER);
  if (p === undefined) return undefined;
  return { index: p.uint('index', 0xffff_ffff), siblings: p.hexArray('siblings_hex', 32) };
}

function claimFields(v: ReceiptClaim): StructFields {
  const fields: [string, CanonicalValue][] = [
    ['event_id_hex', whex(idBytes(v.eventId))],
    ['sequence', wuint(v.sequence)],
    ['content_hash_hex', whex(v.contentHash)],
    ['key_id_hex', cstr(v.keyId ?? ZERO_KEY_ID)],
    ['signature_hex', woptHex(v.signature)],
    ['extensions', whexMap(v.extensions)],
  ];
  if (v.groupProof !== undefined) fields.push(['group_proof', groupProofValue(v.groupProof)]);
  return fields;
}

const CLAIM_ORDER = ['event_id_hex', 'sequence', 'content_hash_hex', 'key_id_hex', 'signature_hex', 'extensions', 'group_proof'];

function readClaim(r: StructReader): ReceiptClaim {
  const keyId = encodeHex(r.hex('key_id_hex', 32));
  const signature = r.optHex('signature_hex', 64);
  const groupProof = readGroupProof(r);
  return {
    eventId: eventIdOf(r, 'event_id_hex'),
    sequence: r.u64('sequence'),
    contentHash: r.hex('content_hash_hex', 32),
    ...(keyId === ZERO_KEY_ID ? {} : { keyId }),
    ...(signature === undefined ? {} : { signature }),
    extensions: r.hexMap('extensions'),
    ...(groupProof === undefined ? {} : { groupProof }),
  };
}

/** `bank.commit.ack`. */
export const bankCommitAckCodec = messageCodec<ReceiptClaim>({ schemaRef: 'bank.commit.ack', order: CLAIM_ORDER, fields: claimFields, read: readClaim });

/** `receipt.verify.request`: the same fields, so a commit ack is passed to verification as is. */
export const receiptVerifyRequestCodec = messageCodec<ReceiptClaim>({
  schemaRef: 'receipt.verify.request',
  order: CLAIM_ORDER,
  fields: claimFields,
  read: readClaim,
});

/** The claim of a core receipt. */
export function claimOf(r: AppendReceipt): ReceiptClaim {
  return {
    eventId: r.eventId,
    sequence: r.globalSequence,
    contentHash: r.contentHash,
    ...(r.keyId === undefined ? {} : { keyId: r.keyId }),
    ...(r.signature === undefined ? {} : { signature: r.signature }),
    extensions: r.extensions ?? new Map(),
    ...(r.groupProof === undefined ? {} : { groupProof: r.groupProof }),
  };
}
