import type { ConfirmConfig } from '../device/config/confirm-section.js';
import type {
  ConfirmDecision,
  Confirmer,
  ConfirmRequest,
  SessionDecision,
  SessionRequest,
  SessionView,
} from '../device/confirm.js';
import type { Clock, TimerId } from './clock.js';
import type { ScreenContent } from './screen-types.js';
import { forgetMessageLayout } from './screens/common.js';
import type { UiAction } from './ui.js';

/** The part of the device UI the confirmation service uses (DeviceUi implements it). */
export interface ConfirmUi {
  /** Show a screen; returns its fresh instance number. */
  show(content: ScreenContent, o?: { insecure?: boolean }): number;
  /** Replace the content of the screen with this instance (to update the waiting count). */
  update(instance: number, content: ScreenContent): void;
  onAction(listener: (a: UiAction) => void): () => void;
  /** The instance number of the screen on display now (DeviceUi has it): a live screen redraws only itself. */
  readonly instance?: number;
}

/** Options of {@link ConfirmService}. */
export interface ConfirmServiceOptions {
  readonly ui: ConfirmUi;
  readonly clock: Clock;
  /** The `confirm` config section: timeoutMs and queueLength are used here. */
  readonly config: Pick<ConfirmConfig, 'timeoutMs' | 'queueLength'>;
  /**
   * Called when the last request is decided and nothing waits. It must show another screen (home): the
   * decided request's screen must not stay up, and its plaintext copy is already zeroed.
   */
  readonly onIdle: () => void;
  /**
   * How long the short result of a decision (approved, denied, timed out) stays up before `onIdle`, unless
   * another request comes first (default 2500 ms; 0 shows no result).
   */
  readonly resultMs?: number;
}

/** A received message to show on the device only ("private receive"). */
export interface ReceivedView {
  readonly kind: 'received';
  readonly contact: string;
  /** The plaintext. The service copies it and zeroes its copy when the screen goes. */
  readonly plaintext: Uint8Array;
  /** When it arrived (ms since the epoch). */
  readonly receivedAt: number;
  /** The pad is insecure (simulated or seeded entropy): the screen says INSECURE. */
  readonly insecure: boolean;
}

/** How a received message's screen ended: Done pressed, the timeout, or no room in the queue. */
export type ViewOutcome = 'done' | 'timeout' | 'busy';

/** The budget presets Budget steps through (with the laptop's ask among them), largest first. */
export const BUDGET_PRESETS = [4 * 2 ** 30, 256 * 2 ** 20, 16 * 2 ** 20, 2 ** 20, 64 * 2 ** 10] as const;
/** The time-limit presets Time steps through, in seconds. */
export const TIME_PRESETS = [24 * 3600, 8 * 3600, 3600, 600, 60] as const;

/** The next value after `now` in the presets (the ask among them), descending and wrapping to the largest. */
export function nextPreset(presets: readonly number[], asked: number, now: number): number {
  const all = [...new Set([...presets, asked])].sort((a, b) => b - a);
  const i = all.indexOf(now);
  return all[(i + 1) % all.length] as number;
}

/** How often the running pipe's screen is redrawn at most (its figures change with every request). */
const LIVE_REDRAW_MS = 250;

interface Entry {
  readonly req: ConfirmRequest | ReceivedView | SessionRequest;
  /** A session request: what the owner chose so far. */
  choice: { budgetBytes: number; timeLimitSec: number } | null;
  /** Our copy of the plaintext (encrypt requests and received messages), zeroed once decided. */
  readonly message: Uint8Array | null;
  readonly resolve: (d: ConfirmDecision | ViewOutcome | SessionDecision) => void;
  readonly signal: AbortSignal | undefined;
  readonly onAbort: () => void;
  instance: number;
  deadline: number;
  timer: TimerId | null;
  done: boolean;
}

/**
 * The touchscreen's confirmation service: the engine's {@link Confirmer} on the device.
 *
 * One request is on screen at a time; up to `queueLength` wait behind it in order and any more get `busy`.
 * The request on screen is `timeout` once `timeoutMs` passes without a decision (the countdown is visible), and
 * `timeout` too when the caller's signal aborts. Approve and Deny are taken only from the screen instance that
 * shows this very request, so a gesture begun on request N never decides request N+1. The service copies the
 * plaintext for the screen and zeroes its copy once the request is decided; it never logs it.
 *
 * Received messages under "private receive" go through the same queue ({@link ConfirmService.showReceived}),
 * so a confirmation is never covered by something else.
 */
