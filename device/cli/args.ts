import { OnepadError } from '../errors.js';

/** Parsed `--flag value`, `--flag=value` and `--switch` options, and the positional arguments. */
export interface ParsedArgs {
  readonly options: ReadonlyMap<string, string | true>;
  readonly positionals: readonly string[];
}

/**
 * Parse command arguments. `switches` names the options that take no value.
 *
 * @throws OnepadError INVALID_ARGUMENT for an option not in `known`, or a valued option without its value
 */
export function parseArgs(
  argv: readonly string[],
  known: readonly string[],
  switches: readonly string[] = [],
): ParsedArgs {
  const options = new Map<string, string | true>();
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('--')) {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
    if (!known.includes(name) && !switches.includes(name)) {
      throw new OnepadError('INVALID_ARGUMENT', { option: name }, `unknown option --${name}`);
    }
    if (switches.includes(name)) {
      options.set(name, true);
      continue;
    }
    const value = eq >= 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined) throw new OnepadError('INVALID_ARGUMENT', { option: name }, `--${name} needs a value`);
    options.set(name, value);
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
