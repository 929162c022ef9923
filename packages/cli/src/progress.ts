// The progress bar of long commands (done/total, rate, ETA) — drawn on stderr when it is a terminal, never into a pipe, a file or --json output.
// Invariant: when disabled it writes nothing at all, so piped output carries no escape codes (INV-CLI-EXIT-CODES suite checks it).

/** Where the bar draws: a stream with `isTTY` and (optionally) `columns`. */
export interface ProgressStream {
  readonly isTTY?: boolean;
  readonly columns?: number;
  write(chunk: string): unknown;
}

export interface ProgressOptions {
  readonly label: string;
  /** What is counted, for the rate: `events`. */
  readonly unit: string;
  readonly stream: ProgressStream;
  readonly enabled: boolean;
  /** Milliseconds clock; default Date.now. */
  readonly now?: () => number;
  /** Minimum time between redraws. Default 100 ms. */
  readonly intervalMs?: number;
  /** Once aborted (Ctrl-C) the bar stops drawing, so the interruption notice is the last thing on screen. */
  readonly signal?: AbortSignal;
}

/**
 * Draw only when every stream in `streams` is a terminal, --json is off and TERM is not `dumb`. Commands
 * pass the stream the bar draws on (stderr): `batpak verify ./data > report.txt` still shows progress,
 * `2> log` does not. A command whose data goes to stdout adds a stand-in `{ isTTY: stdout is not a
 * terminal }`, so the bar never interleaves with that data on the same screen.
 */
export function progressEnabled(options: { readonly json: boolean; readonly streams: readonly { readonly isTTY?: boolean }[]; readonly env?: NodeJS.ProcessEnv }): boolean {
  const env = options.env ?? process.env;
  if (options.json || env.TERM === 'dumb' || env.BATPAK_NO_PROGRESS === '1') return false;
  return options.streams.every((s) => s.isTTY === true);
}

export function formatCount(n: number): string {
  if (n < 1000) return String(Math.round(n));
  if (n < 1_000_000) return `${(n / 1000).toFixed(n < 10_000 ? 1 : 0)}k`;
  return `${(n / 1_000_000).toFixed(n < 10_000_000 ? 1 : 0)}M`;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

/** One frame of the bar, without control characters: `verify [#####-----] 1.2k/5.0k 24% 3.1k events/s ETA 0:01`. */
export function renderProgress(state: { label: string; unit: string; done: number; total: number; elapsedMs: number; width: number }): string {
  const { label, unit, done, total, elapsedMs, width } = state;
  const fraction = total > 0 ? Math.min(1, done / total) : 0;
  const rate = elapsedMs > 0 ? (done * 1000) / elapsedMs : 0;
  const eta = rate > 0 ? (total - done) / rate : Number.NaN;
  const tail = ` ${formatCount(done)}/${formatCount(total)} ${Math.floor(fraction * 100)}% ${formatCount(rate)} ${unit}/s ETA ${formatDuration(eta)}`;
  const barWidth = Math.max(10, Math.min(30, width - label.length - tail.length - 4));
  const filled = Math.round(fraction * barWidth);
  return `${label} [${'#'.repeat(filled)}${'-'.repeat(barWidth - filled)}]${tail}`;
}

export class ProgressBar {
  readonly #o: ProgressOptions;
  readonly #now: () => number;
  readonly #start: number;
  #last = -Infinity;
  #drawn = false;

  constructor(options: ProgressOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
    this.#start = this.#now();
  }

  update(done: number, total: number): void {
    if (!this.#o.enabled || this.#o.signal?.aborted === true) return;
    const now = this.#now();
    if (now - this.#last < (this.#o.intervalMs ?? 100) && done < total) return;
    this.#last = now;
    // A pty without a size reports 0 columns.
    const width = (this.#o.stream.columns ?? 0) > 20 ? this.#o.stream.columns! : 80;
    const line = renderProgress({ label: this.#o.label, unit: this.#o.unit, done, total, elapsedMs: now - this.#start, width });
    // \r + erase-line: redraw in place.
    this.#o.stream.write(`\r${line.slice(0, width - 1)}\u001b[K`);
    this.#drawn = true;
  }

  /**
   * A line of text in the bar's place, for a phase with no done/total to draw (only what is known: what
   * runs and for how long). Same rules as the bar: nothing when disabled or after Ctrl-C.
   */
  status(text: string): void {
    if (!this.#o.enabled || this.#o.signal?.aborted === true) return;
    const width = (this.#o.stream.columns ?? 0) > 20 ? this.#o.stream.columns! : 80;
    this.#o.stream.write(`\r${text.slice(0, width - 1)}\u001b[K`);
    this.#drawn = true;
  }

  /** Erases the bar so the command's own output starts on a clean line. */
  clear(): void {
    if (this.#drawn) this.#o.stream.write('\r\u001b[K');
    this.#drawn = false;
  }
}
