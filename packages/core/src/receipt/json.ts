// Portable JSON form of a receipt: hex bytes, decimal-string bigints, versioned. A receipt stored by a
// caller this way parses back to the identical receipt and verifies years later.

import { BatpakError } from '../errors.js';
import { fromHex, toHex } from '../encoding/hex.js';
import type { AppendReceipt } from '../types.js';
import { malformedField } from './verify.js';

export interface ReceiptJson {
  readonly v: 1;
  readonly eventId: string;
  readonly globalSequence: string;
  readonly entitySequence: string;
  readonly kind: { readonly category: number; readonly typeId: number };
  readonly coordinate: { readonly entity: string; readonly scope: string };
  readonly contentHash: string;
  readonly prevHash: string;
  readonly committedAt: string;
  readonly signature?: string;
  readonly keyId?: string;
  readonly groupProof?: { readonly index: number; readonly siblings: readonly string[] };
  readonly extensions?: Readonly<Record<string, string>>;
}

export function receiptToJSON(r: AppendReceipt): ReceiptJson {
  const bad = malformedField(r);
  if (bad !== undefined) throw new BatpakError('ERR_INVALID_RECEIPT', `receipt field ${bad} is malformed`, { details: { field: bad } });
  return {
    v: 1,
    eventId: r.eventId,
    globalSequence: r.globalSequence.toString(),
    entitySequence: r.entitySequence.toString(),
    kind: { category: r.kind.category, typeId: r.kind.typeId },
    coordinate: { entity: r.coordinate.entity, scope: r.coordinate.scope },
    contentHash: toHex(r.contentHash),
    prevHash: toHex(r.prevHash),
    committedAt: r.committedAt.toString(),
    ...(r.signature === undefined ? {} : { signature: toHex(r.signature) }),
    ...(r.keyId === undefined ? {} : { keyId: r.keyId }),
    ...(r.groupProof === undefined ? {} : { groupProof: { index: r.groupProof.index, siblings: r.groupProof.siblings.map(toHex) } }),
    ...(r.extensions === undefined || r.extensions.size === 0 ? {} : { extensions: Object.fromEntries([...r.extensions].map(([k, v]) => [k, toHex(v)])) }),
  };
}

function fail(field: string): never {
  throw new BatpakError('ERR_INVALID_RECEIPT', `receipt JSON field ${field} is missing or malformed`, { details: { field } });
}

function big(x: unknown, field: string): bigint {
  if (typeof x !== 'string' || !/^(0|[1-9][0-9]*)$/.test(x)) fail(field);
  return BigInt(x);
}

function hexField(x: unknown, field: string, bytes?: number): Uint8Array {
  if (typeof x !== 'string' || !/^([0-9a-f]{2})*$/.test(x) || (bytes !== undefined && x.length !== bytes * 2)) fail(field);
  return fromHex(x, field);
}

/** Parses a receipt from its JSON form (an object or a JSON string). ERR_INVALID_RECEIPT if malformed. */
export function receiptFromJSON(input: unknown): AppendReceipt {
  let j: unknown = input;
  if (typeof input === 'string') {
    try {
      j = JSON.parse(input);
    } catch (err) {
      throw new BatpakError('ERR_INVALID_RECEIPT', 'receipt JSON does not parse', { cause: err });
    }
  }
  if (typeof j !== 'object' || j === null) fail('receipt');
  const o = j as Record<string, unknown>;
  if (o.v !== 1) fail('v');
  const kind = o.kind as { category?: unknown; typeId?: unknown } | undefined;
  if (typeof kind !== 'object' || kind === null || !Number.isInteger(kind.category) || !Number.isInteger(kind.typeId)) fail('kind');
  const coord = o.coordinate as { entity?: unknown; scope?: unknown } | undefined;
  if (typeof coord !== 'object' || coord === null || typeof coord.entity !== 'string' || typeof coord.scope !== 'string') fail('coordinate');
  let groupProof: AppendReceipt['groupProof'];
  if (o.groupProof !== undefined) {
    const p = o.groupProof as { index?: unknown; siblings?: unknown };
    if (typeof p !== 'object' || p === null || !Number.isSafeInteger(p.index) || !Array.isArray(p.siblings)) fail('groupProof');
    groupProof = { index: p.index as number, siblings: p.siblings.map((s, i) => hexField(s, `groupProof.siblings[${i}]`, 32)) };
  }
  let extensions: Map<string, Uint8Array> | undefined;
  if (o.extensions !== undefined) {
    if (typeof o.extensions !== 'object' || o.extensions === null) fail('extensions');
    extensions = new Map(Object.entries(o.extensions as Record<string, unknown>).map(([k, v]) => [k, hexField(v, `extensions.${k}`)]));
  }
  if (o.keyId !== undefined && (typeof o.keyId !== 'string' || !/^[0-9a-f]{64}$/.test(o.keyId))) fail('keyId');
  if (typeof o.eventId !== 'string' || !/^[0-9a-f]{32}$/.test(o.eventId)) fail('eventId');
  const r: AppendReceipt = {
    eventId: o.eventId,
    globalSequence: big(o.globalSequence, 'globalSequence'),
    entitySequence: big(o.entitySequence, 'entitySequence'),
    kind: { category: kind.category as number, typeId: kind.typeId as number },
    coordinate: { entity: coord.entity, scope: coord.scope },
    contentHash: hexField(o.contentHash, 'contentHash', 32),
    prevHash: hexField(o.prevHash, 'prevHash', 32),
    committedAt: big(o.committedAt, 'committedAt'),
    ...(o.signature === undefined ? {} : { signature: hexField(o.signature, 'signature', 64) }),
    ...(o.keyId === undefined ? {} : { keyId: o.keyId as string }),
    ...(groupProof === undefined ? {} : { groupProof }),
    ...(extensions === undefined ? {} : { extensions }),
  };
  const bad = malformedField(r);
  if (bad !== undefined) fail(bad);
  return r;
}
