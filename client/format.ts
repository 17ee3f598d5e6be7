/**
 * Chat events as lines for people. Text from the relay or a contact is printed only after control characters
 * (C0, C1, DEL, bidi overrides) are made visible, so a message cannot move the cursor, recolour the terminal
 * or disguise itself.
 */
import type { ChatEvent } from './chat.js';

const CONTROL = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

/** `s` with every control character replaced by a visible `\u{..}` escape. */
export function visible(s: string): string {
  return s.replace(CONTROL, (c) => `\\u{${(c.codePointAt(0) ?? 0).toString(16)}}`);
}

function clock(ms: number): string {
  return new Date(ms).toISOString().slice(11, 19);
}

/** One line for one event (no trailing newline). */
export function formatEvent(e: ChatEvent): string {
  switch (e.type) {
    case 'message': {
      const body =
        e.text !== null
          ? visible(e.text)
          : e.shownOnDeviceOnly
            ? `(${e.length} bytes, shown on the device only)`
            : `(${e.length} bytes that are not text)`;
      return `[${clock(e.time)}] ${visible(e.from)}${e.insecure ? ' [INSECURE pad]' : ''}: ${body}`;
    }
    case 'sent':
      return `-> ${visible(e.to)} (ref ${e.ref}; ${e.remaining} bytes, about ${e.messagesLeft} messages left)`;
    case 'warning':
      return `! ${e.kind}${e.code ? ` ${e.code}` : ''}: ${visible(e.text)}`;
    case 'error':
      return `x ${e.to ? `${visible(e.to)}: ` : ''}${e.code}: ${visible(e.text)}`;
  }
}
