// Runs before every test file: the suites open hundreds of stores on injected faults, and each recovery
// cut or checkpoint fallback is a BatpakWarning that Node's default handler would print, burying the
// results. Only the printing is dropped: tests that check warnings listen on process 'warning', which still fires.
const printers = process.listeners('warning');
process.removeAllListeners('warning');
process.on('warning', (warning) => {
  if (warning.name === 'BatpakWarning') return;
  for (const print of printers) print(warning);
});
