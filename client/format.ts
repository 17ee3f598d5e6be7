/**
 * Chat events as lines for people. Text from the relay or a contact is printed only after everything that could
 * act on the terminal or hide is made visible, with the device screen's Unicode tables
 * (display/unicode/classify.ts): controls (so escape sequences), newlines, bidi controls and right-to-left
 * letters (a terminal may reorder them), default-ignorables (tags, variation selectors, zero-width), white space
 * other than the space, private use, unassigned code points, and combining marks past the first on a base.
 */
import { isMark, terminalEscapes } from '../display/unicode/classify.js';
import type { ChatEvent } from './chat.js';

/** `s` with every code point a terminal must not print as itself replaced by a visible `\u{..}` escape. */
export function visible(s: string): string {
  let out = '';
  // Whether the last code point printed as itself can carry a mark (a base with no mark yet).
  let base = false;
  for (const ch of s) {
    const cp = ch.codePointAt(0) ?? 0;
    const mark = isMark(cp);
    if (terminalEscapes(cp) || (mark && !base)) {
      out += `\\u{${cp.toString(16)}}`;
      base = false;
    } else {
      out += ch;
      base = !mark && cp !== 0x20;
    }
  }
  return out;
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
