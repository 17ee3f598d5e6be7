import type { KeyName } from './layout.js';

/** Stable ids of every screen, used by tests, fixtures and the simulator. */
export type ScreenId =
  | 'confirm-encrypt'
  | 'confirm-decrypt'
  | 'received-message'
  | 'home'
  | 'alarm'
  | 'setup'
  | 'pairing-start'
  | 'pairing-progress'
  | 'pairing-compare'
  | 'keyboard'
  | 'result'
  | 'session-request'
  | 'session-live';

/** A rectangle in screen pixels. */
export interface Box {
  readonly x: number;
  readonly y: number;
  readonly w: number;
  readonly h: number;
}

/** A piece of text as drawn, readable by tests through the debug layout. */
export interface TextItem {
  readonly id: string;
  readonly text: string;
  readonly box: Box;
}

/** A button as drawn: touch hit-tests its box; the keys layout binds it to a key. */
export interface ButtonItem {
  readonly id: string;
  readonly label: string;
  readonly box: Box;
  readonly enabled: boolean;
  /** Needs the deliberate gesture (hold or second tap) before it acts: Approve, Match. */
  readonly guarded: boolean;
  /** The key that presses it on the keys layout. */
  readonly key?: KeyName;
}

/** The debug layout of a rendered screen: what it says and where its buttons are. */
export interface DebugLayout {
  readonly screen: ScreenId;
  readonly texts: readonly TextItem[];
  readonly buttons: readonly ButtonItem[];
  /** How many pages the screen's message has (1 when it has none). */
  readonly pages: number;
}

/** A rendered screen: its raw pixels and its debug layout. */
export interface Rendered extends DebugLayout {
  readonly width: number;
  readonly height: number;
  /** Non-premultiplied RGBA, row-major, width*height*4 bytes, opaque. */
  readonly pixels: Uint8ClampedArray;
}

/** What every screen shows in the trusted band, and whether it must say INSECURE. */
export interface Chrome {
  readonly deviceName: string;
  readonly ownerWord: string;
  /** Simulated or seeded entropy: every screen says INSECURE. */
  readonly insecure: boolean;
}

/** State the device UI keeps for the screen on display: paging and the approve gesture's progress. */
export interface Interaction {
  readonly gesture: 'hold' | 'second-tap';
  /** The page of the message on screen (0-based). */
  readonly page: number;
  /** The highest page the user has seen: Approve is enabled only once every page was on screen. */
  readonly seenPage: number;
  /** Progress of a hold on a guarded button, 0..1 (0 = not holding). */
  readonly hold: number;
  /** The id of the guarded button armed by a first tap (second-tap mode), or null. */
  readonly armed: string | null;
}

/** A contact as the home screen lists it. */
export interface ContactSummary {
  readonly name: string;
  readonly padLeft: number;
  readonly messagesLeft: number;
  readonly insecure: boolean;
}

/** Which keys the on-screen keyboard shows: small letters, capitals, or digits and signs. */
export type KeyboardMode = 'lower' | 'upper' | 'digits';

/**
 * The on-screen keyboard (display/keyboard.ts): a reusable screen that asks for a line of text. Contact names
 * use it now; composing messages on the device can reuse it with another character set and submit label.
 */
export interface KeyboardContent {
  readonly id: 'keyboard';
  /** The characters it offers: `name` is what a contact name may hold (letters, digits, space, . _ @ -). */
  readonly charset: 'name';
  /** What is asked ("Name this contact"). */
  readonly title: string;
  /** What is typed so far. */
  readonly value: string;
  readonly mode: KeyboardMode;
  /** Keys layout: the picker's position in the mode's characters. */
  readonly selected: number;
  /** Most characters the value may have. */
  readonly maxLength: number;
  /** A dim line under the value. */
  readonly hint: string;
  /** Why the value was refused (drawn in the warning colour instead of the hint), or null. */
  readonly error: string | null;
  /** The label of the submit key ("Save"). */
  readonly submit: string;
}