export class ConfirmService implements Confirmer {
  private readonly o: ConfirmServiceOptions;
  private current: Entry | null = null;
  private readonly queue: Entry[] = [];
  private readonly detach: () => void;
  /** Requests waiting in front of this service (the link server's queue), not yet handed to it. */
  private outside = 0;
  private result: { instance: number; timer: TimerId } | null = null;
  /** The running pipe session the screen shows when nothing else is asked, and how to stop it. */
  private live: {
    view: SessionView;
    stop: () => void;
    instance: number;
    drawnAt: number;
    timer: TimerId | null;
  } | null = null;

  constructor(o: ConfirmServiceOptions) {
    this.o = o;
    this.detach = o.ui.onAction((a) => this.action(a));
  }

  /** How many requests are waiting behind the one on screen (here and in front of this service). */
  get waiting(): number {
    return this.queue.length + this.outside;
  }

  /**
   * Told by the link server how many requests wait in its own queue for their turn, so the screen counts them
   * too ("N more waiting").
   */
  waitingOutside(n: number): void {
    this.outside = Math.max(0, Math.floor(n));
    this.refreshWaiting();
  }

  /** True while a request is on screen. */
  get active(): boolean {
    return this.current !== null;
  }

  confirm(req: ConfirmRequest, signal?: AbortSignal): Promise<ConfirmDecision> {
    return this.enqueue(req, signal) as Promise<ConfirmDecision>;
  }

  /**
   * Show a received message on the device only ("private receive"), in the same queue as the requests: one
   * thing on screen at a time. Resolves `done` when the user pressed Done, `timeout` after `timeoutMs` on
   * screen or when `signal` aborts, `busy` when the queue is full. Nothing is returned to the caller but that.
   */
  showReceived(view: ReceivedView, signal?: AbortSignal): Promise<ViewOutcome> {
    return this.enqueue(view, signal) as Promise<ViewOutcome>;
  }

  /**
   * Ask the owner to approve a pipe session: the request's screen, where Budget and Time step through presets, in
   * the same queue as every request. Approve answers the budget and time limit on screen when Approve acted.
   */
  confirmSession(req: SessionRequest, signal?: AbortSignal): Promise<SessionDecision> {
    return this.enqueue(req, signal).then((d) =>
      typeof d === 'string' ? { decision: d as 'denied' } : d,
    ) as Promise<SessionDecision>;
  }

  /**
   * The engine's news of the running session: shown live (with Stop) whenever no request is on screen; when it
   * has ended, a short result says why, then home.
   */
  showSession(view: SessionView, stop: () => void): void {
    if (view.state === 'ended') {
      const was = this.live;
      if (was?.timer) this.o.clock.clearTimeout(was.timer);
      this.live = null;
      if (was && !this.current && was.instance !== 0 && this.o.ui.instance === was.instance) this.showSessionEnd(view);
      return;
    }
    if (!this.live) {
      this.live = { view, stop, instance: 0, drawnAt: 0, timer: null };
    } else {
      this.live.view = view;
      this.live.stop = stop;
    }
    if (!this.current) this.drawLive();
  }

  private enqueue(
    req: ConfirmRequest | ReceivedView | SessionRequest,
    signal?: AbortSignal,
  ): Promise<ConfirmDecision | ViewOutcome | SessionDecision> {
    if (signal?.aborted) return Promise.resolve('timeout');
    if (this.current && this.queue.length >= this.o.config.queueLength) return Promise.resolve('busy');
    return new Promise<ConfirmDecision | ViewOutcome | SessionDecision>((resolve) => {
      const entry: Entry = {
        req,
        choice: req.kind === 'session' ? { budgetBytes: req.budgetBytes, timeLimitSec: req.timeLimitSec } : null,
        message: req.kind === 'decrypt' || req.kind === 'session' ? null : new Uint8Array(req.plaintext),
        resolve,
        signal,
        onAbort: () => this.abort(entry),
        instance: 0,
        deadline: 0,
        timer: null,
        done: false,
      };
      signal?.addEventListener('abort', entry.onAbort, { once: true });
      if (!this.current) this.present(entry);
      else {
        this.queue.push(entry);
        this.refreshWaiting();
      }
    });
  }

  private content(e: Entry): ScreenContent {
    const queued = this.waiting;
    if (e.req.kind === 'encrypt') {
      const r = e.req;
      return {
        id: 'confirm-encrypt',
        contact: r.contact,
        message: e.message ?? new Uint8Array(0),
        cost: r.cost,
        remainingAfter: r.remainingAfter,
        messagesLeftAfter: r.messagesLeftAfter,
        fingerprint: r.fingerprint,
        deadline: e.deadline,
        queued,
      };
    }
    if (e.req.kind === 'session') {
      const r = e.req;
      const choice = e.choice ?? { budgetBytes: r.budgetBytes, timeLimitSec: r.timeLimitSec };
      return {
        id: 'session-request',
        contact: r.contact,
        budgetBytes: choice.budgetBytes,
        timeLimitSec: choice.timeLimitSec,
        askedBudget: r.budgetBytes,
        askedTime: r.timeLimitSec,
        frameSize: r.frameSize,
        padLeft: r.padLeft,
        keySlotsLeft: r.keySlotsLeft,
        streamLeft: r.streamLeft,
        deadline: e.deadline,
        queued,
      };
    }
    if (e.req.kind === 'received') {
      return {
        id: 'received-message',
        contact: e.req.contact,
        message: e.message ?? new Uint8Array(0),
        receivedAt: e.req.receivedAt,
      };
    }
    return { id: 'confirm-decrypt', contact: e.req.contact, length: e.req.length, deadline: e.deadline, queued };
  }

