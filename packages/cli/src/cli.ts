#!/usr/bin/env node
// The `batpak` executable: runs main() on the process's arguments and streams, then exits with its code.
// Invariant: the exit code is main()'s, set only after stdout and stderr have been flushed.

import { main } from './main.js';

// A reader that stops early (`batpak export … | head`) closes the pipe: that ends the output, it is not a failure.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});

// No top-level await: the package stays loadable with require() (Node >= 20.19 refuses async ES modules there).
void main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr }).then((code) => {
  // Let buffered pipe writes finish before leaving; `serve` returns only after its shutdown.
  process.exitCode = code;
  // Every command closes what it opened; should a stray handle remain, do not hang a cron job over it.
  setTimeout(() => process.exit(code), 5_000).unref();
});
