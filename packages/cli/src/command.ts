// The shape every command shares: flags, help text with an example, and a run function returning an exit code.
// Invariant: `--help` for every command comes from this one table, so each documented flag is a flag the parser accepts.

import type { FlagSpec, ParsedArgs } from './args.js';
import type { ExitCode } from './exit.js';

export interface Output {
  readonly isTTY?: boolean;
  readonly columns?: number;
  write(chunk: string): boolean;
  once?(event: 'drain', listener: () => void): unknown;
}

export interface CommandIo {
  readonly stdout: Output;
  readonly stderr: Output;
}

export interface CommandContext {
  readonly args: ParsedArgs;
  readonly io: CommandIo;
  readonly json: boolean;
}

export interface Command {
  readonly name: string;
  /** One line for the command table. */
  readonly summary: string;
  /** `batpak verify <dir> [options]`. */
  readonly usage: string;
  /** Paragraphs after the usage line. */
  readonly description: string;
  readonly examples: readonly string[];
  readonly flags: readonly FlagSpec[];
  run(ctx: CommandContext): Promise<ExitCode>;
}

export const JSON_FLAG: FlagSpec = { name: 'json', type: 'boolean', help: 'print one JSON object instead of text (no progress bar)' };

/** Flags every command accepts. */
export const GLOBAL_FLAGS: readonly FlagSpec[] = [
  { name: 'help', type: 'boolean', help: 'show this help' },
  { name: 'debug', type: 'boolean', help: 'print stack traces with errors' },
];

export function helpText(cmd: Command): string {
  const flags = [...cmd.flags, ...GLOBAL_FLAGS];
  const left = flags.map((f) => `--${f.name}${f.type === 'string' ? ` <${f.value ?? 'value'}>` : ''}${f.repeatable === true ? ' …' : ''}`);
  const width = Math.max(...left.map((l) => l.length));
  const lines = [
    `usage: ${cmd.usage}`,
    '',
    cmd.summary,
    ...(cmd.description === '' ? [] : ['', cmd.description]),
    '',
    'options:',
    ...flags.map((f, i) => `  ${left[i]!.padEnd(width)}  ${f.help}`),
    '',
    cmd.examples.length === 1 ? 'example:' : 'examples:',
    ...cmd.examples.map((e) => `  ${e}`),
  ];
  return `${lines.join('\n')}\n`;
}

/** JSON with bigints as decimal strings and bytes as hex: the portable form used across batpak. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v));
}

/** Writes and waits for the stream to drain when it asks to, so large outputs stay bounded in memory. */
export function writeAll(out: Output, chunk: string): Promise<void> {
  if (out.write(chunk) || out.once === undefined) return Promise.resolve();
  return new Promise((resolve) => out.once!('drain', resolve));
}

export type { ParsedArgs };