/** The content of each screen, without the chrome and interaction the device UI adds. */
export type ScreenContent =
  | {
      readonly id: 'confirm-encrypt';
      readonly contact: string;
      /** The plaintext. The confirmation service zeroes its copy after the decision. */
      readonly message: Uint8Array;
      readonly cost: number;
      readonly remainingAfter: number;
      readonly messagesLeftAfter: number;
      readonly fingerprint: string;
      /** When the request is denied for lack of an answer (same clock as `now`). */
      readonly deadline: number;
      readonly queued: number;
    }
  | {
      readonly id: 'confirm-decrypt';
      readonly contact: string;
      readonly length: number;
      readonly deadline: number;
      readonly queued: number;
    }
  | {
      readonly id: 'received-message';
      readonly contact: string;
      readonly message: Uint8Array;
      /** When it arrived (ms since the epoch). */
      readonly receivedAt: number;
    }
  | {
      readonly id: 'home';
      readonly contacts: readonly ContactSummary[];
      readonly hrng: {
        readonly healthy: boolean;
        readonly poolBytes: number;
        readonly poolCapacity: number;
        /** The failing source and test when filling is latched off, e.g. "truerng: periodic". */
        readonly failing?: string;
      };
      /** The last warnings from the event log, newest first: time and a short non-secret line. */
      readonly warnings: readonly { readonly time: number; readonly text: string }[];
      /**
       * The background jobs' control (filling the pool, burning an abandoned pad): `stop` while one runs, `resume`
       * once the owner stopped them; absent when there is nothing to stop or resume.
       */
      readonly jobs?: 'stop' | 'resume';
    }
  | {
      readonly id: 'alarm';
      readonly alarm: 'hrng-failure' | 'forged' | 'replay' | 'pad-low' | 'pad-burned';
      /** Short non-secret facts: contact, counts, offsets. */
      readonly detail: readonly string[];
      readonly time: number;
    }
  | {
      readonly id: 'setup';
      /** Which answer the first-boot setup asks for. */
      readonly step: 'name' | 'word';
      /** The proposal on screen. */
      readonly value: string;
    }
  | {
      readonly id: 'pairing-start';
      /** Pool bytes this device can put into a new pad. */
      readonly poolBytes: number;
    }
  | {
      readonly id: 'pairing-progress';
      readonly peer: string;
      readonly bytes: number;
      readonly total: number;
      readonly bytesPerSecond: number;
      readonly secondsLeft: number;
    }
  | {
      readonly id: 'pairing-compare';
      readonly peer: string;
      /** The pad fingerprint both devices show (hex). */
      readonly fingerprint: string;
    }
  | KeyboardContent
  | {
      readonly id: 'result';
      /** What happened: approved (ok), denied, or nobody decided in time. */
      readonly outcome: 'approved' | 'denied' | 'timeout';
      /** One short line: what was done or not done. */
      readonly title: string;
      /** Short non-secret facts (contact, pad left). */
      readonly detail: readonly string[];
    }
  | {
      /** A pipe session asks to start (device/confirm.ts SessionRequest), with the owner's choices so far. */
      readonly id: 'session-request';
      readonly contact: string;
      readonly budgetBytes: number;
      readonly timeLimitSec: number;
      readonly askedBudget: number;
      readonly askedTime: number;
      readonly frameSize: number | null;
      readonly padLeft: number;
      readonly keySlotsLeft: number;
      readonly streamLeft: number;
      readonly deadline: number;
      readonly queued: number;
    }
  | {
      /** A running pipe session (device/confirm.ts SessionView). */
      readonly id: 'session-live';
      readonly contact: string;
      readonly budgetBytes: number;
      readonly usedBytes: number;
      readonly sentBytes: number;
      readonly receivedBytes: number;
      readonly framesSent: number;
      readonly framesReceived: number;
      readonly frameSize: number | null;
      readonly expiresAt: number;
    };

/** Everything a screen is drawn from: content, chrome, interaction, the time, and the instance it belongs to. */
export type ScreenState = ScreenContent & {
  readonly chrome: Chrome;
  readonly ui: Interaction;
  /** Fresh for every screen shown; an input gesture is bound to the instance it started on. */
  readonly instance: number;
  /** The time the screen is drawn for (countdowns, ages). */
  readonly now: number;
};

/** A fresh interaction state. */
export function initialInteraction(gesture: 'hold' | 'second-tap'): Interaction {
  return { gesture, page: 0, seenPage: 0, hold: 0, armed: null };
}
