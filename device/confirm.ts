/**
 * The engine's confirmation interface: before anything is encrypted (and, when the user turned it on, before
 * anything is decrypted), the engine asks the user through this interface and acts only on `approved`.
 *
 * The touchscreen's confirmation service (display/) implements it on the device; tests use a scripted one;
 * a simulated, insecure device may use {@link autoApprove}. Implementations must:
 * - show exactly the request they were given and return the decision for that request only;
 * - return `timeout` when the user does not decide in time, `busy` when their queue is full;
 * - never throw for a user's decision (throwing is for faults of the implementation itself).
 */

/** What the user is asked to approve before a message is encrypted. */
export interface EncryptRequest {
  readonly kind: 'encrypt';
  /** The contact the message is for. */
  readonly contact: string;
  /** The plaintext the user must see. The confirmer must not keep or log it. */
  readonly plaintext: Uint8Array;
  /** Pad bytes this message costs (L + 32). */
  readonly cost: number;
  /** Bytes left in the sender's region after this message. */
  readonly remainingAfter: number;
  /** About how many typical messages that is. */
  readonly messagesLeftAfter: number;
  /** A short fingerprint of the message (hex of a hash), to compare with the laptop's display. */
  readonly fingerprint: string;
  /** The pad's entropy was simulated or seeded: the screen must say INSECURE. */
  readonly insecure: boolean;
}

/** What the user is asked before a received package is decrypted (only when confirmDecrypt is on). */
export interface DecryptRequest {
  readonly kind: 'decrypt';
  /** The contact the package comes from. */
  readonly contact: string;
  /** Length of the plaintext, in bytes (the plaintext is not yet decrypted). */
  readonly length: number;
  readonly insecure: boolean;
}

export type ConfirmRequest = EncryptRequest | DecryptRequest;

/** The user's decision, or why there is none. */
export type ConfirmDecision = 'approved' | 'denied' | 'timeout' | 'busy';

/**
 * What the owner is asked before a pipe session (onepad pipe) starts: the peer, a budget of pad bytes and a time
 * limit (both of which the owner may change on the screen), the frame size when every frame is padded, and what
 * the pad has left. Inside an approved session, packaging needs no further approval.
 */
export interface SessionRequest {
  readonly kind: 'session';
  readonly contact: string;
  /** Pad bytes the laptop asks the session may use (key slots and key stream). */
  readonly budgetBytes: number;
  /** Seconds the laptop asks the session may run. */
  readonly timeLimitSec: number;
  /** Every frame is padded to this many bytes (it costs pad: frameSize + 32 per frame), or null for no padding. */
  readonly frameSize: number | null;
  /** What this device can still send on the pad. */
  readonly padLeft: number;
  readonly keySlotsLeft: number;
  readonly streamLeft: number;
  readonly insecure: boolean;
}

/** The owner's answer to a {@link SessionRequest}: approved with the budget and time limit chosen on screen. */
export type SessionDecision =
  | { readonly decision: 'approved'; readonly budgetBytes: number; readonly timeLimitSec: number }
  | { readonly decision: Exclude<ConfirmDecision, 'approved'> };

/** Why a pipe session ended. */
export type SessionEndReason = 'budget' | 'time' | 'stopped' | 'idle' | 'closed' | 'pad' | 'shutdown' | 'error';

/** A pipe session as the device's screen shows it live (no pad bytes, no plaintext). */
export interface SessionView {
  readonly id: string;
  readonly contact: string;
  readonly budgetBytes: number;
  /** Pad bytes given up so far: every chunk reserved (used or not). */
  readonly usedBytes: number;
  /** Payload bytes packaged and unpackaged (before padding). */
  readonly sentBytes: number;
  readonly receivedBytes: number;
  readonly framesSent: number;
  readonly framesReceived: number;
  readonly frameSize: number | null;
  /** When the time limit ends it (ms since the epoch). */
  readonly expiresAt: number;
  readonly state: 'running' | 'ended';
  readonly endReason: SessionEndReason | null;
  readonly insecure: boolean;
}

/** The confirmation interface the engine is given. */
export interface Confirmer {
  /**
   * Ask the user about one request and resolve with the decision for that request.
   * @param req - the request to show
   * @param signal - aborted when the caller no longer needs an answer (e.g. shutdown); resolve `timeout` then
   */
  confirm(req: ConfirmRequest, signal?: AbortSignal): Promise<ConfirmDecision>;
  /**
   * Optional: told how many requests wait in front of the confirmer (the link server's queue, one request at a
   * time), so the screen can say how many more are coming.
   */
  waitingOutside?(n: number): void;
  /**
   * Optional: ask the owner to approve a pipe session, showing the request and letting the owner change its budget
   * and time limit. Without it the device opens no sessions (SESSION_UNAVAILABLE).
   */
  confirmSession?(req: SessionRequest, signal?: AbortSignal): Promise<SessionDecision>;
  /**
   * Optional: told every change of the running session (and once when it ends) so the screen shows it live;
   * `stop` ends it (the screen's Stop button).
   */
  showSession?(view: SessionView, stop: () => void): void;
}

/** A confirmer that approves everything. Only for simulated, insecure devices and benchmarks. */
export const autoApprove: Confirmer = {
  confirm: async () => 'approved',
  confirmSession: async (req) => ({
    decision: 'approved',
    budgetBytes: req.budgetBytes,
    timeLimitSec: req.timeLimitSec,
  }),
};
