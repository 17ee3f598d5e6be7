/**
 * The request queue of the link server: one request in service at a time, a bounded FIFO behind it.
 *
 * The device has one screen and one user, so requests are served one by one: each waits for the one before it
 * to finish its confirmation and commit. When `maxWaiting` requests already wait, the next is refused with
 * BUSY at once, so a flood cannot pile up behind a human.
 */
import { OnepadError } from '../device/errors.js';

interface Waiter {
  readonly start: (ac: AbortController) => void;
  readonly fail: (e: OnepadError) => void;
}

/** A one-at-a-time queue with a bounded wait list. */
export class SerialQueue {
  private readonly waiting: Waiter[] = [];
  private running: AbortController | null = null;
  private idleResolvers: (() => void)[] = [];
  private closed = false;
  private readonly waitingListeners = new Set<(n: number) => void>();

  /**
   * @param maxWaiting - how many requests may wait behind the one in service (`confirm.queueLength`)
   * @throws RangeError when maxWaiting is not a non-negative integer
   */
  constructor(private readonly maxWaiting: number) {
    if (!Number.isInteger(maxWaiting) || maxWaiting < 0) throw new RangeError('maxWaiting must be >= 0');
  }

  /** Requests waiting behind the one in service. */
  get waitingCount(): number {
    return this.waiting.length;
  }

  /**
   * Be told the number of waiting requests whenever it changes (the confirmation screen shows it).
   * @returns a function that stops the telling
   */
  onWaitingChange(listener: (n: number) => void): () => void {
    this.waitingListeners.add(listener);
    return () => this.waitingListeners.delete(listener);
  }

  private waitingChanged(): void {
    for (const l of this.waitingListeners) l(this.waiting.length);
  }

  /** True while a request is in service. */
  get busy(): boolean {
    return this.running !== null;
  }

  /** True once {@link SerialQueue.shutdown} was called. */
  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * Run `task` when every request before it has finished. The task gets a signal aborted when `signal` is
   * (the client went away) or when the queue shuts down; it decides what an abort means at its stage.
   *
   * @throws OnepadError BUSY when the wait list is full, SHUTTING_DOWN when the queue is shut down before the
   *   task started, or whatever `task` throws
   */
  async run<T>(task: (signal: AbortSignal) => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (this.closed) throw new OnepadError('SHUTTING_DOWN');
    if (this.running !== null && this.waiting.length >= this.maxWaiting) {
      throw new OnepadError('BUSY', { waiting: this.waiting.length, queueLength: this.maxWaiting });
    }
    const ac = this.running === null ? new AbortController() : await this.wait(signal);
    this.running = ac;
    const onAbort = () => ac.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted) ac.abort();
    try {
      return await task(ac.signal);
    } finally {
      signal?.removeEventListener('abort', onAbort);
      this.running = null;
      this.next();
    }
  }

  private wait(signal?: AbortSignal): Promise<AbortController> {
    return new Promise<AbortController>((resolve, reject) => {
      const onAbort = () => {
        const i = this.waiting.indexOf(waiter);
        if (i >= 0) this.waiting.splice(i, 1);
        this.waitingChanged();
        reject(new OnepadError('SHUTTING_DOWN', { reason: 'client gone' }));
      };
      const waiter: Waiter = {
        start: (ac) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(ac);
        },
        fail: (e) => {
          signal?.removeEventListener('abort', onAbort);
          reject(e);
        },
      };
      if (signal?.aborted) {
        reject(new OnepadError('SHUTTING_DOWN', { reason: 'client gone' }));
        return;
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(waiter);
      this.waitingChanged();
    });
  }

  private next(): void {
    const w = this.waiting.shift();
    if (w) {
      // Mark as running before the waiter resumes, so a newcomer cannot slip in between.
      const ac = new AbortController();
      this.running = ac;
      this.waitingChanged();
      w.start(ac);
      return;
    }
    const resolvers = this.idleResolvers;
    this.idleResolvers = [];
    for (const r of resolvers) r();
  }

  /**
   * Stop: refuse new requests and waiting ones with SHUTTING_DOWN, and abort the signal of the one in service
   * (the engine then either stops before committing or finishes its commit). Resolves when it has finished.
   */
  shutdown(): Promise<void> {
    this.closed = true;
    const refused = this.waiting.splice(0);
    if (refused.length > 0) this.waitingChanged();
    for (const w of refused) w.fail(new OnepadError('SHUTTING_DOWN'));
    this.running?.abort();
    if (this.running === null) return Promise.resolve();
    return new Promise((resolve) => this.idleResolvers.push(resolve));
  }
}
