/**
 * The chat client: talks to its own device over the link (package, unpackage) and to the relay (send, fetch,
 * ack), and turns what happens into {@link ChatEvent}s: messages, and the device's warnings beside them (gaps,
 * late arrivals, forgeries, replays, pad running low, a declined request).
 *
 * A received package is acknowledged at the relay only after the device has processed it: the device burns the
 * segment first, so a crash in between makes the next fetch answer REPLAY (shown as a warning), never a silent
 * loss. A package the device refuses (forged, replayed, ...) is shown as a warning, acknowledged, and never
 * shown as text.
 */
import { type ErrorCode, isOnepadError, OnepadError } from '../device/errors.js';
import type { MessageContent } from '../rpc/client.js';
import type { PackageResponse, UnpackageResponse } from '../rpc/protocol.js';
import { newRelayToken, RelayClient } from './relay-client.js';
import type { RelayMessage } from './relay-protocol.js';
import { type ChatState, isValidName, readState, writeState } from './state.js';

/** What the client needs of its device (rpc/client.ts LinkClient satisfies it). */
export interface ChatDevice {
  package(contact: string, content: MessageContent): Promise<PackageResponse>;
  unpackage(pkg: string): Promise<UnpackageResponse>;
}

/** Kinds of warning shown beside the messages. */
export type WarningKind =
  | 'gap'
  | 'late'
  | 'forgery'
  | 'replay'
  | 'rejected'
  | 'declined'
  | 'pad-low'
  | 'sender-mismatch'
  | 'device-unavailable'
  | 'relay-unavailable'
  | 'undelivered';

/** Something the user should see. */
export type ChatEvent =
  | {
      readonly type: 'message';
      readonly ref: number;
      /** The sender as the device authenticated it (the contact of the pad), as this user calls them. */
      readonly from: string;
      /** The text, or null when it was not UTF-8 or was shown on the device only. */
      readonly text: string | null;
      readonly length: number;
      readonly time: number;
      readonly insecure: boolean;
      readonly shownOnDeviceOnly: boolean;
    }
  | {
      readonly type: 'sent';
      readonly to: string;
      readonly ref: number;
      readonly remaining: number;
      readonly messagesLeft: number;
      readonly insecure: boolean;
    }
  | {
      readonly type: 'warning';
      readonly kind: WarningKind;
      readonly contact?: string;
      readonly ref?: number;
      readonly code?: string;
      readonly text: string;
    }
  | { readonly type: 'error'; readonly to?: string; readonly code: string; readonly text: string };

export interface ChatClientOptions {
  /** The local state file (created with mode 0600 when missing). */
  readonly statePath: string;
  /** This user's name at the relay; must match the state file's. */
  readonly name: string;
  readonly device: ChatDevice;
  readonly relayUrl: string;
  /** Warn when a pad's own region has fewer bytes left than this (default 65536, as the device). */
  readonly lowPadBytes?: number;
  readonly relayTimeoutMs?: number;
  /** Most fetch rounds in one receive (each up to the relay's maxFetch messages). */
  readonly maxRounds?: number;
}

/** Device codes that mean "this package will never be accepted": warn, acknowledge, move on. */
const FINAL: Partial<Record<ErrorCode, WarningKind>> = {
  MAC_INVALID: 'forgery',
  REPLAY: 'replay',
  OVERLAP: 'rejected',
  REFLECTION: 'rejected',
  MALFORMED: 'rejected',
  UNKNOWN_PAD: 'rejected',
  UNSUPPORTED_VERSION: 'rejected',
  INVALID_ARGUMENT: 'rejected',
  BODY_TOO_LARGE: 'rejected',
  DENIED: 'declined',
};

const WARNING_TEXT: Partial<Record<WarningKind, string>> = {
  forgery: 'a package failed authentication (forged or damaged); it was discarded unread',
  replay: 'a package arrived again (replay); it was not decrypted again',
  rejected: 'the device refused a package; it was discarded unread',
  declined: 'you declined to decrypt a package on the device; it was discarded',
};

function codeOf(e: unknown): string {
  return isOnepadError(e) ? e.code : 'INTERNAL';
}

