import { newKeyboard } from '../../display/keyboard.js';
import type { Chrome, KeyboardContent, ScreenContent, ScreenState } from '../../display/screen-types.js';
import { initialInteraction } from '../../display/screen-types.js';

/** Fixed states for UI tests: every screen, some in several variants. Times are fixed; nothing is random. */
export const NOW = Date.UTC(2026, 10, 22, 17, 30, 0);

const enc = (s: string) => new TextEncoder().encode(s);

/** A 64-character contact name: two such names that differ only at the end must both be shown whole. */
export const LONG_CONTACT = 'Alexandra Montgomery-Fitzgerald of the Northern Isles cousin 002';

export const CHROME: Chrome = { deviceName: 'onepad-kitchen', ownerWord: 'heron', insecure: false };

const LONG =
  'The meeting moves to Thursday. Take the 8:15 train, get off at the second stop and walk to the old mill. ' +
  'Bring the blue folder and nothing else.\nIf anyone asks, you are visiting your aunt. '.repeat(6);

function encrypt(message: Uint8Array, extra: Partial<Extract<ScreenContent, { id: 'confirm-encrypt' }>> = {}) {
  return {
    id: 'confirm-encrypt' as const,
    contact: 'alice',
    message,
    cost: message.length + 32,
    remainingAfter: 1_047_900,
    messagesLeftAfter: 5_457,
    fingerprint: '3fa291bc0e7d55aa',
    deadline: NOW + 45_000,
    queued: 0,
    ...extra,
  };
}

function keyboard(extra: Partial<KeyboardContent>): KeyboardContent {
  return {
    ...newKeyboard({
      title: 'Name this contact',
      submit: 'Save',
      hint: 'The other device calls itself pad-amber. Your name for this person is shown when you send.',
      maxLength: 64,
    }),
    ...extra,
  };
}

/** A fixture: a name (the key in screens.json), the content, and overrides of the chrome and interaction. */
export interface Fixture {
  readonly name: string;
  readonly content: ScreenContent;
  readonly chrome?: Partial<Chrome>;
  readonly ui?: Partial<ScreenState['ui']>;
  readonly now?: number;
}

