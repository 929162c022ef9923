// Portable JSON form of a head attestation: hex bytes, decimal-string counters, versioned. Invariant:
// parsing is strict — any malformed input is ERR_INVALID_ATTESTATION, never another error (INV-ATTEST-JSON).

import { BatpakError } from '../errors.js';
import { fromHex, toHex } from '../encoding/hex.js';
import type { HeadAttestation } from './statement.js';
import { malformedAttestationField } from './verify.js';

export const ATTESTATION_JSON_TYPE = 'batpak.attestation';

export interface AttestationJson {
  readonly v: 1;
  readonly type: 'batpak.attestation';
  readonly globalSequence: string;
  readonly eventCount: string;
  readonly head: string;
  readonly attestedAt: string;
  readonly keyId: string;
  readonly signature: string;
  readonly label?: string;
}

const KEYS = new Set(['v', 'type', 'globalSequence', 'eventCount', 'head', 'attestedAt', 'keyId', 'signature', 'label']);
/** Longest JSON text accepted (an attestation is a few hundred bytes). */
const MAX_JSON_CHARS = 8192;

function fail(field: string, cause?: unknown): never {
  throw new BatpakError('ERR_INVALID_ATTESTATION', `attestation JSON field ${field} is missing or malformed`, { details: { field }, ...(cause === undefined ? {} : { cause }) });
}

export function attestationToJSON(a: HeadAttestation): AttestationJson {
  const bad = malformedAttestationField(a);
  if (bad !== undefined) throw new BatpakError('ERR_INVALID_ATTESTATION', `attestation field ${bad} is malformed`, { details: { field: bad } });
  return {
    v: 1,
    type: ATTESTATION_JSON_TYPE,
    globalSequence: a.globalSequence.toString(),
    eventCount: a.eventCount.toString(),
    head: toHex(a.head),
    attestedAt: a.attestedAt.toString(),
    keyId: a.keyId,
    signature: toHex(a.signature),
    ...(a.label === '' ? {} : { label: a.label }),
  };
}

function u64(x: unknown, field: string): bigint {
  if (typeof x !== 'string' || !/^(0|[1-9][0-9]{0,19})$/.test(x)) fail(field);
  const v = BigInt(x);
  if (v >= 1n << 64n) fail(field);
  return v;
}

function hex(x: unknown, field: string, bytes: number): Uint8Array {
  if (typeof x !== 'string' || x.length !== bytes * 2 || !/^[0-9a-f]*$/.test(x)) fail(field);
  return fromHex(x, field);
}

/** Parses an attestation from its JSON form (an object or a JSON string). ERR_INVALID_ATTESTATION if malformed. */
export function attestationFromJSON(input: unknown): HeadAttestation {
  let j: unknown = input;
  if (typeof input === 'string') {
    if (input.length > MAX_JSON_CHARS) fail('attestation');
    try {
      j = JSON.parse(input);
    } catch (err) {
      fail('attestation', err);
    }
  }
  if (typeof j !== 'object' || j === null || Array.isArray(j)) fail('attestation');
  const o = j as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!KEYS.has(k)) fail(k);
  if (o.v !== 1) fail('v');
  if (o.type !== ATTESTATION_JSON_TYPE) fail('type');
  if (o.label !== undefined && typeof o.label !== 'string') fail('label');
  if (typeof o.keyId !== 'string' || !/^[0-9a-f]{64}$/.test(o.keyId)) fail('keyId');
  const a: HeadAttestation = {
    version: 1,
    globalSequence: u64(o.globalSequence, 'globalSequence'),
    eventCount: u64(o.eventCount, 'eventCount'),
    head: hex(o.head, 'head', 32),
    attestedAt: u64(o.attestedAt, 'attestedAt'),
    keyId: o.keyId,
    signature: hex(o.signature, 'signature', 64),
    label: (o.label as string | undefined) ?? '',
  };
  const bad = malformedAttestationField(a);
  if (bad !== undefined) fail(bad);
  return a;
}
