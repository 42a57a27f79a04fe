/**
 * Text from a customer file ends up in chat cards and SMS greetings, so it is cleaned
 * before it is stored: Unicode NFC, no control characters (NUL cannot be stored at all),
 * no bidirectional overrides or invisible characters that make text display differently
 * from what it is, and whitespace (including line breaks) collapsed to single spaces.
 */

// C0/C1 controls except tab/newline (those become spaces below). Matching controls is the point here.
// eslint-disable-next-line no-control-regex
const CONTROLS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/g;
// Bidi marks, embeddings, overrides and isolates; zero-width space, word joiner, BOM.
// ZWNJ/ZWJ (U+200C/D) stay: some scripts and emoji need them.
const INVISIBLE = /[\u200B\u200E\u200F\u202A-\u202E\u2060-\u2064\u2066-\u2069\uFEFF]/g;

// Most cells are plain printable ASCII: nothing to clean but spaces.
const PLAIN = /^[\x20-\x7E]*$/;

export function sanitizeText(input: string): string {
  if (PLAIN.test(input)) return input.includes('  ') ? input.replace(/ {2,}/g, ' ').trim() : input.trim();
  return input.normalize('NFC').replace(CONTROLS, '').replace(INVISIBLE, '').replace(/\s+/g, ' ').trim();
}
