#!/usr/bin/env node
// License gate: every production dependency of the workspace (pnpm's own resolution) is compared
// with deny-licenses.json. A denied or unknown license fails CI; the offending package is named.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const root = new URL('..', import.meta.url);
const { deny } = JSON.parse(readFileSync(new URL('deny-licenses.json', root), 'utf8'));

function pnpmLicenses() {
  const pnpm = process.env.npm_execpath ?? '';
  const out = pnpm.includes('pnpm')
    ? execFileSync(process.execPath, [pnpm, 'licenses', 'list', '--json', '--prod'], { cwd: root, encoding: 'utf8' })
    : execFileSync('npx', ['-y', 'pnpm@10', 'licenses', 'list', '--json', '--prod'], { cwd: root, encoding: 'utf8' });
  return JSON.parse(out);
}

/** Splits an SPDX expression into its license ids; `(MIT OR GPL-3.0)` passes if any OR-branch is allowed. */
export function isDenied(expression, denyList) {
  const matches = (id) =>
    denyList.some((d) => (d.endsWith('*') ? id.toUpperCase().startsWith(d.slice(0, -1).toUpperCase()) : id.toUpperCase() === d.toUpperCase()));
  const orBranches = expression.replace(/[()]/g, '').split(/\s+OR\s+/i);
  return orBranches.every((branch) => branch.split(/\s+AND\s+/i).some((id) => matches(id.trim())));
}

const byLicense = pnpmLicenses();
const bad = [];
let count = 0;
for (const [license, pkgs] of Object.entries(byLicense)) {
  for (const p of pkgs) {
    count++;
    if (isDenied(license, deny)) bad.push(`${p.name}@${p.versions.join(',')}: ${license}`);
  }
}
if (bad.length > 0) {
  console.error(`license check: ${bad.length} denied runtime dependenc${bad.length === 1 ? 'y' : 'ies'}:\n  ${bad.join('\n  ')}`);
  process.exit(1);
}
console.log(`license check: ${count} runtime dependencies, none denied (${Object.keys(byLicense).join(', ')})`);
