// Traceability check: every INV- invariant maps to existing tests that cite it, every cited id is
// known, and every INV- id in the shared spec is listed. Used by CI and by a vitest test.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

/** Parses the restricted YAML of traceability/invariants.yaml (a list of flat maps with one list). */
export function parseInvariants(text) {
  const out = [];
  let cur;
  let listKey;
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\s+#.*$/, '').replace(/^#.*$/, '');
    if (line.trim() === '' || line.trim() === 'invariants:') continue;
    let m;
    if ((m = /^ {2}- id:\s*(\S+)\s*$/.exec(line))) {
      cur = { id: m[1], tests: [] };
      out.push(cur);
      listKey = undefined;
    } else if ((m = /^ {4}(\w+):\s*(.*)$/.exec(line)) && cur) {
      if (m[2] === '') listKey = m[1];
      else {
        cur[m[1]] = m[2];
        listKey = undefined;
      }
    } else if ((m = /^ {6}- (.+)$/.exec(line)) && cur && listKey) {
      cur[listKey].push(m[1].trim());
    } else {
      throw new Error(`invariants.yaml: cannot parse line: ${raw}`);
    }
  }
  return out;
}

function walk(dir, files = []) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist') continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, files);
    else if (/\.test\.ts$/.test(name)) files.push(p);
  }
  return files;
}

export function checkTraceability(root) {
  const problems = [];
  const invariants = parseInvariants(readFileSync(join(root, 'traceability/invariants.yaml'), 'utf8'));
  const known = new Set();
  for (const inv of invariants) {
    if (known.has(inv.id)) problems.push(`${inv.id}: listed twice`);
    known.add(inv.id);
    if (!/^INV-[A-Z0-9-]+$/.test(inv.id)) problems.push(`${inv.id}: not an INV- id`);
    if (inv.pending !== undefined) {
      if (!/^\d+$/.test(inv.pending)) problems.push(`${inv.id}: pending must name an issue number`);
      if (inv.tests.length > 0) problems.push(`${inv.id}: pending but lists tests`);
      continue;
    }
    if (inv.tests.length === 0) problems.push(`${inv.id}: orphaned (no test proves it)`);
    for (const t of inv.tests) {
      const p = join(root, t);
      if (!existsSync(p)) problems.push(`${inv.id}: test file ${t} does not exist`);
      else if (!readFileSync(p, 'utf8').includes(inv.id)) problems.push(`${inv.id}: ${t} does not cite ${inv.id}`);
    }
  }
  for (const file of walk(join(root, 'packages'))) {
    for (const id of readFileSync(file, 'utf8').match(/INV-[A-Z0-9]+(?:-[A-Z0-9]+)*/g) ?? []) {
      if (!known.has(id)) problems.push(`${relative(root, file)} cites ${id}, which invariants.yaml does not list`);
    }
  }
  const spec = join(root, '../shared/spec/core-guarantees.md');
  if (existsSync(spec)) {
    for (const id of new Set(readFileSync(spec, 'utf8').match(/INV-[A-Z0-9]+(?:-[A-Z0-9]+)*/g) ?? [])) {
      if (!known.has(id)) problems.push(`${id} (core-guarantees.md) is not in invariants.yaml`);
    }
  }
  const covered = invariants.filter((i) => i.pending === undefined).length;
  return { problems, covered, pending: invariants.length - covered };
}
