// Command-line parsing on node:util.parseArgs: `--flag value`, `--flag=value`, booleans, repeatable flags, `--` and positionals, against a per-command spec.
// Invariant: anything the spec does not name is a usage error (exit 2) — a typo never silently changes what a compliance job does.

import { parseArgs as parseArgv } from 'node:util';
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

  // node:util splits the words (`--flag=value`, `--flag value`, `--`, positionals). Non-strict, so that every
  // usage error below keeps batpak's own wording and exit code instead of node's ERR_PARSE_ARGS_* messages.
  const { tokens } = parseArgv({
    args: [...argv],
    options: Object.fromEntries(specs.map((s) => [s.name, { type: s.type }])),
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  for (const token of tokens) {
    if (token.kind === 'positional') {
      positionals.push(token.value);
      continue;
    }
    if (token.kind === 'option-terminator') continue;
    // The word as typed: `-x` and `-abc` are refused whole, and a long option's name ends at its first `=`.
    const arg = argv[token.index]!;
    if (!arg.startsWith('--')) throw CliError.usage(`unknown option ${arg} (${hint})`);
    const eq = arg.indexOf('=');
    const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
    const spec = byName.get(name);
    if (spec === undefined) throw CliError.usage(`unknown option --${name} (${hint})`);
    if (spec.type === 'boolean') {
      if (token.inlineValue === true) throw CliError.usage(`--${name} takes no value (${hint})`);
      bools.add(name);
      continue;
    }
    const value = token.value;
    // `--out --json`: the next word is another flag, not this one's value (`--out=--json` is a value).
    if (value === undefined || (token.inlineValue !== true && value.startsWith('--'))) throw CliError.usage(`--${name} needs a value (${hint})`);
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
