// Byte counts for people: `512 B`, `1.5 KiB`, `3.2 GiB` — shared by the commands that describe stores.
// Invariant: binary units (1024), one decimal; the exact count is always in the --json output beside it.

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(1)} ${units[u]}`;
}
