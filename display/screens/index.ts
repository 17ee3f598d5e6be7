import type { Layout } from '../layout.js';
import { Painter } from '../paint.js';
import type { Rendered, ScreenState } from '../screen-types.js';
import { drawAlarm } from './alarm.js';
import { drawChrome } from './common.js';
import { drawConfirmDecrypt, drawConfirmEncrypt } from './confirm.js';
import { drawHome } from './home.js';
import { drawKeyboard } from './keyboard.js';
import { drawPairingCompare, drawPairingProgress, drawPairingStart } from './pairing.js';
import { drawReceived } from './received.js';
import { drawResult } from './result.js';
import { drawSessionLive, drawSessionRequest } from './session.js';
import { drawSetup } from './setup.js';

/**
 * Render a screen: a pure function of its state and the layout. The same state and layout always give the same
 * pixels (the fonts are shipped; times are drawn in UTC from `state.now`). The trusted band, and INSECURE when
 * the chrome says so, are drawn last, over everything.
 *
 * @example
 * const r = render(state, TOUCH_800x480); r.texts.find((t) => t.id === 'title')?.text;
 */
export function render(state: ScreenState, layout: Layout): Rendered {
  const p = new Painter(layout);
  let pages = 1;
  switch (state.id) {
    case 'confirm-encrypt':
      pages = drawConfirmEncrypt(p, state);
      break;
    case 'confirm-decrypt':
      drawConfirmDecrypt(p, state);
      break;
    case 'received-message':
      pages = drawReceived(p, state);
      break;
    case 'home':
      drawHome(p, state);
      break;
    case 'alarm':
      drawAlarm(p, state);
      break;
    case 'setup':
      drawSetup(p, state);
      break;
    case 'pairing-start':
      drawPairingStart(p, state);
      break;
    case 'pairing-progress':
      drawPairingProgress(p, state);
      break;
    case 'pairing-compare':
      drawPairingCompare(p, state);
      break;
    case 'keyboard':
      drawKeyboard(p, state);
      break;
    case 'result':
      drawResult(p, state);
      break;
    case 'session-request':
      drawSessionRequest(p, state);
      break;
    case 'session-live':
      drawSessionLive(p, state);
      break;
  }
  drawChrome(p, state);
  return p.finish(state.id, pages);
}
