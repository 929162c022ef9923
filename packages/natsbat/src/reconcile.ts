// Reconcile: before publishing, compare the stream beyond the watermark with the store and adopt what
// matches. Invariant: an exporter starts from what the stream really holds, so a crash between an
// acknowledgement and the watermark save re-publishes nothing and skips nothing (INV-NATSBAT-EXPORT-COMPLETE).

import type { JetStreamClient } from '@nats-io/jetstream';
import { toHex, type Store } from '@batpak/core';
import { isNatsbatError, NatsbatError } from './errors.js';
import { decodeExportedMessage, msgIdOf } from './message.js';
import { readRange, type StreamPosition } from './stream.js';
import type { Watermark } from './watermark.js';

export interface Reconciled {
  readonly watermark: Watermark;
  /** Messages beyond the saved watermark that were found to be this store's next events. */
  readonly adopted: number;
}

/**
 * The stream must hold exactly the watermark's messages and then, optionally, the store's next events
 * in commit order (published by an earlier run that stopped before saving its watermark).
 *   - stream behind the watermark: JetStream lost acknowledged messages, or the stream was recreated;
 *   - a message beyond it that is not the store's next event (another store's, a gap, one the store
 *     does not have): the stream diverged. Both refuse to publish: the operator decides.
 */
export async function reconcile(store: Store, js: JetStreamClient, stream: string, position: StreamPosition, w: Watermark, signal?: AbortSignal): Promise<Reconciled> {
  if (position.lastSequence < w.streamSequence) {
    throw NatsbatError.STREAM_BEHIND(
      `stream ${stream} ends at ${position.lastSequence}, but the watermark records ${w.streamSequence} acknowledged messages: ` +
        'JetStream lost acknowledged messages or the stream was recreated; move the watermark aside to export into it again',
      { details: { streamSequence: position.lastSequence } },
    );
  }
  if (position.lastSequence === w.streamSequence) return { watermark: w, adopted: 0 };
  const events = store.query({ after: w.globalSequence, ...(signal === undefined ? {} : { signal }) })[Symbol.asyncIterator]();
  let at = w;
  let adopted = 0;
  const diverged = (streamSequence: bigint, why: string, cause?: unknown): never => {
    throw NatsbatError.STREAM_DIVERGED(`stream ${stream} message ${streamSequence} ${why}`, { details: { streamSequence }, ...(cause === undefined ? {} : { cause }) });
  };
  try {
    for await (const m of readRange(js, stream, w.streamSequence + 1n, position.lastSequence, signal)) {
      const seq = BigInt(m.seq);
      if (seq !== at.streamSequence + 1n) diverged(seq, `follows ${at.streamSequence}: messages are missing`);
      let x;
      try {
        x = decodeExportedMessage(m);
      } catch (err) {
        if (isNatsbatError(err, 'ERR_MALFORMED_MESSAGE')) diverged(seq, `is not a natsbat export message (${err.message})`, err);
        throw err;
      }
      const next = await events.next();
      if (next.done === true) diverged(seq, `holds event ${x.receipt.eventId}, but the store has nothing after global sequence ${at.globalSequence}`);
      const h = next.value!.header;
      if (h.eventId !== x.receipt.eventId || h.globalSequence !== x.receipt.globalSequence || toHex(h.contentHash) !== toHex(x.receipt.contentHash)) {
        diverged(seq, `holds event ${x.receipt.eventId} (global ${x.receipt.globalSequence}), but the store's next is ${h.eventId} (global ${h.globalSequence})`);
      }
      at = { globalSequence: h.globalSequence, streamSequence: seq, msgId: msgIdOf(h.eventId, h.contentHash) };
      adopted++;
    }
  } finally {
    await events.return?.();
  }
  if (at.streamSequence !== position.lastSequence) diverged(at.streamSequence + 1n, `up to ${position.lastSequence} could not be read (deleted?)`);
  return { watermark: at, adopted };
}
