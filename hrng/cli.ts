/**
 * `onepad hrng test`, `onepad hrng fill` and `onepad hrng status`.
 *
 * - `hrng test --source SPEC --seconds N`: reads one source for N seconds through its health gate (every
 *   continuous test), without touching the pool, and judges the rate and every test. Exit 0 only when the rate
 *   is acceptable, every test passed and at least a holdback's worth of bytes was tested; else 1.
 * - `hrng status --data-dir DIR [--json]`: the pool counters, the latch and its reason, and every test's
 *   counters from the last fill (hrng-status.json).
 * - `hrng fill`: runs the filler in the foreground with a progress bar until the pool is full (or `--bytes`),
 *   Ctrl-C to stop. `--resume` is the operator's explicit action that clears a latched failure first.
 *
 * SPEC is a configured source's name, or `sim[:seed]`, `hwrng[:path]`, `truerng[:path]`, `onerng[:path]`.
 * Both take `--config FILE` (default $ONEPAD_CONFIG or ./onepad.json) or `--data-dir DIR` with default settings.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { BindingInterface } from '@serialport/bindings-cpp';
import {
  flag,
  type OptionSpecs,
  option,
  type ParsedArgs,
  parseArgs,
  sizeOption,
  stringOption,
} from '../device/cli/args.js';
import type { Command, CommandContext, CommandGroup } from '../device/cli/command.js';
import { type Config, loadConfig, parseConfig } from '../device/config/config.js';
import { dataDirLayout, prepareDataDir } from '../device/data-dir.js';
import { isOnepadError, OnepadError } from '../device/errors.js';
import { EventLog } from '../device/events.js';
import { openLedgerDb } from '../device/ledger/open.js';
import { poolLimit } from '../device/storage.js';
import type { HrngSourceConfig } from './config-section.js';
import { createSource, createSources, fillerSettings, needsSerial } from './factory.js';
import { Filler, type FillProgress } from './filler.js';
import { type GateCounters, HealthGate } from './gate.js';
import { EntropyPool } from './pool.js';
import { loadSeed } from './seed.js';
import type { RawSource } from './source.js';
import { readStatus } from './status-file.js';

/** What the commands need from outside; tests pass their own. */
export interface HrngCliDeps {
  /** The serialport binding, loaded only when a serial source is used. */
  readonly binding?: () => Promise<BindingInterface>;
  readonly now?: () => number;
}

async function realBinding(): Promise<BindingInterface> {
  const { autoDetect } = await import('@serialport/bindings-cpp');
  return autoDetect();
}

const CONFIG_OPTION = option('FILE', 'the device config (default $ONEPAD_CONFIG or ./onepad.json)');
const DATA_DIR_OPTION = option('DIR', 'a data dir with default settings, instead of --config');

function configFrom(args: ParsedArgs): Config {
  const dataDir = args.options.get('data-dir');
  if (typeof dataDir === 'string') return parseConfig({ dataDir });
  const path = stringOption(args, 'config', process.env.ONEPAD_CONFIG ?? 'onepad.json');
  if (!existsSync(path) && !args.options.has('config')) {
    throw new OnepadError('INVALID_ARGUMENT', { option: 'config' }, `no ${path}; pass --config FILE or --data-dir DIR`);
  }
  return loadConfig(path);
}

/** A source config from a command-line spec (or a configured source by name). */
function sourceSpec(spec: string, config: Config | null): HrngSourceConfig {
  const configured = config?.hrng.sources.find((s) => (s.name || s.kind) === spec);
  if (configured) return configured;
  const base = parseConfig({ dataDir: '.', hrng: { sources: [{}] } }).hrng.sources[0] as HrngSourceConfig;
  const [kind, rest] = [spec.split(':')[0] ?? '', spec.includes(':') ? spec.slice(spec.indexOf(':') + 1) : ''];
  if (kind === 'sim' || kind === 'simulated') return { ...base, kind: 'simulated', ...(rest ? { seed: rest } : {}) };
  if (kind === 'hwrng' || kind === 'truerng' || kind === 'onerng') return { ...base, kind, path: rest };
  throw new OnepadError(
    'INVALID_ARGUMENT',
    { option: 'source' },
    'unknown --source; use sim, hwrng, truerng or onerng',
  );
}