  private present(e: Entry): void {
    this.dropResult();
    this.current = e;
    e.deadline = this.o.clock.now() + this.o.config.timeoutMs;
    e.instance = this.o.ui.show(this.content(e), { insecure: e.req.insecure });
    e.timer = this.o.clock.setTimeout(() => this.finish(e, 'timeout'), this.o.config.timeoutMs);
  }

  private refreshWaiting(): void {
    if (this.current) this.o.ui.update(this.current.instance, this.content(this.current));
  }

  private action(a: UiAction): void {
    if (this.result && a.instance === this.result.instance && a.screen === 'result' && a.button === 'dismiss') {
      this.dropResult();
      this.idle();
      return;
    }
    const live = this.live;
    if (live && a.instance === live.instance && a.screen === 'session-live' && a.button === 'stop') {
      live.stop();
      return;
    }
    const e = this.current;
    if (!e || a.instance !== e.instance) return;
    if (e.req.kind === 'session') {
      if (a.screen !== 'session-request' || !e.choice) return;
      const r = e.req;
      if (a.button === 'budget') e.choice.budgetBytes = nextPreset(BUDGET_PRESETS, r.budgetBytes, e.choice.budgetBytes);
      else if (a.button === 'time') {
        e.choice.timeLimitSec = nextPreset(TIME_PRESETS, r.timeLimitSec, e.choice.timeLimitSec);
      } else if (a.button === 'approve') this.finish(e, 'approved');
      else if (a.button === 'deny') this.finish(e, 'denied');
      if (a.button === 'budget' || a.button === 'time') this.o.ui.update(e.instance, this.content(e));
      return;
    }
    if (e.req.kind === 'received') {
      if (a.screen === 'received-message' && a.button === 'done') this.finish(e, 'done');
      return;
    }
    if (a.screen !== (e.req.kind === 'encrypt' ? 'confirm-encrypt' : 'confirm-decrypt')) return;
    if (a.button === 'approve') this.finish(e, 'approved');
    else if (a.button === 'deny') this.finish(e, 'denied');
  }

  private abort(e: Entry): void {
    if (e.done) return;
    const i = this.queue.indexOf(e);
    if (i >= 0) {
      this.queue.splice(i, 1);
      this.settle(e, 'timeout');
      this.refreshWaiting();
    } else if (this.current === e) this.finish(e, 'timeout');
  }

  /** Resolve an entry and forget its plaintext. */
  private settle(e: Entry, d: ConfirmDecision | ViewOutcome): void {
    e.done = true;
    if (e.timer !== null) this.o.clock.clearTimeout(e.timer);
    e.timer = null;
    e.signal?.removeEventListener('abort', e.onAbort);
    if (e.message) {
      e.message.fill(0);
      forgetMessageLayout(e.message);
    }
    if (e.req.kind === 'session') {
      const c = e.choice ?? { budgetBytes: e.req.budgetBytes, timeLimitSec: e.req.timeLimitSec };
      e.resolve(
        d === 'approved'
          ? { decision: 'approved', budgetBytes: c.budgetBytes, timeLimitSec: c.timeLimitSec }
          : { decision: d === 'denied' || d === 'busy' ? d : 'timeout' },
      );
      return;
    }
    e.resolve(d);
  }

  /** Decide the request on screen, then show the next one (or go idle). */
  private finish(e: Entry, d: ConfirmDecision | ViewOutcome): void {
    if (e.done || this.current !== e) return;
    this.settle(e, d);
    this.current = null;
    const next = this.queue.shift();
    if (next) this.present(next);
    else if (e.req.kind === 'session' && d === 'approved') this.idle();
    else if (!this.showResult(e, d)) this.idle();
  }

  /** Nothing is asked: the running pipe if there is one, else home. */
  private idle(): void {
    if (this.live) this.drawLive(true);
    else this.o.onIdle();
  }

