/**
 * The device's screen, composed: a sink and an input (real or simulated, from the config), the {@link DeviceUi},
 * and the {@link ConfirmService} on it. It is what the rest of the device talks to: the engine's confirmer and
 * private display, the pairing approver and progress, and the home screen.
 */
import { formatBytes, formatDuration } from '../device/cli/progress.js';
import type { Config } from '../device/config/config.js';
import type { ConfirmDecision } from '../device/confirm.js';
import { CONTACT_NAME_MAX } from '../device/contact-names.js';
import type { DeviceEngine, PrivateDisplay } from '../device/engine.js';
import type { EventRecord } from '../device/events.js';
import type { BurnProgress } from '../device/pad-burner.js';
import type { NameRequest, PairApprover, PairingProgress, PairRequest } from '../provisioning/protocol.js';
import { type Clock, systemClock } from './clock.js';
import { ConfirmService } from './confirm-service.js';
import type { InputSource } from './input.js';
import { askText } from './keyboard-flow.js';
import { LAYOUTS } from './layout.js';
import { deviceUiOptions, openInput, openSink } from './open.js';
import type { ContactSummary, ScreenContent } from './screen-types.js';
import { SimInput } from './sim-input.js';
import { SimSink } from './sim-sink.js';
import type { Sink } from './sink.js';
import { DeviceUi } from './ui.js';

/** What the home screen shows; the device's main sets it once the engine and pool are open. */
export interface HomeSource {
  contacts(): ContactSummary[];
  hrng(): { healthy: boolean; poolBytes: number; poolCapacity: number; failing?: string };
  /** Newest first. */
  events(limit: number): EventRecord[];
  /** Long jobs running in the background, one short line each (e.g. burning an abandoned pad). */
  jobs?(): string[];
  /** The background burn's share done, or null when nothing is left to burn (for the line shown once stopped). */
  burnShare?(): number | null;
}

const EVENT_TEXT: Partial<Record<string, string>> = {
  MAC_FAILURE: 'forged or damaged package refused',
  REPLAY: 'replayed package refused',
  OVERLAP: 'overlapping package refused',
  REFLECTION: 'reflected package refused',
  GAP: 'messages missing (gap)',
  EXHAUSTED: 'pad used up',
  LOW_PAD: 'pad running low',
  PAD_BURNED: 'burned pad bytes refused',
  CRASH_RECOVERY: 'recovered after power loss',
  HRNG_HEALTH_FAILURE: 'HRNG failed its health test',
  HRNG_SOURCE_LOST: 'HRNG unplugged',
};

/** Alarms kept while something else is on screen; older ones beyond this are dropped (the log keeps them). */
const MAX_PENDING_ALARMS = 10;

/** The home screen's line for a background burn: "burning old pad 45%, 3 min 05 s left". */
export function burnLine(p: BurnProgress): string {
  const pct = p.total > 0 ? Math.floor((100 * p.bytes) / p.total) : 100;
  return `burning old pad ${pct}%, ${formatDuration(p.secondsLeft)} left`;
}

/** What the pool's filler last reported (the fields of hrng/filler.ts's FillProgress the home screen shows). */
export interface FillStatus {
  readonly state: string;
  readonly poolBytes: number;
  readonly capacity: number;
  /** The source's measured rate over this fill run. */
  readonly bytesPerSecond: number;
  readonly secondsToFull: number | null;
}

/**
 * The home screen's line while the pool fills: "filling pool 42%, 52 kB/s, full in 3 h 10 min", at the source's
 * measured rate; null when not filling or full.
 */
export function fillLine(p: FillStatus): string | null {
  if (p.state !== 'running' || p.capacity <= 0 || p.poolBytes >= p.capacity) return null;
  const pct = Math.floor((100 * p.poolBytes) / p.capacity);
  return `filling pool ${pct}%, ${formatBytes(p.bytesPerSecond)}/s, full in ${formatDuration(p.secondsToFull ?? Number.NaN)}`;
}

/** A short, non-secret line for an event, or null for events the home screen does not list. */
export function warningText(e: EventRecord): string | null {
  // A source the filler could not open was never there (not plugged in), rather than unplugged.
  if (e.kind === 'HRNG_SOURCE_LOST' && e.detail.reason === 'open failed') return 'HRNG not found';
  return EVENT_TEXT[e.kind] ?? null;
}