export const FIXTURES: readonly Fixture[] = [
  { name: 'confirm-encrypt.short', content: encrypt(enc('Meet at the north gate at 17:30.')) },
  { name: 'confirm-encrypt.long.page1', content: encrypt(enc(LONG), { queued: 2 }) },
  { name: 'confirm-encrypt.long.page2', content: encrypt(enc(LONG)), ui: { page: 1, seenPage: 1 } },
  { name: 'confirm-encrypt.holding', content: encrypt(enc('ok')), ui: { hold: 0.5 } },
  {
    name: 'confirm-encrypt.second-tap-armed',
    content: encrypt(enc('ok')),
    ui: { gesture: 'second-tap', armed: 'approve' },
  },
  {
    name: 'confirm-encrypt.hidden-and-binary',
    content: encrypt(Uint8Array.of(0xff, 0xfe, 0x00, 0x41, 0x80)),
  },
  { name: 'confirm-encrypt.bidi', content: encrypt(enc('pay \u202Egnp.exe\u202C now')), now: NOW + 38_500 },
  {
    name: 'confirm-encrypt.escapes',
    content: encrypt(
      enc(
        `hello bob${Array.from('pay eve', (c) => String.fromCodePoint(0xe0000 + c.charCodeAt(0))).join('')} 👍 同意 a\u00a0b\tc x\u00ady q\u0301 e\u0301`,
      ),
    ),
  },
  {
    name: 'confirm-encrypt.scripts',
    content: encrypt(enc('pаypal.com рор xyx PIN ו 1 2 3 4 ו  Ωmega\nline two ')),
  },
  {
    name: 'confirm-encrypt.long-contact',
    content: encrypt(enc('Which of the two?'), { contact: LONG_CONTACT }),
  },
  {
    name: 'confirm-decrypt.long-contact',
    content: { id: 'confirm-decrypt', contact: LONG_CONTACT, length: 17, deadline: NOW + 60_000, queued: 0 },
  },
  { name: 'confirm-encrypt.insecure', content: encrypt(enc('seeded pad')), chrome: { insecure: true } },
  {
    name: 'confirm-decrypt',
    content: { id: 'confirm-decrypt', contact: 'bob', length: 212, deadline: NOW + 60_000, queued: 1 },
  },
  {
    name: 'received-message',
    content: { id: 'received-message', contact: 'bob', message: enc('The keys are under the mat.'), receivedAt: NOW },
  },
  {
    name: 'received-message.escapes',
    content: {
      id: 'received-message',
      contact: 'bob',
      message: enc('Pay 👍 to pаypal.com PIN ו 1 2 3 4 ו'),
      receivedAt: NOW,
    },
  },
  {
    name: 'home',
    content: {
      id: 'home',
      contacts: [
        { name: 'alice', padLeft: 1_047_900, messagesLeft: 5_457, insecure: false },
        { name: 'bob', padLeft: 60_000, messagesLeft: 312, insecure: false },
        { name: 'test-peer', padLeft: 4096, messagesLeft: 21, insecure: true },
      ],
      hrng: { healthy: true, poolBytes: 3_400_000, poolCapacity: 16_777_216 },
      warnings: [
        { time: NOW - 60_000, text: 'MAC failure on a package for bob' },
        { time: NOW - 3_600_000, text: 'pad for bob below 64 KiB' },
      ],
    },
  },
  {
    name: 'home.empty-hrng-failed',
    content: {
      id: 'home',
      contacts: [],
      hrng: { healthy: false, poolBytes: 0, poolCapacity: 16_777_216 },
      warnings: [],
    },
    chrome: { insecure: true, ownerWord: '' },
  },
  {
    name: 'home.jobs-running',
    content: {
      id: 'home',
      contacts: [],
      hrng: { healthy: true, poolBytes: 3_400_000, poolCapacity: 16_777_216 },
      warnings: [
        { time: NOW, text: 'burning old pad 45%, 3 min 05 s left' },
        { time: NOW, text: 'filling pool 20%, 2.6 MiB/s' },
      ],
      jobs: 'stop',
    },
  },
  {
    name: 'home.jobs-stopped',
    content: {
      id: 'home',
      contacts: [],
      hrng: { healthy: true, poolBytes: 3_400_000, poolCapacity: 16_777_216 },
      warnings: [
        { time: NOW, text: 'burn stopped at 45%' },
        { time: NOW, text: 'pool filling stopped' },
      ],
      jobs: 'resume',
    },
  },
  {
    name: 'alarm.hrng-failure',
    content: { id: 'alarm', alarm: 'hrng-failure', detail: ['source usb0: repetition count test'], time: NOW },
  },
  {
    name: 'alarm.forged',
    content: { id: 'alarm', alarm: 'forged', detail: ['contact bob', 'offset 40960, length 212'], time: NOW },
  },
  { name: 'alarm.replay', content: { id: 'alarm', alarm: 'replay', detail: ['contact bob'], time: NOW } },
  {
    name: 'alarm.pad-burned',
    content: { id: 'alarm', alarm: 'pad-burned', detail: ['contact bob', 'sending, message 41'], time: NOW },
  },
  { name: 'alarm.pad-low', content: { id: 'alarm', alarm: 'pad-low', detail: ['alice: 40 KiB left'], time: NOW } },
  { name: 'pairing-start', content: { id: 'pairing-start', poolBytes: 16_777_216 } },
  { name: 'setup.name', content: { id: 'setup', step: 'name', value: 'pad-otter' } },
  { name: 'setup.word', content: { id: 'setup', step: 'word', value: 'lantern' } },
  {
    name: 'pairing-progress',
    content: {
      id: 'pairing-progress',
      peer: 'alice',
      bytes: 12_582_912,
      total: 67_108_864,
      bytesPerSecond: 1_258_291,
      secondsLeft: 43,
    },
  },
  {
    name: 'pairing-progress.waiting',
    content: {
      id: 'pairing-progress',
      peer: 'the other device',
      bytes: 0,
      total: 0,
      bytesPerSecond: 0,
      secondsLeft: 0,
    },
  },
  { name: 'keyboard.suggestion', content: keyboard({ value: 'pad-amber' }) },
  { name: 'keyboard.upper-empty', content: keyboard({ value: '', mode: 'upper', selected: 4 }) },
  {
    name: 'keyboard.digits-long-refused',
    content: keyboard({
      value: 'Alexandra Montgomery-Fitzgerald of the Northern Isles 1234567',
      mode: 'digits',
      selected: 10,
      error: 'looks like alice, already a contact',
    }),
  },
  {
    name: 'result.approved',
    content: {
      id: 'result',
      outcome: 'approved',
      title: 'You approved the message for alice: it is encrypted now.',
      detail: [],
    },
  },
  {
    name: 'result.denied',
    content: {
      id: 'result',
      outcome: 'denied',
      title: 'You denied the message for alice: it was not encrypted.',
      detail: ['No pad was used. The laptop was told.'],
    },
  },
  {
    name: 'result.timeout',
    content: {
      id: 'result',
      outcome: 'timeout',
      title: 'Nobody answered in time: the message from bob was not decrypted.',
      detail: ['The laptop was told.'],
    },
  },
  {
    name: 'pairing-compare',
    content: { id: 'pairing-compare', peer: 'alice', fingerprint: '9f2c71e04ab3d8560c1e77a2b94f03d1' },
  },
  { name: 'session-request', content: sessionRequest({}) },
  {
    name: 'session-request.padded-changed',
    content: sessionRequest({ frameSize: 1024, budgetBytes: 1_048_576, timeLimitSec: 600, queued: 1 }),
    now: NOW + 52_000,
  },
  { name: 'session-live', content: sessionLive({}) },
  {
    name: 'session-live.nearly-spent',
    content: sessionLive({ usedBytes: 1_000_000, sentBytes: 900_000, frameSize: 1024 }),
    now: NOW + 590_000,
  },
];

function sessionRequest(extra: Partial<Extract<ScreenContent, { id: 'session-request' }>>): ScreenContent {
  return {
    id: 'session-request',
    contact: 'bob',
    budgetBytes: 16_777_216,
    timeLimitSec: 3600,
    askedBudget: 16_777_216,
    askedTime: 3600,
    frameSize: null,
    padLeft: 523_000_000,
    keySlotsLeft: 2_700_000,
    streamLeft: 437_000_000,
    deadline: NOW + 60_000,
    queued: 0,
    ...extra,
  };
}

function sessionLive(extra: Partial<Extract<ScreenContent, { id: 'session-live' }>>): ScreenContent {
  return {
    id: 'session-live',
    contact: 'bob',
    budgetBytes: 1_048_576,
    usedBytes: 270_336,
    sentBytes: 250_112,
    receivedBytes: 18_944,
    framesSent: 512,
    framesReceived: 77,
    frameSize: null,
    expiresAt: NOW + 600_000,
    ...extra,
  };
}

/** The full state of a fixture. */
export function stateOf(f: Fixture, instance = 1): ScreenState {
  return {
    ...f.content,
    chrome: { ...CHROME, ...f.chrome },
    ui: { ...initialInteraction('hold'), ...f.ui },
    instance,
    now: f.now ?? NOW,
  };
}