  /** Draw (or redraw in place) the running pipe's screen, at most every LIVE_REDRAW_MS, and every second. */
  private drawLive(force = false): void {
    const live = this.live;
    if (!live || this.current || (this.result && !force)) return;
    if (force) this.dropResult();
    const now = this.o.clock.now();
    const v = live.view;
    const content: ScreenContent = {
      id: 'session-live',
      contact: v.contact,
      budgetBytes: v.budgetBytes,
      usedBytes: v.usedBytes,
      sentBytes: v.sentBytes,
      receivedBytes: v.receivedBytes,
      framesSent: v.framesSent,
      framesReceived: v.framesReceived,
      frameSize: v.frameSize,
      expiresAt: v.expiresAt,
    };
    const onScreen = live.instance !== 0 && this.o.ui.instance === live.instance;
    if (onScreen && now - live.drawnAt < LIVE_REDRAW_MS) {
      // Redrawn by the pending timer.
      live.timer ??= this.o.clock.setTimeout(() => {
        if (this.live) this.live.timer = null;
        this.drawLive();
      }, LIVE_REDRAW_MS);
      return;
    }
    if (onScreen) this.o.ui.update(live.instance, content);
    else live.instance = this.o.ui.show(content, { insecure: v.insecure });
    live.drawnAt = now;
    if (live.timer) this.o.clock.clearTimeout(live.timer);
    live.timer = this.o.clock.setTimeout(() => {
      if (this.live) this.live.timer = null;
      this.drawLive();
    }, 1000);
  }

  /** The pipe ended while its screen was up: say why for a moment, then home. */
  private showSessionEnd(v: SessionView): void {
    const why: Record<string, string> = {
      budget: 'its pad budget is spent',
      time: 'its time limit passed',
      stopped: 'you pressed Stop',
      idle: 'the laptop went quiet',
      closed: 'the laptop closed it',
      pad: 'the pad is used up',
      shutdown: 'the device is stopping',
      error: 'of an error',
    };
    const instance = this.o.ui.show(
      {
        id: 'result',
        outcome: 'approved',
        title: `The pipe to ${v.contact} ended: ${why[v.endReason ?? 'error'] ?? 'it ended'}.`,
        detail: [`Pad used: ${v.usedBytes} of ${v.budgetBytes} bytes.`],
      },
      { insecure: v.insecure },
    );
    const ms = this.o.resultMs ?? 2500;
    const timer = this.o.clock.setTimeout(() => {
      if (this.result?.instance !== instance) return;
      this.result = null;
      this.idle();
    }, ms);
    this.result = { instance, timer };
  }

  /** Show what became of a decided request for a moment, then go idle. False when there is nothing to show. */
  private showResult(e: Entry, d: ConfirmDecision | ViewOutcome): boolean {
    const ms = this.o.resultMs ?? 2500;
    if (ms <= 0 || e.req.kind === 'received' || (d !== 'approved' && d !== 'denied' && d !== 'timeout')) return false;
    if (e.req.kind === 'session') {
      const title =
        d === 'denied'
          ? `You denied the pipe to ${e.req.contact}: nothing is encrypted.`
          : `Nobody answered in time: the pipe to ${e.req.contact} was not opened.`;
      const instance = this.o.ui.show(
        {
          id: 'result',
          outcome: d === 'denied' ? 'denied' : 'timeout',
          title,
          detail: ['No pad was used. The laptop was told.'],
        },
        { insecure: e.req.insecure },
      );
      const timer = this.o.clock.setTimeout(() => {
        if (this.result?.instance !== instance) return;
        this.result = null;
        this.idle();
      }, ms);
      this.result = { instance, timer };
      return true;
    }
    const r = e.req;
    const what = r.kind === 'encrypt' ? `the message for ${r.contact}` : `the message from ${r.contact}`;
    const verb = r.kind === 'encrypt' ? 'encrypted' : 'decrypted';
    const title =
      d === 'approved'
        ? `You approved ${what}: it is ${verb} now.`
        : d === 'denied'
          ? `You denied ${what}: it was not ${verb}.`
          : `Nobody answered in time: ${what} was not ${verb}.`;
    const detail =
      d === 'approved' ? [] : [r.kind === 'encrypt' ? 'No pad was used. The laptop was told.' : 'The laptop was told.'];
    const instance = this.o.ui.show({ id: 'result', outcome: d, title, detail }, { insecure: r.insecure });
    const timer = this.o.clock.setTimeout(() => {
      if (this.result?.instance !== instance) return;
      this.result = null;
      this.idle();
    }, ms);
    this.result = { instance, timer };
    return true;
  }

  private dropResult(): void {
    if (this.result) this.o.clock.clearTimeout(this.result.timer);
    this.result = null;
  }

  /** Deny nothing, approve nothing: every request still open resolves `timeout`. */
  close(): void {
    this.detach();
    this.dropResult();
    if (this.live?.timer) this.o.clock.clearTimeout(this.live.timer);
    this.live = null;
    for (const e of this.queue.splice(0)) this.settle(e, 'timeout');
    if (this.current) this.settle(this.current, 'timeout');
    this.current = null;
  }
}
