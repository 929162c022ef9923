// Ctrl-C for long commands: the first SIGINT aborts the command's AbortSignal so it can close the store cleanly; a second one exits at once.
// Invariant: a command that sees the abort closes its store before the process exits (no lock or half-written output left behind by us).

import { EXIT } from './exit.js';

export interface Interrupt {
  readonly signal: AbortSignal;
  dispose(): void;
}

export function onInterrupt(stderr: { write(chunk: string): unknown }): Interrupt {
  const controller = new AbortController();
  const handler = (): void => {
    if (controller.signal.aborted) process.exit(EXIT.INTERRUPTED);
    stderr.write('\ninterrupted: stopping cleanly (Ctrl-C again to exit at once)\n');
    controller.abort(new Error('interrupted by SIGINT'));
  };
  process.on('SIGINT', handler);
  return {
    signal: controller.signal,
    dispose: () => process.off('SIGINT', handler),
  };
}
