// Command-line parsing: `--flag value`, `--flag=value`, booleans, repeatable flags, `--` and positionals, against a per-command spec.
// Invariant: anything the spec does not name is a usage error (exit 2) — a typo never silently changes what a compliance job does.

import { CliError } from './exit.js';

export interface FlagSpec {
  readonly name: string;
  readonly type: 'boolean' | 'string';
  /** May be given more than once; the values are collected in order. */
  readonly repeatable?: boolean;
  /** Shown in --help after the flag. */
  readonly value?: string;
  readonly help: string;
}

export interface ParsedArgs {
  readonly positionals: readonly string[];
  /** Last value of a string flag. */
  string(name: string): string | undefined;
  /** Every value of a repeatable flag. */
  strings(name: string): readonly string[];
  bool(name: string): boolean;
  has(name: string): boolean;
}

export function parseArgs(argv: readonly string[], specs: readonly FlagSpec[], command: string): ParsedArgs {
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

/** A non-negative safe integer (decimal), or a usage error naming the flag. */
export function integerFlag(args: ParsedArgs, name: string, options: { min?: number; max?: number } = {}): number | undefined {
  const text = args.string(name);
  if (text === undefined) return undefined;
  const min = options.min ?? 0;
  const max = options.max ?? Number.MAX_SAFE_INTEGER;
  if (!/^[0-9]+$/.test(text) || Number(text) < min || Number(text) > max) {
    throw CliError.usage(`--${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(text)}`);
  }
  return Number(text);
}

/** Exactly one positional: the store directory. */
export function dirArgument(args: ParsedArgs, command: string): string {
  const [dir, ...rest] = args.positionals;
  if (dir === undefined) throw CliError.usage(`missing <dir> (see \`batpak ${command} --help\`)`);
  if (rest.length > 0) throw CliError.usage(`unexpected argument ${JSON.stringify(rest[0])} (see \`batpak ${command} --help\`)`);
  return dir;
}