/** A chat client for one user, one device and one relay. */
export class ChatClient {
  private state: ChatState;
  private readonly relay: RelayClient;
  private readonly device: ChatDevice;
  private readonly statePath: string;
  private readonly lowPadBytes: number;
  private readonly maxRounds: number;
  private readonly warnedLow = new Set<string>();
  /** Packages made by the device but not yet accepted by the relay (ciphertext only, memory only). */
  private readonly outbox: { to: string; pk: PackageResponse }[] = [];
  /** Refs processed by the device whose ack did not reach the relay yet. */
  private readonly pendingAcks: number[] = [];
  private chain: Promise<unknown> = Promise.resolve();
  /** The code of an ongoing relay or device outage, so its warning is given once, not at every poll. */
  private readonly outage: { relay: string | null; device: string | null } = { relay: null, device: null };

  /**
   * Open the client: read the state file, or create it with a fresh relay token.
   *
   * @throws OnepadError INVALID_ARGUMENT for a bad name or URL; CHAT_STATE_INVALID when the file is bad or was
   *   made for another name
   */
  constructor(opts: ChatClientOptions) {
    if (!isValidName(opts.name)) throw new OnepadError('INVALID_ARGUMENT', { option: 'name' }, 'not a valid name');
    const existing = readState(opts.statePath);
    if (existing && existing.name !== opts.name) {
      throw new OnepadError('CHAT_STATE_INVALID', { reason: 'made for another name' });
    }
    this.statePath = opts.statePath;
    this.state = existing ?? {
      version: 1,
      name: opts.name,
      token: newRelayToken(),
      contacts: {},
      groups: {},
      lastRef: {},
    };
    this.device = opts.device;
    this.relay = new RelayClient({
      url: opts.relayUrl,
      name: opts.name,
      token: this.state.token,
      ...(opts.relayTimeoutMs !== undefined ? { timeoutMs: opts.relayTimeoutMs } : {}),
    });
    this.lowPadBytes = opts.lowPadBytes ?? 65536;
    this.maxRounds = opts.maxRounds ?? 10;
    if (!existing) writeState(this.statePath, this.state);
  }

  /** This user's name. */
  get name(): string {
    return this.state.name;
  }

  /** Contacts and their device contact names. */
  get contacts(): Readonly<Record<string, { device: string }>> {
    return this.state.contacts;
  }

  /** Groups and their members. */
  get groups(): Readonly<Record<string, readonly string[]>> {
    return this.state.groups;
  }

  /** The last ref processed at this relay. */
  get lastRef(): number {
    return this.state.lastRef[this.relay.url] ?? 0;
  }

  /**
   * Remember a contact. `device` is the contact name of the pad on the device, when it differs from the name at
   * the relay.
   *
   * @throws OnepadError INVALID_ARGUMENT for a bad name
   */
  addContact(name: string, device = name): Promise<void> {
    return this.serial(async () => {
      if (!isValidName(name) || !isValidName(device)) {
        throw new OnepadError('INVALID_ARGUMENT', { argument: 'contact' }, 'not a valid name');
      }
      this.save({ ...this.state, contacts: { ...this.state.contacts, [name]: { device } } });
    });
  }

  /**
   * Define (or redefine) a group: a name for several contacts. A group send is one send to each.
   *
   * @throws OnepadError INVALID_ARGUMENT for a bad name, no members, more than 256, or a duplicate
   */
  defineGroup(name: string, members: readonly string[]): Promise<void> {
    return this.serial(async () => {
      const bad = [name, ...members].some((n) => !isValidName(n));
      if (bad || members.length === 0 || members.length > 256 || new Set(members).size !== members.length) {
        throw new OnepadError('INVALID_ARGUMENT', { argument: 'group' }, 'a group needs 1..256 distinct valid names');
      }
      this.save({ ...this.state, groups: { ...this.state.groups, [name]: [...members] } });
    });
  }

  /**
   * Send `text` to one contact: the device packages it (after its user approves), the relay stores it. Failures
   * of the device or relay are events (DENIED, CONFIRM_TIMEOUT, PAD_EXHAUSTED, RELAY_*), not exceptions.
   *
   * @throws OnepadError INVALID_ARGUMENT for a bad contact name
   */
  send(to: string, text: string): Promise<ChatEvent[]> {
    return this.serial(() => this.sendOne(to, text));
  }

  /**
   * Send `text` to several contacts, one after the other (each is its own package and confirmation).
   *
   * @throws OnepadError INVALID_ARGUMENT for a bad contact name (before anything is sent)
   */
  sendMany(to: readonly string[], text: string): Promise<ChatEvent[]> {
    return this.serial(() => this.sendEach(to, text));
  }

