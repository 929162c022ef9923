// Stopping long commands: the first SIGINT (Ctrl-C) or SIGTERM (kill, systemd, a container stop) aborts the command's
// AbortSignal so it can close the store cleanly and still print its result (one JSON object with --json); a second one exits at once.
// Invariant: a command that sees the abort closes its store before the process exits (no lock or half-written output left behind by us).

import { EXIT } from './exit.js';

export interface Interrupt {
  readonly signal: AbortSignal;
  dispose(): void;
}

/** The signals that stop a long command. Both end with exit 130 (EXIT.INTERRUPTED). */
const STOP_SIGNALS = ['SIGINT', 'SIGTERM'] as const;

export function onInterrupt(stderr: { write(chunk: string): unknown }): Interrupt {
  const controller = new AbortController();
  const handler = (name: NodeJS.Signals): void => {
    if (controller.signal.aborted) process.exit(EXIT.INTERRUPTED);
    const again = name === 'SIGINT' ? 'Ctrl-C' : name;
    stderr.write(`\ninterrupted: stopping cleanly (${again} again to exit at once)\n`);
    controller.abort(new Error(`interrupted by ${name}`));
  };
  for (const s of STOP_SIGNALS) process.on(s, handler);
  return {
    signal: controller.signal,
    dispose: () => {
      for (const s of STOP_SIGNALS) process.off(s, handler);
    },
  };
}
