/**
 * Logging is best-effort: a log line that cannot be written (disk full, the reader of a pipe gone, a stream
 * destroyed) is dropped and counted, and never becomes an exception or an unhandled 'error' event that would
 * stop the device. Used for the pino destination of the link server and the relay.
 */
import { writeSync } from 'node:fs';

/** A pino destination: anything with write(). */
export interface LogStream {
  write(line: string): unknown;
}

/** What a Node stream may offer beyond write(). */
interface StreamLike extends LogStream {
  on?(event: 'error', listener: (e: unknown) => void): unknown;
  readonly destroyed?: boolean;
  readonly errored?: unknown;
  readonly writableLength?: number;
  readonly fd?: unknown;
}

/** A {@link LogStream} that never throws, with the count of lines it had to drop. */
export interface BestEffortLog extends LogStream {
  readonly dropped: number;
}

/** Lines waiting in a stream's buffer beyond this many bytes are dropped rather than queued without bound. */
const MAX_BUFFERED = 1 << 20;

/**
 * Wrap a log destination so that writing to it can never fail.
 *
 * A Node stream gets an 'error' listener (the failure is counted, not thrown). Once the stream is errored or
 * destroyed, lines go straight to its file descriptor when it has one (a file on a disk that was full may have
 * room again), each write in its own try; otherwise they are dropped.
 */
export function bestEffortLog(target: LogStream): BestEffortLog {
  const s = target as StreamLike;
  let dropped = 0;
  let errors = 0;
  s.on?.('error', () => {
    errors++;
  });
  const broken = () => errors > 0 || s.destroyed === true || (s.errored !== undefined && s.errored !== null);
  return {
    get dropped() {
      return dropped;
    },
    write(line: string) {
      try {
        if (broken()) {
          if (typeof s.fd !== 'number') {
            dropped++;
            return true;
          }
          writeSync(s.fd, line);
          return true;
        }
        if ((s.writableLength ?? 0) > MAX_BUFFERED) {
          dropped++;
          return true;
        }
        s.write(line);
      } catch {
        dropped++;
      }
      return true;
    },
  };
}
