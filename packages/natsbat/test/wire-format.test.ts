// The export message formats (INV-NATSBAT-REPLICA): format 2 carries the stored frame (and a group's seal on
// its last event) and round-trips it exactly; format 1 messages still decode; a frame that disagrees with the
// receipt or headers it travels with, a seal on the wrong event or an unknown format is ERR_MALFORMED_MESSAGE.
import { Coordinate, type AppendReceipt, type RawEvent, type Store } from '@batpak/core';
import { encodeEventFrame, decodeFrameBody, FRAME_HEADER_BYTES, type EventFrame } from '@batpak/core/format';
import { describe, expect, it } from 'vitest';
import { decodeExportedMessage, encodeEvent, HEADERS, type OutgoingMessage } from '../src/message.js';
import { Deposited, openStore, SEED } from './helpers/store.js';

function incoming(m: OutgoingMessage, seq: number, change: { headers?: Record<string, string | undefined>; data?: Uint8Array } = {}) {
  const h = new Map(m.headers);
  h.set(HEADERS.msgId, m.msgId);
  for (const [k, v] of Object.entries(change.headers ?? {})) {
    if (v === undefined) h.delete(k);
    else h.set(k, v);
  }
  return { seq, subject: m.subject, data: change.data ?? m.payload, headers: { get: (k: string) => h.get(k) ?? '', has: (k: string) => h.has(k) } };
}

async function signedEvents(): Promise<{ store: Store; raws: RawEvent[]; receipts: AppendReceipt[] }> {
  const { store } = await openStore({ signingKey: SEED });
  await store.appendBatch([0, 1, 2].map((i) => ({ coord: new Coordinate(`account:${i % 2}`, 'bank'), kind: Deposited, payload: { amount: i } })));
  const raws: RawEvent[] = [];
  const receipts: AppendReceipt[] = [];
  for await (const e of store.query()) {
    raws.push(await store.getRaw(e.header.eventId));
    receipts.push(await store.receipt(e.header.eventId));
  }
  return { store, raws, receipts };
}

describe('export wire formats', () => {
  it('format 2 round-trips the stored frame, and the seal rides on the last event of its group only', async () => {
    const { store, raws, receipts } = await signedEvents();
    const msgs = await Promise.all(raws.map(async (r, i) => encodeEvent('batpak.t', r, receipts[i]!, undefined, await store.replicationFrames(r.header.eventId))));
    const back = msgs.map((m, i) => decodeExportedMessage(incoming(m, i + 1)));
    for (let i = 0; i < 3; i++) {
      const frames = await store.replicationFrames(raws[i]!.header.eventId);
      expect(back[i]!.frame).toEqual(frames.event);
      expect(back[i]!.payload).toEqual(raws[i]!.bytes);
      expect(back[i]!.receipt).toEqual(receipts[i]);
    }
    expect(back.map((b) => b.seal !== undefined)).toEqual([false, false, true]);
    expect(msgs[0]!.headers).toContainEqual([HEADERS.format, '2']);
    await store.close();
  });

  it('format 1 (no frames) still decodes to the same event', async () => {
    const { store, raws, receipts } = await signedEvents();
    const m = encodeEvent('batpak.t', raws[0]!, receipts[0]!);
    expect(m.headers).toContainEqual([HEADERS.format, '1']);
    const back = decodeExportedMessage(incoming(m, 1));
    expect(back.payload).toEqual(raws[0]!.bytes);
    expect(back.frame).toBeUndefined();
    expect(back.receipt).toEqual(receipts[0]);
    await store.close();
  });

  it('refuses a frame that is not the receipt\'s event, a misplaced seal, a seal in format 1 and an unknown format', async () => {
    const { store, raws, receipts } = await signedEvents();
    const frames = await Promise.all(raws.map((r) => store.replicationFrames(r.header.eventId)));
    const msgs = raws.map((r, i) => encodeEvent('batpak.t', r, receipts[i]!, undefined, frames[i]));
    const malformed = (f: () => unknown) => expect(f).toThrow(expect.objectContaining({ code: 'ERR_MALFORMED_MESSAGE' }));
    // Another event's frame under this receipt.
    malformed(() => decodeExportedMessage(incoming(msgs[0]!, 1, { data: frames[1]!.event })));
    // The right event with another commit time (a field the receipt carries).
    const f = decodeFrameBody(frames[0]!.event.subarray(FRAME_HEADER_BYTES)) as EventFrame;
    malformed(() => decodeExportedMessage(incoming(msgs[0]!, 1, { data: encodeEventFrame({ ...f, committedAt: f.committedAt + 1 }) })));
    // One flipped byte: the frame's CRC.
    const flipped = frames[0]!.event.slice();
    flipped[flipped.length - 1]! ^= 1;
    malformed(() => decodeExportedMessage(incoming(msgs[0]!, 1, { data: flipped })));
    // The group's seal on its first event; a seal header in a format-1 message; format 3.
    const seal = msgs[2]!.headers.find(([k]) => k === HEADERS.seal)![1];
    malformed(() => decodeExportedMessage(incoming(msgs[0]!, 1, { headers: { [HEADERS.seal]: seal } })));
    const v1 = encodeEvent('batpak.t', raws[2]!, receipts[2]!);
    malformed(() => decodeExportedMessage(incoming(v1, 3, { headers: { [HEADERS.seal]: seal } })));
    malformed(() => decodeExportedMessage(incoming(msgs[0]!, 1, { headers: { [HEADERS.format]: '3' } })));
    await store.close();
  });
});
