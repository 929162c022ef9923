// LineReader on its own (a PassThrough stands in for the socket): how a read settles, with and without waiting.
// The server's request loop reads with poll(), a subscription with next(); these pin what they rely on: a waiting read
// takes its line when the bytes land, a line already buffered comes back at once, deadlines report their phase, and an
// aborted lifetime closes.
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { LineReader, type LineRead } from '../src/line-reader.js';

const NO_DEADLINES = { idleMs: Infinity, readMs: Infinity };
const text = (r: LineRead): string => (r.kind === 'line' ? Buffer.from(r.line).toString('latin1') : r.kind);

describe('LineReader', () => {
  it('settles a waiting read with the line when it lands, and hands out a buffered line at once', async () => {
    const socket = new PassThrough();
    const reader = new LineReader(socket, 1024);
    const waiting = reader.next(NO_DEADLINES);
    expect(waiting).toBeInstanceOf(Promise);
    socket.write('NETBAT/1 CALL a 00\nNETBAT/1 CALL b 01\n');
    expect(text(await waiting)).toBe('NETBAT/1 CALL a 00\n');
    // The second line arrived in the same chunk: no promise for it.
    const buffered = reader.next(NO_DEADLINES);
    expect(buffered).not.toBeInstanceOf(Promise);
    expect(text(buffered as LineRead)).toBe('NETBAT/1 CALL b 01\n');
    // A line split over two chunks is one line.
    const split = reader.read(NO_DEADLINES);
    socket.write('NETBAT/1 CA');
    socket.write('LL c 02\n');
    expect(text(await split)).toBe('NETBAT/1 CALL c 02\n');
    reader.dispose();
  });

  it('reports an idle timeout before a line starts and a read timeout once one has', async () => {
    const socket = new PassThrough();
    const reader = new LineReader(socket, 1024);
    expect(await reader.next({ idleMs: 20, readMs: 10_000 })).toEqual({ kind: 'timeout', phase: 'idle' });
    const started = reader.next({ idleMs: 10_000, readMs: 20 });
    socket.write('NETBAT/1 CALL');
    expect(await started).toEqual({ kind: 'timeout', phase: 'read' });
    reader.dispose();
  });

  it('ends a waiting read as closed when its lifetime aborts, and every later read at once', async () => {
    const socket = new PassThrough();
    const lifetime = new AbortController();
    const reader = new LineReader(socket, 1024, lifetime.signal);
    const waiting = reader.next(NO_DEADLINES, lifetime.signal);
    lifetime.abort();
    expect(await waiting).toEqual({ kind: 'closed' });
    expect(reader.next(NO_DEADLINES, lifetime.signal)).toEqual({ kind: 'closed' });
    reader.dispose();
  });

  it('never hands out a line the peer cut short, and says eof after a clean end', async () => {
    const cut = new PassThrough();
    const reader = new LineReader(cut, 1024);
    const pending = reader.next(NO_DEADLINES);
    cut.end('NETBAT/1 CALL half');
    expect(await pending).toEqual({ kind: 'unterminated' });
    reader.dispose();

    const clean = new PassThrough();
    const after = new LineReader(clean, 1024);
    clean.end('NETBAT/1 CALL a 00\n');
    expect(text(await after.read(NO_DEADLINES))).toBe('NETBAT/1 CALL a 00\n');
    expect(await after.read(NO_DEADLINES)).toEqual({ kind: 'eof' });
    after.dispose();
  });

  it('poll: hands out a buffered line at once, or calls back once with the line, the deadline or the close', async () => {
    const socket = new PassThrough();
    const lifetime = new AbortController();
    const reader = new LineReader(socket, 1024, lifetime.signal);
    const got: string[] = [];
    const onRead = (r: LineRead): void => {
      got.push(text(r));
    };
    expect(reader.poll(NO_DEADLINES, onRead)).toBeUndefined();
    socket.write('NETBAT/1 CALL a 00\nNETBAT/1 CALL b 01\n');
    await new Promise((r) => setImmediate(r));
    expect(got).toEqual(['NETBAT/1 CALL a 00\n']);
    // The second line came in the same chunk: returned, not called back.
    expect(text(reader.poll(NO_DEADLINES, onRead)!)).toBe('NETBAT/1 CALL b 01\n');
    expect(reader.poll({ idleMs: 20, readMs: 10_000 }, onRead)).toBeUndefined();
    await new Promise((r) => setTimeout(r, 60));
    expect(got).toEqual(['NETBAT/1 CALL a 00\n', 'timeout']);
    expect(reader.poll(NO_DEADLINES, onRead)).toBeUndefined();
    lifetime.abort();
    expect(got).toEqual(['NETBAT/1 CALL a 00\n', 'timeout', 'closed']);
    expect(reader.poll(NO_DEADLINES, onRead)).toEqual({ kind: 'closed' });
    expect(got).toHaveLength(3);
    reader.dispose();
  });
});
