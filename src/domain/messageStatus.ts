/** The life of a campaign message, as data. Every status change is one of these edges. */
export const MESSAGE_STATUSES = [
  'suggested',
  'approved',
  'rejected',
  'sending',
  'sent',
  'delivered',
  'undelivered',
  'failed',
  'unknown',
  'cancelled',
  'needs_review',
] as const;

export type MessageStatus = (typeof MESSAGE_STATUSES)[number];

export const TRANSITIONS: Readonly<Record<MessageStatus, readonly MessageStatus[]>> = {
  suggested: ['approved', 'rejected', 'cancelled'],
  // needs_review: its slot passed by more than the allowed lateness; a human must look again.
  approved: ['sending', 'cancelled', 'needs_review', 'suggested'],
  rejected: ['suggested'],
  // cancelled from sending: the provider refused the number as opted out (Twilio 21610).
  // approved from sending: its window closed before the provider call (back on the timeline).
  sending: ['sent', 'failed', 'unknown', 'cancelled', 'approved'],
  sent: ['delivered', 'undelivered', 'failed'],
  // A late 'undelivered' can follow 'delivered' on some carriers; nothing else leaves it.
  delivered: ['undelivered'],
  undelivered: ['delivered'],
  failed: [],
  // Reconciliation: found at the provider (sent), confirmed absent (approved, may send
  // again), or a human must decide (needs_review).
  unknown: ['sent', 'approved', 'failed', 'needs_review', 'cancelled'],
  cancelled: [],
  // sent: a person found its SMS in the provider's log (reconciliation could not tell).
  needs_review: ['approved', 'rejected', 'cancelled', 'sent'],
};

/** Statuses in which the message may still go out (what cancel, pause and STOP act on). */
export const PENDING_STATUSES: readonly MessageStatus[] = ['suggested', 'approved', 'needs_review'];
/** Statuses after which the text can no longer change. */
export const LOCKED_STATUSES: readonly MessageStatus[] = [
  'sending',
  'sent',
  'delivered',
  'undelivered',
  'failed',
  'unknown',
  'cancelled',
];
/** Statuses that mean the provider accepted the message. */
export const SENT_STATUSES: readonly MessageStatus[] = ['sent', 'delivered', 'undelivered'];

export function canTransition(from: MessageStatus, to: MessageStatus): boolean {
  return TRANSITIONS[from].includes(to);
}
