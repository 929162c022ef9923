import { describe, expect, it } from 'vitest';
import { DeliveryWindow } from '../src/subscription-window.js';

const c = (n: number): Uint8Array => new Uint8Array([n]);

describe('DeliveryWindow: the unacknowledged deliveries of one session', () => {
  it('has room for `size` unacknowledged deliveries, and a cumulative ACK frees them', () => {
    const w = new DeliveryWindow(2);
    expect(w.nextIndex).toBe(1n);
    w.recordSent(c(1));
    w.recordSent(c(2));
    expect(w.hasRoom()).toBe(false);
    expect(w.lastDeliveredCursor).toEqual(c(2));
    expect(w.ack(2n, c(2))).toBeUndefined();
    expect(w.hasRoom()).toBe(true);
    expect(w.lastAckedCursor).toEqual(c(2));
    expect(w.nextIndex).toBe(3n);
  });

  it('checks an ACK in order: range, regression, sent cursor, cursor match', () => {
    const w = new DeliveryWindow(8);
    w.recordSent(c(1));
    w.recordSent(c(2));
    w.recordSent(undefined); // a delivery without a cursor is acked with the empty cursor
    expect(w.ack(4n, c(4))).toEqual({ code: 'malformed_stream_frame', message: 'ack delivery index out of range' });
    expect(w.ack(2n, c(9))).toEqual({ code: 'malformed_stream_frame', message: 'ack cursor does not match sent cursor' });
    expect(w.ack(2n, c(2))).toBeUndefined();
    expect(w.ack(1n, c(1))).toEqual({ code: 'cursor_invalid', message: 'ack delivery index regressed' });
    expect(w.ack(0n, new Uint8Array())).toEqual({ code: 'cursor_invalid', message: 'ack delivery index regressed' });
    expect(w.ack(3n, new Uint8Array())).toBeUndefined();
    expect(w.ack(3n, new Uint8Array())).toBeUndefined(); // a repeated ACK of the last index is accepted
  });

  it('reports an index never sent with a cursor as cursor_invalid', () => {
    const w = new DeliveryWindow(1);
    expect(w.ack(0n, new Uint8Array())).toEqual({ code: 'cursor_invalid', message: 'ack delivery index has no sent cursor' });
  });
});
