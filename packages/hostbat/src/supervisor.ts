// Supervisor: runs supervised job bodies as tracked promises, reports their status, and joins them at shutdown.
// Invariant: a job that throws or rejects never affects its siblings or the process; joinAll reports every job exactly once.

import type { JobBody } from './module.js';

export type JobStatus = 'running' | 'completed' | 'failed';

export interface JobOutcome {
  readonly name: string;
  readonly ok: boolean;
  /** What the body threw, when `ok` is false. */
  readonly error?: unknown;
}

interface Job {
  readonly name: string;
  status: JobStatus;
  error?: unknown;
  readonly done: Promise<void>;
}

export class Supervisor {
  #jobs: Job[] = [];

  /** Starts `body(signal)` on a later tick; a synchronous throw counts as the job failing. */
  spawn(name: string, body: JobBody, signal: AbortSignal): void {
    const job: Job = {
      name,
      status: 'running',
      done: Promise.resolve()
        .then(() => body(signal))
        .then(
          () => {
            job.status = 'completed';
          },
          (err: unknown) => {
            job.status = 'failed';
            job.error = err;
          },
        ),
    };
    this.#jobs.push(job);
  }

  get jobCount(): number {
    return this.#jobs.length;
  }

  /** (name, status) of every job not yet joined, in spawn order. */
  statuses(): readonly { readonly name: string; readonly status: JobStatus }[] {
    return this.#jobs.map((j) => ({ name: j.name, status: j.status }));
  }

  /** Waits for every job (including ones spawned meanwhile), reports each, and forgets them. */
  async joinAll(): Promise<readonly JobOutcome[]> {
    const out: JobOutcome[] = [];
    while (this.#jobs.length > 0) {
      const batch = this.#jobs;
      this.#jobs = [];
      await Promise.all(batch.map((j) => j.done));
      for (const j of batch) out.push(j.status === 'failed' ? { name: j.name, ok: false, error: j.error } : { name: j.name, ok: true });
    }
    return out;
  }
}
