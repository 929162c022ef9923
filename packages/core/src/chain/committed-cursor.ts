// The committed events a verification walks in step with the log: an array (tests, small callers) or pages streamed
// from the index, so no caller holds every entry of a large store at once. Invariant: entries come out in the order
// given (ascending global sequence), none past `through`; `peek` never waits — only `fill`, once a page is used up.

import type { IndexEntry } from '../event-index/entry.js';

/** The committed events of one snapshot, read a page at a time (EventIndex.scan). */
export interface CommittedEvents {
  /** How many events the snapshot holds (progress reports it as the total). */
  readonly count: number;
  /** The highest global sequence of the snapshot: entries after it (appended meanwhile) are not part of the check. */
  readonly through: number;
  /** The entries from the first, ascending global sequence, a page (never empty) at a time. */
  pages(): AsyncIterable<readonly IndexEntry[]>;
  /**
   * Segments (by id) none of whose events `pages` holds: their committed events are the event frames recovery's
   * commit rules commit there, and the walk finds them in the segment as it reads it (a sealed segment, whose
   * frames are the authority: reading it once more only to list them doubled the work). Default: none.
   */
  readonly fromFrames?: ReadonlySet<number> | undefined;
}

const NONE: readonly IndexEntry[] = [];

export class CommittedCursor {
  readonly total: number;
  #page: readonly IndexEntry[];
  #at = 0;
  #pages: AsyncIterator<readonly IndexEntry[]> | undefined;
  readonly #through: number;
  /** The page is used up and the source may hold more: `fill()` before the next `peek()`. */
  needsFill: boolean;

  constructor(source: readonly IndexEntry[] | CommittedEvents) {
    if (Array.isArray(source)) {
      const all = source as readonly IndexEntry[];
      this.total = all.length;
      this.#page = all;
      this.#through = Number.MAX_SAFE_INTEGER;
      this.needsFill = false;
    } else {
      const events = source as CommittedEvents;
      this.total = events.count;
      this.#page = NONE;
      this.#through = events.through;
      this.#pages = events.pages()[Symbol.asyncIterator]();
      this.needsFill = true;
    }
  }

  /** The next committed event, or undefined when there is none (call only while `needsFill` is false). */
  peek(): IndexEntry | undefined {
    return this.#page[this.#at];
  }

  advance(): void {
    if (++this.#at >= this.#page.length && this.#pages !== undefined) this.needsFill = true;
  }

  /** Reads the next page (skipping empty ones); at the end of the source, or past `through`, the cursor ends. */
  async fill(): Promise<void> {
    while (this.needsFill) {
      const pages = this.#pages;
      const r = pages === undefined ? undefined : await pages.next();
      if (r === undefined || r.done === true) return this.#end(NONE);
      const page = r.value;
      this.#at = 0;
      if (page.length > 0 && page[page.length - 1]!.globalSequence > this.#through) {
        let cut = 0;
        while (cut < page.length && page[cut]!.globalSequence <= this.#through) cut++;
        return this.#end(page.slice(0, cut));
      }
      this.#page = page;
      this.needsFill = page.length === 0;
    }
  }

  #end(last: readonly IndexEntry[]): void {
    this.#page = last;
    this.#at = 0;
    this.needsFill = false;
    const pages = this.#pages;
    this.#pages = undefined;
    // Stops a paged scan that still had entries after `through`.
    if (pages?.return !== undefined) pages.return().catch(() => undefined);
  }

  /** Stops the source early (a failed or aborted walk). */
  close(): void {
    this.#end(NONE);
  }
}
