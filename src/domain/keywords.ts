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

/**
 * Cyrillic and Greek capitals drawn like Latin ones: "ЅТОР" reads STOP to whoever typed it
 * (a phone keyboard in another layout, or text pasted from elsewhere), so it counts as STOP.
 */
const LOOKALIKES: Readonly<Record<string, string>> = {
  А: 'A', В: 'B', Е: 'E', Ѕ: 'S', І: 'I', Ј: 'J', К: 'K', М: 'M', Н: 'H', О: 'O', Р: 'P', С: 'C', Т: 'T', У: 'Y', Х: 'X',
  Α: 'A', Β: 'B', Ε: 'E', Ζ: 'Z', Η: 'H', Ι: 'I', Κ: 'K', Μ: 'M', Ν: 'N', Ο: 'O', Ρ: 'P', Τ: 'T', Υ: 'Y', Χ: 'X',
};

/** Upper case, with look-alike Cyrillic and Greek capitals read as the Latin ones. */
function latinUpper(s: string): string {
  return s.toUpperCase().replace(/[\u0370-\u03ff\u0400-\u04ff]/g, (c) => LOOKALIKES[c] ?? c);
}

/** "  Stop!! " -> "STOP"; letters only, so punctuation and spacing never hide a keyword. */
export function keywordOf(body: string): string {
  return latinUpper(body.normalize('NFKC').replace(/[^\p{L}\p{N}]+/gu, ''));
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
  /\b(remove|take)\s+me\b/i,
  /\bunsubscrib/i, // the word has no other meaning: "how do I unsubscribe?", "I want to unsubscribe"
  /\bdon'?t\s+(text|message|contact)\s+me\b/i,
  /\bdo\s+not\s+(text|message|contact)\s+me\b/i,
  /\bno\s+more\s+(texts|messages|sms)\b/i,
  /\b(opt|opting)\s*-?\s*out\b/i,
  /\bleave\s+me\s+alone\b/i,
  /\bwrong\s+number\b/i,
];

/** Words that ask for nothing of their own: politeness, emphasis, pronouns. */
const FILLER = new Set(['PLEASE', 'PLS', 'PLZ', 'THANKS', 'THANK', 'YOU', 'THX', 'TY', 'IT', 'THIS', 'THESE', 'THEM', 'NOW', 'ASAP', 'JUST', 'ALL', 'ME', 'I', 'SAID', 'NO']);

/** "Stop, please!!" -> ["STOP", "PLEASE"]; invisible characters and apostrophes join, anything else not a letter or digit splits. */
function wordsOf(body: string): string[] {
  return latinUpper(body.normalize('NFKC').replace(/[\p{Cf}'’]/gu, ''))
    .split(/[^\p{L}\p{N}]+/u)
    .filter(Boolean);
}

/** A free-text reply that reads like an opt-out request: flagged so a human acts on it. */
export function looksLikeOptOut(body: string): boolean {
  const text = body.normalize('NFKC');
  if (LIKELY_OPT_OUT.some((re) => re.test(text))) return true;
  // A stop keyword with only filler around it ("Stop please", "STOP IT NOW") asks for nothing else; "stop by tomorrow?" or "cancel my appointment" do.
  const words = wordsOf(body);
  return words.some((w) => STOP.has(w)) && words.every((w) => STOP.has(w) || FILLER.has(w));
}