  private async sendEach(to: readonly string[], text: string): Promise<ChatEvent[]> {
    for (const n of to) this.checkName(n);
    const events: ChatEvent[] = [];
    for (const n of to) events.push(...(await this.sendOne(n, text)));
    return events;
  }

  /**
   * Send `text` to every member of a group.
   *
   * @throws OnepadError UNKNOWN_GROUP when no group has this name
   */
  sendGroup(group: string, text: string): Promise<ChatEvent[]> {
    return this.serial(async () => {
      // Looked up in turn, so a group defined by an earlier call is seen.
      const members = Object.hasOwn(this.state.groups, group) ? this.state.groups[group] : undefined;
      if (!members) throw new OnepadError('UNKNOWN_GROUP', { group: group.slice(0, 64) });
      return this.sendEach(members, text);
    });
  }

  /**
   * Fetch what waits at the relay, have the device authenticate and decrypt each package in order, acknowledge
   * what the device processed, and return messages and warnings. Relay and device outages are warnings; the
   * messages not processed stay at the relay for the next receive.
   */
  receive(): Promise<ChatEvent[]> {
    return this.serial(() => this.receiveAll());
  }

  private async sendOne(to: string, text: string): Promise<ChatEvent[]> {
    const deviceName = this.checkName(to);
    const events: ChatEvent[] = [...(await this.flushOutbox())];
    let pk: PackageResponse;
    try {
      pk = await this.device.package(deviceName, { text });
    } catch (e) {
      events.push({ type: 'error', to, code: codeOf(e), text: this.sendFailureText(e) });
      return events;
    }
    try {
      const r = await this.relay.send(to, pk.package);
      events.push(this.sentEvent(to, r.ref, pk));
    } catch (e) {
      this.outbox.push({ to, pk });
      events.push({
        type: 'warning',
        kind: 'undelivered',
        contact: to,
        code: codeOf(e),
        text: 'the relay did not take the message; it is kept (encrypted, in memory) and retried on the next poll',
      });
    }
    events.push(...this.lowPadWarning(to, pk.remaining, pk.messagesLeft));
    return events;
  }

  private sentEvent(to: string, ref: number, pk: PackageResponse): ChatEvent {
    return { type: 'sent', to, ref, remaining: pk.remaining, messagesLeft: pk.messagesLeft, insecure: pk.insecure };
  }

  /** Packages waiting to be handed to the relay. */
  get undelivered(): number {
    return this.outbox.length;
  }

  private sendFailureText(e: unknown): string {
    const code = codeOf(e);
    if (code === 'DENIED') return 'declined on the device; nothing was sent and no pad was used';
    if (code === 'CONFIRM_TIMEOUT') return 'the device gave up waiting for approval; nothing was sent';
    if (code === 'PAD_EXHAUSTED') return 'the pad with this contact is used up; pair again';
    if (code === 'UNKNOWN_CONTACT') return 'the device has no pad with this contact';
    return isOnepadError(e) ? e.message : 'unexpected failure';
  }

  private async flushOutbox(): Promise<ChatEvent[]> {
    const events: ChatEvent[] = [];
    while (this.outbox.length > 0) {
      const { to, pk } = this.outbox[0] as { to: string; pk: PackageResponse };
      try {
        const r = await this.relay.send(to, pk.package);
        this.outbox.shift();
        events.push(this.sentEvent(to, r.ref, pk));
      } catch {
        break;
      }
    }
    return events;
  }