function fmtBytes(n: number): string {
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${n} B`;
}

function fmtTime(s: number | null): string {
  if (s === null || !Number.isFinite(s)) return '--';
  if (s < 60) return `${Math.ceil(s)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(Math.ceil(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** Short health of one gate for the progress line: state, FIPS failures in the window, MCV estimate. */
function gateBrief(name: string, c: GateCounters): string {
  const state = c.state === 'failed' ? `FAILED ${c.failure?.test ?? ''}` : c.state === 'startup' ? 'holding' : 'ok';
  const h = c.mcv.estimate === null ? '-' : c.mcv.estimate.toFixed(1);
  return `${name} ${state} fips ${c.fipsRate.failedInWindow}/${c.fipsRate.cutoff} H~${h}`;
}

/** One progress bar line (no newline), with every gate's health. Pure, for tests and the display. */
export function progressLine(p: FillProgress, width = 30): string {
  const frac = p.capacity > 0 ? p.poolBytes / p.capacity : 0;
  const full = Math.round(frac * width);
  const bar = `${'#'.repeat(full)}${'-'.repeat(width - full)}`;
  const insecure = p.insecure ? '  INSECURE (simulated entropy)' : '';
  const health = [
    ...p.sources.map((s) => gateBrief(s.name, s.tests)),
    ...(p.combined?.gate ? [gateBrief('combined', p.combined.gate)] : []),
  ];
  const seeding = p.combined?.extractor?.seeding ? ', making the extractor seed' : '';
  return `[${bar}] ${(frac * 100).toFixed(1).padStart(5)}%  ${fmtBytes(p.poolBytes)} / ${fmtBytes(p.capacity)}  ${fmtBytes(
    Math.round(p.bytesPerSecond),
  )}/s  full in ${fmtTime(p.secondsToFull)}${insecure}${health.length ? `  | ${health.join('; ')}${seeding}` : ''}`;
}

/** One line per test: verdict and counters, for `hrng test` and `hrng status`. */
export function testLines(c: GateCounters): string[] {
  const f = c.failure;
  const verdict = (name: string, failed: boolean, reached = true) =>
    failed ? (f?.test === name ? `FAIL at sample ${f.sample}` : 'FAIL') : reached ? 'pass' : 'not reached';
  const est = (e: number | null) => (e === null ? '-' : e.toFixed(2));
  return [
    `repetition count test: ${verdict('rct', c.rct.failed)} (longest run ${c.rct.longestRun}, fails at ${c.rct.cutoff})`,
    `adaptive proportion test: ${verdict('apt', c.apt.failed)} (highest count ${c.apt.maxCount} of ${c.apt.window}, fails at ${c.apt.cutoff})`,
    `periodic structure (period <= ${c.periodic.maxPeriod}): ${verdict('periodic', c.periodic.failed)} (a repeat of ${c.periodic.length} bytes fails${c.periodic.failed ? `; found at distance ${c.periodic.period}` : ''}; ${c.periodic.candidates} candidates checked)`,
    `repeated 64-byte block (last ${fmtBytes(c.repeat.historyBytes)}): ${verdict('repeat', c.repeat.failed)} (${c.repeat.blocks} blocks checked)`,
    `most common value (window ${c.mcv.window}): ${verdict('mcv', c.mcv.failed, c.mcv.evaluations > 0)} (highest count ${c.mcv.maxCount}, fails at ${c.mcv.cutoff}; SP 800-90B estimate ${est(c.mcv.estimate)} bits/byte, lowest ${est(c.mcv.minEstimate)}; ${c.mcv.evaluations} windows)`,
    `collision (bits): ${verdict('collision', c.collision.failed, c.collision.evaluations > 0)} (highest short fraction ${c.collision.maxShortFraction.toFixed(4)}; SP 800-90B estimate ${est(c.collision.estimate)} bits/byte, lowest ${est(c.collision.minEstimate)}; ${c.collision.evaluations} windows)`,
    `FIPS 140-2 failure rate: ${verdict('fips-rate', c.fipsRate.failed, c.fipsRate.blocks > 0)} (at most ${c.fipsRate.maxFailedInWindow} failed of the last ${c.fipsRate.window} blocks, fails at ${c.fipsRate.cutoff}; ${c.fipsRate.blocks} blocks, ${c.fipsRate.blocksFailed} failed)`,
  ];
}

const TEST_OPTIONS = {
  source: option('SPEC', 'sim[:seed], hwrng[:path], truerng[:path], onerng[:path], or a configured source name'),
  seconds: option('N', 'how long to read (default 10)'),
  bytes: option('N', 'stop after reading N bytes'),
  config: CONFIG_OPTION,
  'data-dir': DATA_DIR_OPTION,
} satisfies OptionSpecs;

function testCommand(deps: HrngCliDeps): Command {
  return {
    name: 'test',
    usage:
      'hrng test --source sim|hwrng[:path]|truerng[:path]|onerng[:path]|NAME --seconds N [--bytes N] [--config FILE | --data-dir DIR]   read one source through its health tests',
    options: TEST_OPTIONS,
    example: 'hrng test --source truerng:/dev/ttyACM0 --seconds 30',
    async run(ctx) {
      const args = parseArgs(ctx.argv, TEST_OPTIONS);
      const now = deps.now ?? Date.now;
      let config: Config | null = null;
      if (args.options.has('config') || args.options.has('data-dir')) config = configFrom(args);
      const spec = sourceSpec(stringOption(args, 'source'), config);
      const seconds = sizeOption(args, 'seconds', 10);
      if (seconds < 1) throw new OnepadError('INVALID_ARGUMENT', { option: 'seconds' }, '--seconds must be at least 1');
      const binding = needsSerial([spec], false) ? await (deps.binding ?? realBinding)() : undefined;
      const source = createSource(spec, { simulated: false, ...(binding ? { binding } : {}) });
      const alphaLog2 = config?.hrng.alphaLog2 ?? 30;
      const maxBytes = args.options.has('bytes') ? sizeOption(args, 'bytes') : Number.POSITIVE_INFINITY;
      return runTest(ctx, source, alphaLog2, seconds * 1000, maxBytes, now);
    },
  };
}

async function runTest(
  ctx: CommandContext,
  source: RawSource,
  alphaLog2: number,
  ms: number,
  maxBytes: number,
  now: () => number,
): Promise<number> {
  const out = (s: string) => ctx.stdout.write(`${s}\n`);
  const gate = new HealthGate({ alphaLog2, h: source.claimedH });
  out(`source ${source.name} (${source.kind})${source.insecure ? ' INSECURE: simulated entropy' : ''}`);
  out(
    `claimed min-entropy H = ${source.claimedH} bits/byte; false alarms: RCT and APT 2^-${alphaLog2} per sample, the other tests 2^-${alphaLog2} per GiB`,
  );
  out(`cutoffs: RCT ${gate.rct.cutoff} repeats, APT ${gate.apt.cutoff} of ${gate.apt.window}`);
  await source.open();
  out(`opened: ${JSON.stringify(source.info())}`);
  const t0 = now();
  let raw = 0;
  let lost: OnepadError | null = null;
  const timer = setTimeout(() => void source.close(), ms);
  const onAbort = () => void source.close();
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  try {
    while (now() - t0 < ms && raw < maxBytes && gate.state !== 'failed' && !ctx.signal.aborted) {
      let bytes: Uint8Array;
      try {
        bytes = await source.read(65536);
      } catch (e) {
        if (isOnepadError(e, 'HRNG_SOURCE_LOST') && e.details.canceled) break;
        lost = e instanceof OnepadError ? e : new OnepadError('HRNG_SOURCE_LOST', { source: source.name });
        break;
      }
      raw += bytes.length;
      gate.push(bytes).released.fill(0);
      bytes.fill(0);
    }
  } finally {
    clearTimeout(timer);
    ctx.signal.removeEventListener('abort', onAbort);
    await source.close();
    gate.discardHeld();
  }
  const secs = Math.max(0.001, (now() - t0) / 1000);
  const rate = raw / secs;
  const c = gate.counters();
  out(`read ${raw} bytes in ${secs.toFixed(1)} s: ${fmtBytes(Math.round(rate))}/s`);
  // The rate is judged against the source's minimum; a read cut short by a failure is not a rate.
  const slow = source.minBytesPerSecond > 0 && !c.failure && !lost && rate < source.minBytesPerSecond;
  out(
    `rate: ${
      source.minBytesPerSecond > 0
        ? `${slow ? 'FAIL' : c.failure || lost ? 'not judged' : 'pass'} (${fmtBytes(Math.round(rate))}/s, minimum ${fmtBytes(source.minBytesPerSecond)}/s)`
        : 'not watched (no minimum for this source)'
    }`,
  );
  for (const line of testLines(c)) out(line);
  const enough = c.tested >= gate.holdbackBytes;
  out(
    `holdback: ${c.tested} bytes tested; a fill releases a byte only after ${gate.holdbackBytes} more passed every test${enough ? '' : ' (not reached: the tests are inconclusive)'}`,
  );
  if (lost) out(`source lost: ${lost.message}`);
  const verdict = c.failure
    ? `FAILED (${c.failure.test})`
    : lost
      ? 'LOST'
      : slow
        ? 'TOO SLOW'
        : !enough
          ? 'INCONCLUSIVE (too few bytes)'
          : 'HEALTHY';
  out(`verdict: ${verdict}`);
  return verdict === 'HEALTHY' ? 0 : 1;
}

const FILL_OPTIONS = {
  config: CONFIG_OPTION,
  'data-dir': DATA_DIR_OPTION,
  bytes: option('N', 'stop after adding N bytes to the pool (default: until it is full)'),
  resume: flag('clear a latched health-test failure first (the operator has checked the source)'),
  sim: flag('use simulated sources (seeded: INSECURE)'),
} satisfies OptionSpecs;

function fillCommand(deps: HrngCliDeps): Command {
  return {
    name: 'fill',
    usage:
      'hrng fill [--config FILE | --data-dir DIR] [--bytes N] [--resume] [--sim]   fill the entropy pool in the foreground',
    options: FILL_OPTIONS,
    example: 'hrng fill --config /etc/onepad/config.json --bytes 16M',
    async run(ctx) {
      const args = parseArgs(ctx.argv, FILL_OPTIONS);
      const config = configFrom(args);
      const simulated = config.device.simulated || args.options.get('sim') === true;
      const binding = needsSerial(config.hrng.sources, simulated) ? await (deps.binding ?? realBinding)() : undefined;
      const sources = createSources(config.hrng, { simulated, ...(binding ? { binding } : {}) });
      const layout = prepareDataDir(config.dataDir);
      const db = openLedgerDb(layout.ledger);
      const events = new EventLog(layout.events, config.engine.eventLogMax);
      let pool: EntropyPool | null = null;
      try {
        pool = EntropyPool.open({
          db,
          path: layout.pool,
          maxBytes: poolLimit(config.hrng.poolMaxBytes, layout.root, layout.pool),
          events,
        });
        const filler = new Filler({
          sources,
          pool,
          events,
          ...fillerSettings(config.hrng),
          ...(deps.now ? { now: deps.now } : {}),
        });
        if (args.options.get('resume') === true) {
          ctx.stdout.write(`resuming (was: ${filler.latched() ?? 'not latched'})\n`);
          filler.resume();
        }
        const tty = (ctx.stdout as { isTTY?: boolean }).isTTY === true;
        let last = 0;
        const show = (p: FillProgress, final = false) => {
          const t = Date.now();
          if (!final && t - last < (tty ? 200 : 1000)) return;
          last = t;
          ctx.stdout.write(tty ? `\r${progressLine(p)}` : `${progressLine(p)}\n`);
        };
        ctx.stdout.write(`filling ${layout.pool} from ${sources.map((s) => s.name).join(' XOR ')}\n`);
        const bytes = args.options.has('bytes') ? sizeOption(args, 'bytes') : undefined;
        const r = await filler.run({
          signal: ctx.signal,
          onProgress: (p) => show(p),
          ...(bytes !== undefined ? { bytes } : {}),
        });
        show(filler.progress(), true);
        if (tty) ctx.stdout.write('\n');
        if (r.state === 'failed') {
          const e = r.error as OnepadError;
          ctx.stderr.write(`${e.code}: ${e.message} ${JSON.stringify(e.details)}\n`);
          if (filler.latched())
            ctx.stderr.write('filling is latched off; inspect the source, then: onepad hrng fill --resume\n');
          return 1;
        }
        ctx.stdout.write(`${r.state}: appended ${r.appended} bytes; pool holds ${pool.available()} bytes\n`);
        return 0;
      } finally {
        pool?.close();
        db.close();
        events.close();
      }
    },
  };
}

/** The latch string "CODE:source:test" as its parts. */
function latchParts(latch: string | null): { code: string; source: string; test: string } | null {
  if (latch === null) return null;
  const [code = '', source = '', test = ''] = latch.split(':');
  return { code, source, test };
}

const STATUS_OPTIONS = {
  config: CONFIG_OPTION,
  'data-dir': DATA_DIR_OPTION,
  json: flag('print one JSON object instead of lines'),
} satisfies OptionSpecs;

function statusCommand(): Command {
  return {
    name: 'status',
    usage:
      "hrng status [--config FILE | --data-dir DIR] [--json]   the pool, the latch and every health test's counters",
    options: STATUS_OPTIONS,
    example: 'hrng status --data-dir /var/lib/onepad --json',
    async run(ctx) {
      const args = parseArgs(ctx.argv, STATUS_OPTIONS);
      const config = configFrom(args);
      const layout = dataDirLayout(config.dataDir);
      if (!existsSync(layout.ledger)) {
        throw new OnepadError('INVALID_ARGUMENT', { option: 'data-dir' }, `no ledger in ${config.dataDir}`);
      }
      const db = openLedgerDb(layout.ledger);
      let row: {
        capacity: number;
        filled: number;
        consumed: number;
        burned: number;
        insecure_until: number;
        latch: string | null;
      };
      try {
        row = db
          .prepare('SELECT capacity, filled, consumed, burned, insecure_until, latch FROM pool WHERE id = 1')
          .get() as typeof row;
      } finally {
        db.close();
      }
      const seedPath = join(layout.root, 'hrng-seed.bin');
      let seed: 'present' | 'absent' | 'damaged' = 'absent';
      try {
        const s = loadSeed(seedPath);
        if (s) {
          seed = 'present';
          s.fill(0);
        }
      } catch {
        seed = 'damaged';
      }
      const last = readStatus(join(layout.root, 'hrng-status.json'));
      const held = row.filled - row.consumed;
      const status = {
        pool: {
          capacity: row.capacity,
          filled: row.filled,
          consumed: row.consumed,
          burned: row.burned,
          held,
          insecure: held > 0 && row.consumed < row.insecure_until,
        },
        latch: latchParts(row.latch),
        seed,
        lastFill: last
          ? {
              time: new Date(last.time).toISOString(),
              state: last.progress.state,
              error: last.error,
              sources: last.progress.sources.map((s) => ({
                name: s.name,
                kind: s.kind,
                claimedH: s.claimedH,
                rawBytes: s.rawBytes,
                tests: s.tests,
              })),
              combined: last.progress.combined,
            }
          : null,
      };
      if (args.options.get('json') === true) {
        ctx.stdout.write(`${JSON.stringify(status, null, 2)}\n`);
        return 0;
      }
      const out = (s: string) => ctx.stdout.write(`${s}\n`);
      const p = status.pool;
      out(
        `pool: capacity ${p.capacity}, filled ${p.filled}, consumed ${p.consumed}, held ${p.held}${p.insecure ? ' (INSECURE: simulated entropy)' : ''}`,
      );
      out(
        `latch: ${status.latch ? `${status.latch.code} (source ${status.latch.source || '-'}${status.latch.test ? `, ${status.latch.test}` : ''}); resume with onepad hrng fill --resume` : 'none'}`,
      );
      const ex = last?.progress.combined?.extractor;
      out(
        `extractor seed: ${seed}${ex ? `; Toeplitz ${ex.inBytes} -> ${ex.outBytes} bytes per block (k = ${ex.kBits} bits, epsilon = 2^-${ex.epsilonLog2})` : ''}`,
      );
      if (!last) {
        out('last fill: none recorded');
        return 0;
      }
      out(
        `last fill: ${status.lastFill?.time} ${last.progress.state}${last.error ? `: ${last.error.code} ${JSON.stringify(last.error.details)}` : ''}`,
      );
      const streams = [
        ...last.progress.sources.map((s) => ({
          title: `source ${s.name} (${s.kind}, H = ${s.claimedH}), ${s.rawBytes} raw bytes`,
          c: s.tests,
        })),
        ...(last.progress.combined?.gate
          ? [{ title: `combined stream (H = ${last.progress.combined.claimedH})`, c: last.progress.combined.gate }]
          : []),
      ];
      for (const { title, c } of streams) {
        out(`${title}: gate ${c.state}, ${c.tested} tested, ${c.released} released`);
        for (const line of testLines(c)) out(`  ${line}`);
      }
      return 0;
    },
  };
}

/** Build the `hrng` command group with the given dependencies. */
export function createHrngCommands(deps: HrngCliDeps = {}): CommandGroup {
  return { name: 'hrng', commands: [testCommand(deps), fillCommand(deps), statusCommand()] };
}

/** The `hrng` command group: `test`, `fill` and `status`. */
export const hrngCommands: CommandGroup = createHrngCommands();