/** The alarm an event raises on the device, if any. */
export function alarmFor(
  e: EventRecord,
  contactOf: (padId: string | null) => string | null,
): { alarm: 'hrng-failure' | 'forged' | 'replay' | 'pad-low' | 'pad-burned'; detail: string[] } | null {
  const who = contactOf(e.padId);
  const from = who ? [`contact ${who}`] : [];
  switch (e.kind) {
    case 'MAC_FAILURE':
      return {
        alarm: 'forged',
        detail: [...from, `offset ${e.detail.start ?? '?'}, length ${e.detail.length ?? '?'}`],
      };
    case 'REPLAY':
    case 'OVERLAP':
      return {
        alarm: 'replay',
        detail: [...from, e.kind === 'REPLAY' ? 'already received' : 'overlaps pad already received'],
      };
    case 'REFLECTION':
      return { alarm: 'replay', detail: [...from, 'our own package sent back to us'] };
    case 'PAD_BURNED':
      // The ledger is behind the pad file (a restored backup, a lost flush): pad bytes about to be used were
      // already burned. Nothing was sent or accepted, but the owner must know: pair again.
      return {
        alarm: 'pad-burned',
        detail: [...from, `${e.detail.path === 'send' ? 'sending' : 'receiving'}, message ${e.detail.index ?? '?'}`],
      };
    case 'LOW_PAD':
      return { alarm: 'pad-low', detail: [`${who ?? 'a contact'}: ${e.detail.remaining ?? '?'} bytes left`] };
    case 'HRNG_HEALTH_FAILURE':
    case 'HRNG_SOURCE_LOST':
      return { alarm: 'hrng-failure', detail: [String(e.detail.source ?? 'HRNG'), 'filling stopped'] };
    default:
      return null;
  }
}

export interface DeviceScreen {
  readonly ui: DeviceUi;
  readonly sink: Sink;
  readonly input: InputSource;
  readonly confirmer: ConfirmService;
  readonly privateDisplay: PrivateDisplay;
  readonly pairApprover: PairApprover;
  /** The simulated sink and input, when the screen is simulated (for the simulator page and tests). */
  readonly sim: { readonly sink: SimSink; readonly input: SimInput } | null;
  setHomeSource(src: HomeSource): void;
  /** Feed the home screen from a running engine and the pool counters in its ledger. */
  attachEngine(engine: DeviceEngine): void;
  showHome(): void;
  /** Redraw home with fresh figures if, and only if, home is on screen. */
  refreshHome(): void;
  /**
   * Say on home why the pool is not filling although nothing latched, e.g. "truerng absent, not filling" (the
   * hosted filler sets it; null clears it). A latched failure is shown first.
   */
  setHrngNotice(notice: string | null): void;
  showPairingProgress(peer: string, p: PairingProgress): void;
  /** The filler's latest progress (a line on home while it fills: share, rate, time to full); null when stopped. */
  showFillProgress(p: FillStatus | null): void;
  /**
   * What to do when the user picks Start (initiator) or Join (responder) after Pair on the home screen. The
   * signal aborts when the user presses Cancel on the progress screen. Home is shown again when it settles.
   */
  onPairRequest(handler: (role: 'initiator' | 'responder', signal: AbortSignal) => Promise<unknown>): void;
  /**
   * What to do when the owner taps Stop on home (stop filling the pool and burning; a burn resumes where it was)
   * or Resume (go on with both). Without a handler home shows neither button.
   */
  onJobsControl(handler: (action: 'stop' | 'resume') => void): void;
  close(): Promise<void>;
}

/**
 * Open the device's screen: simulated (`hardware === 'simulated'`, or `display.sink`/`display.input` set to `sim`)
 * or the framebuffer / ST7789 and touch / keys named by the config.
 *
 * @throws OnepadError DISPLAY_UNAVAILABLE, INPUT_UNAVAILABLE
 */