  private async receiveAll(): Promise<ChatEvent[]> {
    const events: ChatEvent[] = [...(await this.flushOutbox())];
    if (this.pendingAcks.length > 0) {
      try {
        await this.relay.ack(this.pendingAcks);
        this.pendingAcks.length = 0;
      } catch {
        // Kept for the next receive; the refs are below lastRef and are not processed again.
      }
    }
    for (let round = 0; round < this.maxRounds; round++) {
      let batch: { messages: readonly RelayMessage[]; more: boolean };
      try {
        batch = await this.relay.fetch(this.lastRef);
      } catch (e) {
        // Said once per outage, not at every poll.
        const code = codeOf(e);
        if (this.outage.relay !== code) {
          events.push({ type: 'warning', kind: 'relay-unavailable', code, text: 'the relay could not be asked' });
        }
        this.outage.relay = code;
        return events;
      }
      this.outage.relay = null;
      const done: number[] = [];
      let stopped = false;
      for (const m of batch.messages) {
        if (m.ref <= this.lastRef) continue;
        const outcome = await this.processOne(m);
        events.push(...outcome.events);
        if (!outcome.processed) {
          stopped = true;
          break;
        }
        done.push(m.ref);
      }
      if (done.length > 0) {
        try {
          await this.relay.ack(done);
        } catch (e) {
          this.pendingAcks.push(...done);
          events.push({ type: 'warning', kind: 'relay-unavailable', code: codeOf(e), text: 'acknowledgement failed' });
        }
        const last = Math.max(...done);
        this.save({ ...this.state, lastRef: { ...this.state.lastRef, [this.relay.url]: last } });
      }
      if (stopped || !batch.more) break;
    }
    return events;
  }

  /** The device's verdict on one package, as events; `processed` is false when it should be tried again. */
  private async processOne(m: RelayMessage): Promise<{ processed: boolean; events: ChatEvent[] }> {
    let r: UnpackageResponse;
    try {
      r = await this.device.unpackage(m.package);
    } catch (e) {
      const code = codeOf(e);
      const kind = FINAL[code as ErrorCode];
      if (kind) {
        this.outage.device = null;
        const text = WARNING_TEXT[kind] ?? 'the device refused a package';
        return {
          processed: true,
          events: [
            { type: 'warning', kind, contact: m.from, ref: m.ref, code, text: `${text} (relay says from ${m.from})` },
          ],
        };
      }
      const repeated = this.outage.device === code;
      this.outage.device = code;
      return {
        processed: false,
        events: repeated
          ? []
          : [
              {
                type: 'warning',
                kind: 'device-unavailable',
                code,
                ref: m.ref,
                text: 'the device did not process a package; it stays at the relay and is tried again',
              },
            ],
      };
    }
    this.outage.device = null;
    const from = this.aliasOf(r.contact);
    const events: ChatEvent[] = [];
    if (from !== m.from) {
      events.push({
        type: 'warning',
        kind: 'sender-mismatch',
        contact: from,
        ref: m.ref,
        text: `the relay says this came from ${m.from}, but the pad says ${from}`,
      });
    }
    for (const g of r.gaps) {
      events.push({
        type: 'warning',
        kind: 'gap',
        contact: from,
        ref: m.ref,
        text: `${g.end - g.start} bytes of pad from ${from} were skipped: messages before this one are missing or late`,
      });
    }
    if (r.late) {
      events.push({
        type: 'warning',
        kind: 'late',
        contact: from,
        ref: m.ref,
        text: `this message from ${from} arrived late (it fills an earlier gap)`,
      });
    }
    events.push({
      type: 'message',
      ref: m.ref,
      from,
      text: r.text,
      length: r.length,
      time: m.time,
      insecure: r.insecure,
      shownOnDeviceOnly: r.shownOnDeviceOnly,
    });
    events.push(...this.lowPadWarning(from, r.remaining, r.messagesLeft));
    return { processed: true, events };
  }

  private lowPadWarning(contact: string, remaining: number, messagesLeft: number): ChatEvent[] {
    if (remaining >= this.lowPadBytes || this.warnedLow.has(contact)) return [];
    this.warnedLow.add(contact);
    return [
      {
        type: 'warning',
        kind: 'pad-low',
        contact,
        text: `the pad with ${contact} is running low: ${remaining} bytes, about ${messagesLeft} messages left`,
      },
    ];
  }

  /** This user's name for a device contact. */
  private aliasOf(deviceContact: string): string {
    for (const [alias, c] of Object.entries(this.state.contacts)) if (c.device === deviceContact) return alias;
    return deviceContact;
  }

  /** The device contact name for `name`; throws for an invalid name. */
  private checkName(name: string): string {
    if (!isValidName(name)) throw new OnepadError('INVALID_ARGUMENT', { argument: 'to' }, 'not a valid name');
    return Object.hasOwn(this.state.contacts, name) ? (this.state.contacts[name]?.device ?? name) : name;
  }

  private save(next: ChatState): void {
    writeState(this.statePath, next);
    this.state = next;
  }

  /** Run operations one at a time (polling and commands share the state and the device). */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => undefined);
    return run;
  }
}
