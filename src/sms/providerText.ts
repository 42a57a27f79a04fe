/**
 * A text as the provider may show it back. Twilio's Smart Encoding (a Messaging Service
 * setting) sends curly quotes, long dashes and odd spaces as their plain forms, and its list
 * shows the text as sent: reconciliation compares texts folded the same way, or a message
 * that went would look absent and go again.
 */
/** What a test send's text begins with (`/campaign test`): never a campaign message's SMS. */
export const TEST_SEND_PREFIX = '[TEST] ';

const PLAIN: [RegExp, string][] = [
  [/[\u2018\u2019\u201A\u201B\u2032\u02BC]/g, "'"],
  [/[\u201C\u201D\u201E\u201F\u2033\u00AB\u00BB]/g, '"'],
  [/[\u2010\u2011\u2012\u2013\u2014\u2015\u2212]/g, '-'],
  [/\u200B|\u200C|\u200D|\u2060|\uFEFF/g, ''], // zero-width (a joiner cannot sit in a character class)
];

/** `text` with compatibility forms (full-width letters, "…", no-break spaces) and smart punctuation made plain, spaces collapsed. */
export function foldForMatch(text: string): string {
  let t = text.normalize('NFKC');
  for (const [re, to] of PLAIN) t = t.replace(re, to);
  return t.replace(/\s+/g, ' ').trim();
}

/** Whether the provider's `shown` text is `sent`, as far as the provider's changes go. */
export function sameSmsText(shown: string, sent: string): boolean {
  return foldForMatch(shown) === foldForMatch(sent);
}
