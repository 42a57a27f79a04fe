/**
 * Inbound SMS keywords as carriers and the CTIA handbook define them: a message that is
 * only the keyword (any case, surrounding spaces or punctuation) opts out, opts back in
 * or asks for help. Longer replies that ask the same in words are flagged for a human.
 */

export type InboundKind = 'stop' | 'start' | 'help' | 'reply';

export const STOP_KEYWORDS = ['STOP', 'STOPALL', 'UNSUBSCRIBE', 'CANCEL', 'END', 'QUIT', 'REVOKE', 'OPTOUT'] as const;
export const START_KEYWORDS = ['START', 'UNSTOP'] as const;
export const HELP_KEYWORDS = ['HELP'] as const;

const STOP = new Set<string>(STOP_KEYWORDS);
const START = new Set<string>(START_KEYWORDS);
const HELP = new Set<string>(HELP_KEYWORDS);

/** "  Stop!! " -> "STOP"; letters only, so punctuation and spacing never hide a keyword. */
export function keywordOf(body: string): string {
  return body
    .normalize('NFKC')
    .replace(/[^\p{L}\p{N}]+/gu, '')
    .toUpperCase();
}

export function classifyInbound(body: string): InboundKind {
  const k = keywordOf(body);
  if (STOP.has(k)) return 'stop';
  if (START.has(k)) return 'start';
  if (HELP.has(k)) return 'help';
  return 'reply';
}

const LIKELY_OPT_OUT = [
  /\bstop\s+(texting|messaging|sending|contacting)\b/i,
  /\b(unsubscribe|remove|take)\s+me\b/i,
  /\bdon'?t\s+(text|message|contact)\s+me\b/i,
  /\bdo\s+not\s+(text|message|contact)\s+me\b/i,
  /\bno\s+more\s+(texts|messages|sms)\b/i,
  /\b(opt|opting)\s*-?\s*out\b/i,
  /\bleave\s+me\s+alone\b/i,
  /\bwrong\s+number\b/i,
];

/** A free-text reply that reads like an opt-out request: flagged so a human acts on it. */
export function looksLikeOptOut(body: string): boolean {
  return LIKELY_OPT_OUT.some((re) => re.test(body));
}
