// In-memory SubscriptionSource: per-id event logs with replay, a watermark once caught up, then live appends.
import type { SubscriptionItem, SubscriptionOpenRequest, SubscriptionSource } from '../../src/index.js';

export class SourceError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Cursor = 8-byte big-endian sequence number of the last event covered. */
export function cursorOf(seq: number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(seq));
  return out;
}

function seqOf(cursor: Uint8Array): number {
  if (cursor.length !== 8) throw new SourceError('cursor_invalid', 'cursor must be 8 bytes');
  return Number(new DataView(cursor.buffer, cursor.byteOffset, 8).getBigUint64(0));
}

export class MemorySource implements SubscriptionSource {
  private readonly logs = new Map<string, Uint8Array[]>();
  private wakers = new Set<() => void>();
  private readonly endings = new Map<string, string>();
  opens = 0;
  active = 0;
  aborted = 0;
  /** Items to yield verbatim (after replay) for fault tests. */
  readonly inject = new Map<string, Array<SubscriptionItem | Error>>();

  define(id: string, payloads: string[] = []): this {
    this.logs.set(id, payloads.map((p) => new TextEncoder().encode(p)));
    return this;
  }

  append(id: string, payload: string): void {
    this.logs.get(id)!.push(new TextEncoder().encode(payload));
    this.wake();
  }

  /** Live sessions of `id` yield an `end` item with this reason. */
  finish(id: string, reason: string): void {
    this.endings.set(id, reason);
    this.wake();
  }

  private wake(): void {
    const wakers = this.wakers;
    this.wakers = new Set();
    for (const w of wakers) w();
  }

  open(request: SubscriptionOpenRequest): AsyncIterable<SubscriptionItem> {
    const log = this.logs.get(request.subscriptionId);
    if (log === undefined) throw new SourceError('unknown_subscription', request.subscriptionId);
    const from = request.resumeCursor === undefined ? 0 : seqOf(request.resumeCursor);
    this.opens++;
    return this.items(request, log, from);
  }

  private async *items(request: SubscriptionOpenRequest, log: Uint8Array[], from: number): AsyncGenerator<SubscriptionItem> {
    this.active++;
    const onAbort = (): void => {
      this.aborted++;
      this.wake();
    };
    request.signal.addEventListener('abort', onAbort, { once: true });
    try {
      let next = from; // sequence numbers are 1-based: event i has seq i+1
      const event = (seq: number): SubscriptionItem => ({
        kind: 'event',
        ...(seq > 1 ? { cursorBefore: cursorOf(seq - 1) } : {}),
        cursorAfter: cursorOf(seq),
        schemaRef: 'test.event.v1',
        payload: log[seq - 1]!,
      });
      while (next < log.length) yield event(++next);
      if (next > 0) yield { kind: 'watermark', cursorAfter: cursorOf(next) };
      for (const item of this.inject.get(request.subscriptionId) ?? []) {
        if (item instanceof Error) throw item;
        yield item;
      }
      for (;;) {
        if (request.signal.aborted) return;
        while (next < log.length) yield event(++next);
        const reason = this.endings.get(request.subscriptionId);
        if (reason !== undefined) {
          yield { kind: 'end', cursorAfter: cursorOf(next), reason };
          return;
        }
        await new Promise<void>((resolve) => this.wakers.add(resolve));
      }
    } finally {
      request.signal.removeEventListener('abort', onAbort);
      this.active--;
    }
  }
}

/** A finite source: yields the given items and returns. */
export function finiteSource(items: SubscriptionItem[]): SubscriptionSource {
  return {
    async *open() {
      for (const item of items) yield item;
    },
  };
}
