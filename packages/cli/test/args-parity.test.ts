// node:util.parseArgs replaced a hand-rolled loop in src/args.ts: this keeps that loop as the reference and
// checks on generated command lines that both accept the same words, give the same values, and fail with the same error.
// Invariant under test: the flags the CLI accepts, its usage messages and their exit code (2) did not change.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseArgs, type FlagSpec, type ParsedArgs } from '../src/args.js';
import { CliError } from '../src/exit.js';

const SPECS: readonly FlagSpec[] = [
  { name: 'json', type: 'boolean', help: '' },
  { name: 'out', type: 'string', help: '' },
  { name: 'public-key', type: 'string', repeatable: true, help: '' },
  { name: 'help', type: 'boolean', help: '' },
];

// The parser before node:util.parseArgs, verbatim.
function handRolledParseArgs(argv: readonly string[], specs: readonly FlagSpec[], command: string): ParsedArgs {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const values = new Map<string, string[]>();
  const bools = new Set<string>();
  const positionals: string[] = [];
  const hint = `see \`batpak ${command} --help\``;

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('--') || arg === '-') {
      if (arg.startsWith('-') && arg !== '-') throw CliError.usage(`unknown option ${arg} (${hint})`);
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
    const spec = byName.get(name);
    if (spec === undefined) throw CliError.usage(`unknown option --${name} (${hint})`);
    if (spec.type === 'boolean') {
      if (eq !== -1) throw CliError.usage(`--${name} takes no value (${hint})`);
      bools.add(name);
      continue;
    }
    let value: string | undefined;
    if (eq !== -1) value = arg.slice(eq + 1);
    else {
      value = argv[i + 1];
      if (value === undefined || value.startsWith('--')) throw CliError.usage(`--${name} needs a value (${hint})`);
      i++;
    }
    const list = values.get(name) ?? [];
    if (list.length > 0 && spec.repeatable !== true) throw CliError.usage(`--${name} given twice (${hint})`);
    list.push(value);
    values.set(name, list);
  }

  return {
    positionals,
    string: (name) => values.get(name)?.at(-1),
    strings: (name) => values.get(name) ?? [],
    bool: (name) => bools.has(name),
    has: (name) => bools.has(name) || values.has(name),
  };
}


const WORDS = ['--json', '--out', '--out=x', '--out=', '--out=--json', '--public-key', '--public-key=ab', 'k1', 'k2', 'dir', '-', '-x', '-abc', '-5',
  '--', '--unknown', '--unknown=v', '--json=1', '--json=', '--=x', '---x', '--help', '--Json', ' ', '', '--out=a=b'];

function outcome(parse: () => ParsedArgs): unknown {
  try {
    const a = parse();
    return { positionals: a.positionals, out: a.string('out'), keys: a.strings('public-key'), json: a.bool('json'), help: a.bool('help'), hasOut: a.has('out') };
  } catch (err) {
    return err instanceof CliError ? { code: err.code, exitCode: err.exitCode, message: err.message } : { unexpected: String(err) };
  }
}

describe('args.ts on node:util.parseArgs', () => {
  it('agrees with the hand-rolled parser it replaced on generated command lines', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...WORDS), { maxLength: 7 }), (argv) => {
        expect(outcome(() => parseArgs(argv, SPECS, 'verify'))).toEqual(outcome(() => handRolledParseArgs(argv, SPECS, 'verify')));
      }),
      { numRuns: 3000 },
    );
  });

  it('keeps the usage messages word for word', () => {
    const msg = (argv: string[]) => (outcome(() => parseArgs(argv, SPECS, 'verify')) as { message?: string }).message;
    expect(msg(['-x'])).toBe('unknown option -x (see `batpak verify --help`)');
    expect(msg(['--nope=1'])).toBe('unknown option --nope (see `batpak verify --help`)');
    expect(msg(['--json=1'])).toBe('--json takes no value (see `batpak verify --help`)');
    expect(msg(['--out', '--json'])).toBe('--out needs a value (see `batpak verify --help`)');
    expect(msg(['--out'])).toBe('--out needs a value (see `batpak verify --help`)');
    expect(msg(['--out=a', '--out', 'b'])).toBe('--out given twice (see `batpak verify --help`)');
  });
});
