/**
 * Time, passed in: the confirmation service, the approve gesture, key debouncing and the countdown all take a
 * {@link Clock}, so tests drive time by hand ({@link ManualClock}) instead of sleeping.
 */

/** A timer handle returned by {@link Clock.setTimeout}. */
export type TimerId = number;

/** The clock and timers a display component uses. */
export interface Clock {
  /** Milliseconds since the epoch (or any fixed origin). */
  now(): number;
  /** Call `fn` once after `ms` milliseconds. */
  setTimeout(fn: () => void, ms: number): TimerId;
  /** Cancel a timer; unknown or already fired ids are ignored. */
  clearTimeout(id: TimerId): void;
}

/** The real clock. Timers are unref'd so a pending countdown never keeps the process alive. */
export function systemClock(): Clock {
  const timers = new Map<TimerId, NodeJS.Timeout>();
  let next = 1;
  return {
    now: () => Date.now(),
    setTimeout(fn, ms) {
      const id = next++;
      const t = setTimeout(() => {
        timers.delete(id);
        fn();
      }, ms);
      t.unref();
      timers.set(id, t);
      return id;
    },
    clearTimeout(id) {
      const t = timers.get(id);
      if (t) clearTimeout(t);
      timers.delete(id);
    },
  };
}

/**
 * A clock that moves only when told to. Timers fire in order of due time (then creation) during
 * {@link ManualClock.advance}.
 */
export class ManualClock implements Clock {
  private time: number;
  private next = 1;
  private readonly timers = new Map<TimerId, { due: number; fn: () => void }>();

  constructor(start = 0) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  setTimeout(fn: () => void, ms: number): TimerId {
    const id = this.next++;
    this.timers.set(id, { due: this.time + Math.max(0, ms), fn });
    return id;
  }

  clearTimeout(id: TimerId): void {
    this.timers.delete(id);
  }

  /** How many timers are pending. */
  get pending(): number {
    return this.timers.size;
  }

  /**
   * Move time forward by `ms`, firing every timer that falls due on the way (including timers those timers set).
   * @throws RangeError when `ms` is negative
   */
  advance(ms: number): void {
    if (!(ms >= 0)) throw new RangeError('ms must be >= 0');
    const end = this.time + ms;
    for (;;) {
      let bestId: TimerId | undefined;
      let best: { due: number; fn: () => void } | undefined;
      for (const [id, t] of this.timers) {
        if (t.due <= end && (!best || t.due < best.due || (t.due === best.due && id < (bestId ?? 0)))) {
          best = t;
          bestId = id;
        }
      }
      if (!best || bestId === undefined) break;
      this.timers.delete(bestId);
      this.time = Math.max(this.time, best.due);
      best.fn();
    }
    this.time = end;
  }
}
