/** Waiting for a command's stop signal (SIGINT, SIGTERM or a test's abort). */

/** Resolve when `signal` aborts. */
export function aborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}
