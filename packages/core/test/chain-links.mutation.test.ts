// The link rule and report assembly both verifiers share (chain/links.ts): a chain starts at the zero
// hash, each link is the previous event's content hash in the same chain, and `intact` means nothing but gaps.
import { describe, expect, it } from 'vitest';
import { ChainHeads, chainReport, isZeroHash, ZERO_HASH } from '../src/chain/links.js';
import { ZERO_HASH as ZERO_FROM_VERIFY } from '../src/chain/verify.js';

const h = (b: number): Uint8Array => new Uint8Array(32).fill(b);

describe('zero hash', () => {
  it('is 32 zero bytes, also where it used to be exported', () => {
    expect(ZERO_HASH).toEqual(new Uint8Array(32));
    expect(ZERO_FROM_VERIFY).toBe(ZERO_HASH);
  });
  it('isZeroHash tells the start of a chain from a link', () => {
    expect(isZeroHash(new Uint8Array(32))).toBe(true);
    expect(isZeroHash(h(1))).toBe(false);
    const last = new Uint8Array(32);
    last[31] = 1;
    expect(isZeroHash(last)).toBe(false);
    expect(isZeroHash(new Uint8Array(31))).toBe(false);
  });
});

describe('ChainHeads', () => {
  it('a chain starts at the zero hash, then links to its previous event', () => {
    const heads = new ChainHeads();
    expect(heads.follow('a', ZERO_HASH, h(1))).toBe(true);
    expect(heads.follow('a', h(1), h(2))).toBe(true);
    expect(heads.follow('a', h(2), h(3))).toBe(true);
  });
  it('a first event that does not start at zero is not linked', () => {
    expect(new ChainHeads().follow('a', h(9), h(1))).toBe(false);
  });
  it('chains are separate: a link to another chain is not linked, each chain starts at zero', () => {
    const heads = new ChainHeads();
    expect(heads.follow('a', ZERO_HASH, h(1))).toBe(true);
    expect(heads.follow('b', h(1), h(2))).toBe(false);
    expect(heads.follow('c', ZERO_HASH, h(3))).toBe(true);
    expect(heads.follow('a', h(1), h(4))).toBe(true);
  });
  it('a broken link still advances the head: the next event links to what is on disk', () => {
    const heads = new ChainHeads();
    heads.follow('a', ZERO_HASH, h(1));
    expect(heads.follow('a', h(7), h(2))).toBe(false);
    expect(heads.follow('a', h(1), h(3))).toBe(false);
    expect(heads.follow('a', h(3), h(4))).toBe(true);
  });
  it('keeps a copy of the head: a reused read buffer does not change it', () => {
    const heads = new ChainHeads();
    const buf = h(1);
    heads.follow('a', ZERO_HASH, buf);
    buf.fill(5);
    expect(heads.follow('a', h(1), h(2))).toBe(true);
  });
});

describe('chainReport', () => {
  const clean = { eventsChecked: 3, contentHashMismatches: [], danglingLinks: [], corruptFrames: [], missingEvents: [] };

  it('fills what a verifier did not check with none, in the report order', () => {
    const r = chainReport(clean);
    expect(r).toEqual({
      eventsChecked: 3,
      contentHashMismatches: [],
      danglingLinks: [],
      gaps: [],
      corruptFrames: [],
      missingEvents: [],
      signatureFailures: [],
      signaturesChecked: 0,
      keyIds: [],
      headersUnverified: 0,
      directoryDamage: [],
      intact: true,
    });
    expect(Object.keys(r)).toEqual([
      'eventsChecked',
      'contentHashMismatches',
      'danglingLinks',
      'gaps',
      'corruptFrames',
      'missingEvents',
      'signatureFailures',
      'signaturesChecked',
      'keyIds',
      'headersUnverified',
      'directoryDamage',
      'intact',
    ]);
  });

  it('passes every finding through as given', () => {
    const full = {
      eventsChecked: 7,
      contentHashMismatches: ['c'],
      danglingLinks: ['d'],
      gaps: ['g'],
      corruptFrames: [{ file: 'f', offset: 1, reason: 'r' }],
      missingEvents: ['m'],
      signatureFailures: ['s'],
      signaturesChecked: 4,
      keyIds: ['k'],
      headersUnverified: 2,
      directoryDamage: [{ reason: 'missing-segment' as const, file: 'x', message: 'y' }],
    };
    expect(chainReport(full)).toEqual({ ...full, intact: false });
  });

  it('gaps alone keep it intact', () => {
    expect(chainReport({ ...clean, gaps: ['g'] }).intact).toBe(true);
  });

  it.each([
    ['contentHashMismatches', ['e']],
    ['danglingLinks', ['e']],
    ['corruptFrames', [{ file: 'f', offset: 0, reason: 'r' }]],
    ['missingEvents', ['e']],
    ['signatureFailures', ['e']],
    ['directoryDamage', [{ reason: 'missing-segment', file: 'x', message: 'y' }]],
  ])('any %s makes it not intact', (field, value) => {
    expect(chainReport({ ...clean, [field]: value }).intact).toBe(false);
  });
});
