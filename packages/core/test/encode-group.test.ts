// encodeGroup: a commit group's frames laid end to end, byte for byte what encodeEventFrame makes of each event, whether
// the group is cut from the shared slab (small groups) or gets its own buffer, and never changed by a later group.
import { describe, expect, it } from 'vitest';
import { encodeEventFrame, type EventFrame } from '../src/segment/frame.js';
import type { SequencedEvent } from '../src/store/append-intent.js';
import { rawDraft } from '../src/store/append.js';
import { encodeGroup } from '../src/store/encode-group.js';

const limits = { payloadMaxBytes: 1 << 20, registry: undefined, now: 1_000 };
let global = 1;

function sequenced(entity: string, size: number, fill: number): SequencedEvent {
  const draft = rawDraft({ coord: { entity, scope: 's' }, kind: { category: 1, typeId: 1 }, bytes: new Uint8Array(size).fill(fill), limits });
  return { draft, globalSequence: global++, entitySequence: 1, prevHash: new Uint8Array(32), committedAt: 2_000, batch: undefined, flags: draft.flags, extensions: undefined };
}

/** The frames of `events` as encodeEventFrame writes them one by one. */
function reference(events: readonly SequencedEvent[]): Buffer {
  return Buffer.concat(
    events.map((ev) => {
      const d = ev.draft;
      const f: EventFrame = {
        type: 0,
        id: d.id,
        globalSequence: ev.globalSequence,
        entitySequence: ev.entitySequence,
        kind: d.kind,
        entity: d.entity,
        scope: d.scope,
        committedAt: ev.committedAt,
        prevHash: ev.prevHash,
        contentHash: d.contentHash,
        payloadVersion: d.payloadVersion,
        flags: ev.flags,
        batch: ev.batch,
        encryption: undefined,
        extensions: undefined,
        payload: d.payload,
      };
      return encodeEventFrame(f);
    }),
  );
}

describe('encodeGroup', () => {
  it('writes each group exactly as encodeEventFrame would, and a later group never changes an earlier one', () => {
    // Groups of 1 to 40 events of up to 3 KiB, past several 256 KiB slabs' edges, and groups too big for the slab.
    const groups: { events: SequencedEvent[]; chunk: Uint8Array; copy: Buffer }[] = [];
    for (let g = 0; g < 120; g++) {
      const count = g % 17 === 16 ? 40 : 1 + (g % 5);
      const size = g % 17 === 16 ? 3000 : (g * 97) % 2048;
      const events = Array.from({ length: count }, (_, i) => sequenced(`e${g}`, size, (g + i) & 0xff));
      const encoded = encodeGroup(events, undefined);
      expect(encoded.chunks).toHaveLength(1);
      const chunk = encoded.chunks[0]!;
      expect(chunk.length).toBe(encoded.bytes);
      expect(encoded.lengths.reduce((a, b) => a + b, 0)).toBe(encoded.bytes);
      groups.push({ events, chunk, copy: Buffer.from(chunk) });
    }
    for (const { events, chunk, copy } of groups) {
      expect(Buffer.from(chunk).equals(copy)).toBe(true);
      expect(copy.equals(reference(events))).toBe(true);
    }
  });
});
