/**
 * The SMS provider seam (Twilio, or the local outbox). Providers get their credentials
 * in the constructor and never read the environment.
 */
export interface OutboundSms {
  to: string;
  body: string;
  /** Our message id, for logs and the outbox; never sent to the recipient. Absent for HELP answers and test sends. */
  messageId?: number;
  /** 0-based index when a message has several [BUBBLE]s. */
  bubble?: number;
}

export interface SentSms {
  providerMessageId: string;
  acceptedAt: Date;
  /** The provider's status at acceptance ('queued', 'accepted'; 'delivered' for the local outbox). */
  status: string;
}

export type SendErrorKind =
  /** The number has opted out at the provider (Twilio 21610): record the opt-out, cancel. */
  | 'opted_out'
  /** Will never succeed as is (invalid number, ...): mark failed with the code. */
  | 'permanent'
  /** May or may not have been sent (429, 5xx, timeout, dropped connection): reconcile, never blind-retry. */
  | 'unknown';

export class SmsSendError extends Error {
  constructor(
    readonly kind: SendErrorKind,
    readonly providerCode: string | undefined,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'SmsSendError';
  }
}

/** A message the provider knows about, for reconciliation. */
export interface ProviderMessage {
  providerMessageId: string;
  to: string;
  body: string;
  status: string;
  dateCreated: Date;
  /** Twilio's word: 'outbound-api' (sent through the API), 'outbound-reply' (an answer to an inbound SMS: never a campaign message). */
  direction?: string;
}

export interface SmsProvider {
  readonly name: string;
  /** Sends one SMS; throws SmsSendError. */
  send(msg: OutboundSms): Promise<SentSms>;
  /** Messages sent to `to` since `since` (reconciliation of `unknown` attempts). */
  listSent(to: string, since: Date): Promise<ProviderMessage[]>;
}