export async function openDeviceScreen(
  config: Config,
  hardware: 'simulated' | 'device',
  clock: Clock = systemClock(),
): Promise<DeviceScreen> {
  const layout = LAYOUTS[config.display.layout];
  const simulated = hardware === 'simulated';
  const sink = simulated ? new SimSink(layout.width, layout.height) : await openSink(config.display, layout);
  const input = simulated ? new SimInput() : await openInput(config.display, layout, clock);
  const ui = new DeviceUi(deviceUiOptions(config, sink, clock));
  const detachInput = ui.attach(input);
  let home: HomeSource | null = null;
  let alarmTimer: ReturnType<Clock['setTimeout']> | null = null;
  let closed = false;
  let hrngNotice: string | null = null;
  let jobsHandler: ((action: 'stop' | 'resume') => void) | null = null;
  let jobsStopped = false;

  let lastHome: Extract<ScreenContent, { id: 'home' }> = {
    id: 'home',
    contacts: [],
    hrng: { healthy: false, poolBytes: 0, poolCapacity: 0 },
    warnings: [],
  };
  const homeContent = () => {
    try {
      const warnings = (home?.events(20) ?? [])
        .map((e) => ({ time: e.time, text: warningText(e) }))
        .filter((w): w is { time: number; text: string } => w.text !== null);
      const running = home?.jobs?.() ?? [];
      const share = jobsStopped ? (home?.burnShare?.() ?? null) : null;
      const lines = jobsStopped
        ? [...(share !== null ? [`burn stopped at ${Math.floor(100 * share)}%`] : []), 'pool filling stopped']
        : running;
      warnings.splice(0, 0, ...lines.map((text) => ({ time: clock.now(), text })));
      warnings.splice(5);
      const jobs = !jobsHandler ? undefined : jobsStopped ? 'resume' : running.length > 0 ? 'stop' : undefined;
      lastHome = {
        id: 'home' as const,
        contacts: home?.contacts() ?? [],
        hrng: home?.hrng() ?? { healthy: false, poolBytes: 0, poolCapacity: 0 },
        warnings,
        ...(jobs ? { jobs } : {}),
      };
    } catch {
      // The engine closed under us (the service stops before the screen and its filler): keep what was shown.
    }
    return lastHome;
  };
  // Alarms raised while something else was on screen wait here, and come before home.
  const alarms: Extract<ScreenContent, { id: 'alarm' }>[] = [];
  let homeShown = '';
  const showHome = () => {
    const alarm = alarms.shift();
    if (alarm) {
      ui.show(alarm);
      return;
    }
    const content = homeContent();
    homeShown = JSON.stringify(content);
    ui.show(content);
  };
  /** Redraw home in place when it is on screen and its figures changed; never cover anything else. */
  let lastFill: FillStatus | null = null;
  const refreshHome = () => {
    if (ui.state?.id !== 'home') return;
    const content = homeContent();
    const key = JSON.stringify(content);
    if (key === homeShown) return;
    homeShown = key;
    ui.update(ui.instance, content);
  };
  const confirmer = new ConfirmService({ ui, clock, config: config.confirm, onIdle: showHome });

  const privateDisplay: PrivateDisplay = {
    showReceived: (msg) => {
      void confirmer.showReceived({ kind: 'received', ...msg, receivedAt: clock.now() });
    },
  };

  const pairApprover: PairApprover = {
    approvePairing(req: PairRequest, signal: AbortSignal): Promise<ConfirmDecision> {
      return new Promise<ConfirmDecision>((resolve) => {
        const instance = ui.show(
          { id: 'pairing-compare', peer: req.peer, fingerprint: req.fingerprint },
          { insecure: req.insecure },
        );
        const finish = (d: ConfirmDecision) => {
          detach();
          signal.removeEventListener('abort', onAbort);
          showHome();
          resolve(d);
        };
        const detach = ui.onAction((a) => {
          if (a.instance !== instance) return;
          if (a.button === 'match') finish('approved');
          else if (a.button === 'mismatch') finish('denied');
        });
        const onAbort = () => finish('timeout');
        if (signal.aborted) finish('timeout');
        else signal.addEventListener('abort', onAbort, { once: true });
      });
    },
    async nameContact(req: NameRequest, signal: AbortSignal): Promise<string | null> {
      const touch = ui.layout.input === 'touch';
      const name = await askText(ui, {
        title: 'Name this contact',
        initial: req.suggestion,
        hint: touch
          ? `The other device calls itself ${req.suggestion}. Your name for this person is shown when you send.`
          : `Its own name: ${req.suggestion}`,
        submit: 'Save',
        maxLength: CONTACT_NAME_MAX,
        check: req.check,
        insecure: req.insecure,
        signal,
      });
      showHome();
      return name;
    },
  };

  let progressInstance = 0;
  const showPairingProgress = (peer: string, p: PairingProgress) => {
    const content = {
      id: 'pairing-progress' as const,
      peer,
      bytes: p.bytes,
      total: p.total,
      bytesPerSecond: p.bytesPerSecond,
      secondsLeft: p.secondsLeft,
    };
    if (progressInstance !== 0 && ui.instance === progressInstance) ui.update(progressInstance, content);
    else progressInstance = ui.show(content, { insecure: config.device.simulated });
  };

  // Pairing from the screen: home → Pair → pairing-start → Start/Join → progress (Cancel) → compare → home.
  let pairHandler: ((role: 'initiator' | 'responder', signal: AbortSignal) => Promise<unknown>) | null = null;
  let pairing: AbortController | null = null;
  ui.onAction((a) => {
    if (a.instance !== ui.instance) return;
    if (a.screen === 'home' && a.button === 'pair' && pairHandler && !confirmer.active && !pairing) {
      ui.show({ id: 'pairing-start', poolBytes: home?.hrng().poolBytes ?? 0 });
    } else if (a.screen === 'pairing-start' && a.button === 'cancel') {
      showHome();
    } else if (a.screen === 'pairing-start' && (a.button === 'start' || a.button === 'join') && pairHandler) {
      const ac = new AbortController();
      pairing = ac;
      progressInstance = 0;
      showPairingProgress('the other device', {
        phase: 'transfer',
        peer: '',
        bytes: 0,
        total: 0,
        bytesPerSecond: 0,
        secondsLeft: 0,
      });
      void pairHandler(a.button === 'start' ? 'initiator' : 'responder', ac.signal)
        .catch(() => undefined)
        .finally(() => {
          pairing = null;
          if (!confirmer.active) showHome();
        });
    } else if (a.screen === 'home' && (a.button === 'jobs-stop' || a.button === 'jobs-resume') && jobsHandler) {
      jobsStopped = a.button === 'jobs-stop';
      jobsHandler(jobsStopped ? 'stop' : 'resume');
      refreshHome();
    } else if (a.screen === 'alarm' && a.button === 'dismiss') {
      showHome();
    } else if (a.screen === 'pairing-progress' && a.button === 'cancel') {
      pairing?.abort();
    }
  });

  const setHomeSource = (src: HomeSource) => {
    home = src;
    if (!confirmer.active) showHome();
  };

  showHome();
  return {
    ui,
    sink,
    input,
    confirmer,
    privateDisplay,
    pairApprover,
    sim: simulated ? { sink: sink as SimSink, input: input as SimInput } : null,
    setHomeSource,
    attachEngine(engine) {
      // The engine holds the ledger with the data dir's exclusive lock: read the pool counters through it.
      const poolStmt = engine.ledger.db.prepare('SELECT capacity, filled, consumed, latch FROM pool WHERE id = 1');
      setHomeSource({
        contacts: () =>
          engine
            .pads()
            .filter((p) => p.state === 'active')
            .map((p) => ({
              name: p.contact,
              padLeft: p.remaining,
              messagesLeft: p.messagesLeft,
              insecure: p.insecure,
            })),
        hrng: () => {
          const row = poolStmt.get() as
            | { capacity: number; filled: number; consumed: number; latch: string | null }
            | undefined;
          // The filler's latch is "CODE:source[:test]" (hrng/filler.ts).
          const [, source, test] = row?.latch ? row.latch.split(':') : [];
          const failing = source ? (test ? `${source}: ${test}` : source) : hrngNotice;
          return {
            healthy: !!row && row.latch === null && hrngNotice === null,
            ...(failing ? { failing } : {}),
            poolBytes: row ? row.filled - row.consumed : 0,
            // The ring's real size (poolMaxBytes 0 or a full disk make it differ from the config).
            poolCapacity: row?.capacity ?? config.hrng.poolMaxBytes,
          };
        },
        events: (n: number) => engine.events.recent(n),
        jobs: () => {
          const b = engine.burnProgress();
          const f = lastFill ? fillLine(lastFill) : null;
          return [...(b ? [burnLine(b)] : []), ...(f ? [f] : [])];
        },
        burnShare: () => {
          const b = engine.burnProgress();
          return b && b.total > 0 ? b.bytes / b.total : null;
        },
      });
      // Alarms: new security events raise an alarm screen over home (never over a confirmation or a pairing).
      let lastSeen = engine.events.recent(1)[0]?.id ?? 0;
      const contactOf = (padId: string | null) =>
        padId ? (engine.pads().find((p) => p.padId === padId)?.contact ?? null) : null;
      const watch = () => {
        alarmTimer = null;
        if (closed) return;
        try {
          const fresh = engine.events.recent(20).filter((e) => e.id > lastSeen);
          if (fresh.length > 0) {
            lastSeen = fresh[0]!.id;
            // Oldest first, so they are seen in the order they happened.
            for (const e of [...fresh].reverse()) {
              const a = alarmFor(e, contactOf);
              if (a) alarms.push({ id: 'alarm', alarm: a.alarm, detail: a.detail, time: e.time });
            }
            alarms.splice(0, Math.max(0, alarms.length - MAX_PENDING_ALARMS));
          }
          // An alarm covers home only: over a confirmation, a pairing or another alarm it waits its turn.
          if (alarms.length > 0 && ui.state?.id === 'home' && !confirmer.active && !pairing) showHome();
          else refreshHome();
        } catch {
          // the engine closed under us
        }
        alarmTimer = clock.setTimeout(watch, 1000);
      };
      alarmTimer = clock.setTimeout(watch, 1000);
    },
    showHome,
    refreshHome,
    setHrngNotice(notice) {
      hrngNotice = notice;
      refreshHome();
    },
    showPairingProgress,
    showFillProgress(p) {
      lastFill = p;
      refreshHome();
    },
    onPairRequest(handler) {
      pairHandler = handler;
    },
    onJobsControl(handler) {
      jobsHandler = handler;
      refreshHome();
    },
    async close() {
      closed = true;
      if (alarmTimer !== null) clock.clearTimeout(alarmTimer);
      pairing?.abort();
      confirmer.close();
      detachInput();
      await ui.close();
      await input.close();
      await sink.close();
    },
  };
}
