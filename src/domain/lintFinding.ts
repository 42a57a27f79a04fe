/** One finding of the message lint, stored with the message and shown on its card. */
export interface LintFinding {
  /** Stable rule id, e.g. 'segments', 'opt_out_missing', 'placeholder', 'link', 'banned_word', 'offer_mismatch'. */
  rule: string;
  /** error: must be fixed before approval is sensible; warning: a human should look; info: facts. */
  severity: 'error' | 'warning' | 'info';
  message: string;
}
