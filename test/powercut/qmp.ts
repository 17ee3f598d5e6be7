/**
 * A minimal QMP (QEMU Machine Protocol) client over a unix socket: the capabilities handshake, then one command
 * at a time, answers matched in order (events are skipped).
 */
import { connect, type Socket } from 'node:net';

/** A connected QMP session. */
export class Qmp {
  private buf = '';
  private waiting: { resolve: (v: unknown) => void; reject: (e: Error) => void }[] = [];

  private constructor(private readonly sock: Socket) {
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => {
      this.buf += d;
      for (let i = this.buf.indexOf('\n'); i >= 0; i = this.buf.indexOf('\n')) {
        const line = this.buf.slice(0, i);
        this.buf = this.buf.slice(i + 1);
        if (!line.trim()) continue;
        const msg = JSON.parse(line) as { return?: unknown; error?: { desc: string }; event?: string; QMP?: unknown };
        if (msg.event !== undefined) continue;
        const w = this.waiting.shift();
        if (!w) continue;
        if (msg.error) w.reject(new Error(`QMP: ${msg.error.desc}`));
        else w.resolve(msg.return ?? msg.QMP);
      }
    });
    const fail = () => {
      for (const w of this.waiting.splice(0)) w.reject(new Error('QMP connection closed'));
    };
    sock.on('close', fail);
    sock.on('error', fail);
  }

  /**
   * Connect (retrying until `timeoutMs`) and negotiate capabilities.
   * @throws Error when qemu does not answer in time
   */
  static async connect(path: string, timeoutMs = 60_000): Promise<Qmp> {
    const t0 = Date.now();
    for (;;) {
      try {
        const sock = await new Promise<Socket>((resolve, reject) => {
          const s = connect(path);
          s.once('connect', () => resolve(s));
          s.once('error', reject);
        });
        const q = new Qmp(sock);
        await new Promise((resolve, reject) => q.waiting.push({ resolve, reject })); // greeting
        await q.cmd('qmp_capabilities');
        return q;
      } catch (e) {
        if (Date.now() - t0 > timeoutMs) throw new Error(`QMP at ${path}: ${(e as Error).message}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }

  /**
   * Run one command.
   * @throws Error with qemu's description when the command fails
   */
  cmd(execute: string, args?: Record<string, unknown>): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.sock.write(`${JSON.stringify(args ? { execute, arguments: args } : { execute })}\n`);
    });
  }

  close(): void {
    this.sock.destroy();
  }
}
