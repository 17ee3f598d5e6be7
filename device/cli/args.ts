/**
 * Command arguments, declared per command and parsed by node:util `parseArgs`: `--flag value`, `--flag=value`,
 * `--switch`, positionals, and `--` before positionals that start with a dash. Every option a command accepts
 * is declared in its {@link OptionSpecs}, which is also what its `--help` lists (device/cli/help.ts).
 *
 * Declaring a command's options:
 *
 * ```ts
 * const OPTIONS = {
 *   'data-dir': option('DIR', 'the data dir to read'),
 *   json: flag('print one JSON object instead of text'),
 * } satisfies OptionSpecs;
 * // in run(): const args = parseArgs(ctx.argv, OPTIONS);
 * ```
 */
import { parseArgs as parseArgv } from 'node:util';
import { OnepadError } from '../errors.js';

/** One declared option of a command. */
export interface OptionSpec {
  /** `string` takes a value (`--dir DIR` or `--dir=DIR`); `boolean` is a switch (`--json`) and takes none. */
  readonly type: 'string' | 'boolean';
  /** What the value is, as `--help` shows it (`DIR`, `N`, `URL`); only for string options. */
  readonly value?: string;
  /** One line for `--help`. */
  readonly help: string;
}

/** A command's options by long name (without the leading `--`). */
export type OptionSpecs = Readonly<Record<string, OptionSpec>>;

/** A string option whose value `--help` shows as `value`. */
export function option(value: string, help: string): OptionSpec {
  return { type: 'string', value, help };
}

/** A switch: present or absent, no value. */
export function flag(help: string): OptionSpec {
  return { type: 'boolean', help };
}

/** Parsed `--flag value`, `--flag=value` and `--switch` options, and the positional arguments. */
export interface ParsedArgs {
  readonly options: ReadonlyMap<string, string | true>;
  readonly positionals: readonly string[];
}

/**
 * Parse command arguments against the command's declared options. A later occurrence of an option wins.
 *
 * @throws OnepadError INVALID_ARGUMENT (details.option) for an option not declared in `specs` (short options
 *   like `-x` included), a string option without its value, or a switch given a value (`--json=1`)
 */
export function parseArgs(argv: readonly string[], specs: OptionSpecs): ParsedArgs {
  const declared: Record<string, { type: 'string' | 'boolean' }> = {};
  for (const [name, spec] of Object.entries(specs)) declared[name] = { type: spec.type };
  // Not strict: the tokens are checked here against `specs`, so every failure gets the registry's code.
  const { tokens } = parseArgv({
    args: [...argv],
    options: declared,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const options = new Map<string, string | true>();
  const positionals: string[] = [];
  for (const t of tokens) {
    if (t.kind === 'positional') positionals.push(t.value);
    if (t.kind !== 'option') continue;
    // Only long options are declared: `-x` (and a group like `-abc`) is unknown, whatever its letters are.
    const spec = t.rawName.startsWith('--') && Object.hasOwn(specs, t.name) ? specs[t.name] : undefined;
    if (!spec) throw new OnepadError('INVALID_ARGUMENT', { option: t.name }, `unknown option ${t.rawName}`);
    if (spec.type === 'boolean') {
      if (t.inlineValue) throw new OnepadError('INVALID_ARGUMENT', { option: t.name }, `--${t.name} takes no value`);
      options.set(t.name, true);
    } else {
      if (t.value === undefined) {
        throw new OnepadError('INVALID_ARGUMENT', { option: t.name }, `--${t.name} needs a value`);
      }
      options.set(t.name, t.value);
    }
  }
  return { options, positionals };
}

/** A string option, or the fallback; throws INVALID_ARGUMENT when required and missing. */
export function stringOption(args: ParsedArgs, name: string, fallback?: string): string {
  const v = args.options.get(name);
  if (typeof v === 'string') return v;
  if (fallback !== undefined) return fallback;
  throw new OnepadError('INVALID_ARGUMENT', { option: name }, `--${name} is required`);
}

/** A non-negative integer option (accepts k/M/G suffixes, powers of 1024). */
export function sizeOption(args: ParsedArgs, name: string, fallback?: number): number {
  const v = args.options.get(name);
  if (v === undefined && fallback !== undefined) return fallback;
  if (typeof v !== 'string') throw new OnepadError('INVALID_ARGUMENT', { option: name }, `--${name} is required`);
  const m = /^(\d+)([kKmMgG]?)$/.exec(v);
  if (!m) throw new OnepadError('INVALID_ARGUMENT', { option: name }, `--${name} must be a whole number`);
  const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[(m[2] ?? '').toLowerCase()] ?? 1;
  const n = Number(m[1]) * mult;
  if (!Number.isSafeInteger(n)) throw new OnepadError('INVALID_ARGUMENT', { option: name }, `--${name} is too large`);
  return n;
}
