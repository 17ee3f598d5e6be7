/**
 * One chat session: read command lines, run them on a {@link ChatClient}, poll the relay on its own, and write
 * every event, as a line for people or (with `json`) as one JSON object per line for scripts and tests.
 */
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { isOnepadError } from '../device/errors.js';
import type { ChatClient, ChatEvent } from './chat.js';
import { COMMAND_HELP, parseCommand } from './commands.js';
import { formatEvent } from './format.js';

/** Lines the session writes besides chat events. */
export type SessionLine =
  | ChatEvent
  | { readonly type: 'ready'; readonly name: string; readonly lastRef: number }
  | { readonly type: 'ok'; readonly op: string }
  | { readonly type: 'contacts'; readonly contacts: Readonly<Record<string, { device: string }>> }
  | { readonly type: 'groups'; readonly groups: Readonly<Record<string, readonly string[]>> }
  | { readonly type: 'help'; readonly text: string };

export interface SessionOptions {
  readonly client: ChatClient;
  readonly input: Readable;
  readonly output: Writable;
  /** One JSON object per line instead of lines for people. */
  readonly json: boolean;
  /** Poll the relay this often (ms); 0 polls only on enter. */
  readonly pollMs: number;
  readonly signal: AbortSignal;
  /** Show a readline prompt (a terminal). */
  readonly prompt?: boolean;
}

function render(line: SessionLine, json: boolean): string {
  if (json) return JSON.stringify(line);
  switch (line.type) {
    case 'ready':
      return `onepad chat as ${line.name} (/help lists commands)`;
    case 'ok':
      return `ok: ${line.op}`;
    case 'contacts':
      return Object.entries(line.contacts)
        .map(([n, c]) => (c.device === n ? n : `${n} (device: ${c.device})`))
        .join('\n');
    case 'groups':
      return Object.entries(line.groups)
        .map(([n, m]) => `#${n}: ${m.join(', ')}`)
        .join('\n');
    case 'help':
      return line.text;
    default:
      return formatEvent(line);
  }
}

/**
 * Run the session until the input ends, `/quit`, or the signal aborts. Commands run one at a time, in order;
 * polling shares the client's queue, so it never interleaves with a command.
 *
 * @returns 0
 */
export async function runSession(opts: SessionOptions): Promise<number> {
  const { client, json } = opts;
  const write = (l: SessionLine) => {
    opts.output.write(`${render(l, json)}\n`);
  };
  const rl = createInterface({ input: opts.input, terminal: opts.prompt === true, output: opts.output });
  const done = new AbortController();
  const stop = () => done.abort();
  opts.signal.addEventListener('abort', stop, { once: true });
  if (opts.signal.aborted) stop();

  const safely = async (fn: () => Promise<readonly ChatEvent[] | undefined>) => {
    try {
      for (const e of (await fn()) ?? []) write(e);
    } catch (e) {
      write({
        type: 'error',
        code: isOnepadError(e) ? e.code : 'INTERNAL',
        text: isOnepadError(e) ? e.message : 'unexpected failure',
      });
    }
  };

  let queue: Promise<void> = Promise.resolve();
  const onLine = (line: string) => {
    queue = queue.then(async () => {
      if (done.signal.aborted) return;
      const c = parseCommand(line);
      switch (c.op) {
        case 'send':
          return safely(() => client.send(c.to, c.text));
        case 'many':
          return safely(() => client.sendMany(c.to, c.text));
        case 'gsend':
          return safely(() => client.sendGroup(c.group, c.text));
        case 'group':
          return safely(async () => {
            await client.defineGroup(c.name, c.members);
            write({ type: 'ok', op: 'group' });
            return undefined;
          });
        case 'contact':
          return safely(async () => {
            await client.addContact(c.name, c.device);
            write({ type: 'ok', op: 'contact' });
            return undefined;
          });
        case 'contacts':
          return write({ type: 'contacts', contacts: client.contacts });
        case 'groups':
          return write({ type: 'groups', groups: client.groups });
        case 'receive':
          return safely(() => client.receive());
        case 'help':
          return write({ type: 'help', text: COMMAND_HELP });
        case 'quit':
          return stop();
        case 'invalid':
          return write({ type: 'error', code: 'INVALID_ARGUMENT', text: c.reason });
      }
    });
    // No prompt once the session is stopping: it would resume the terminal's input and keep the process alive.
    if (opts.prompt) void queue.then(() => (done.signal.aborted ? undefined : rl.prompt()));
  };
  rl.on('line', onLine);
  // Ctrl-C on a terminal reaches readline, not the process.
  rl.on('SIGINT', stop);
  rl.on('close', () => {
    void queue.then(stop);
  });

  write({ type: 'ready', name: client.name, lastRef: client.lastRef });
  if (opts.prompt) rl.prompt();

  const polling = (async () => {
    if (opts.pollMs <= 0) return;
    while (!done.signal.aborted) {
      // One listener per wait, removed when the wait ends: never one more per poll.
      await new Promise<void>((resolve) => {
        const onAbort = () => {
          clearTimeout(t);
          resolve();
        };
        const t = setTimeout(() => {
          done.signal.removeEventListener('abort', onAbort);
          resolve();
        }, opts.pollMs);
        done.signal.addEventListener('abort', onAbort, { once: true });
      });
      if (done.signal.aborted) break;
      await safely(() => client.receive());
    }
  })();

  await new Promise<void>((resolve) => {
    if (done.signal.aborted) resolve();
    else done.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  opts.signal.removeEventListener('abort', stop);
  rl.close();
  await polling;
  await queue;
  return 0;
}
