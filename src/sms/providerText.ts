/**
 * A text as the provider may show it back. Twilio's Smart Encoding (a Messaging Service
 * setting) transliterates a long table of characters (curly quotes, primes, accents used as
 * apostrophes, dashes, bullets, fractions, odd spaces) and its list shows the text as sent:
 * a message that went would look absent and go again. Texts are compared by their letters
 * and digits alone, which no transliteration of punctuation changes; two different texts to
 * one number rarely differ by punctuation only, and when both are open the rival check
 * (same comparison) sends both to a person.
 */
import { splitBubbles } from './bubbles.ts';

/** What a test send's text begins with (`/campaign test`): never a campaign message's SMS. */
export const TEST_SEND_PREFIX = '[TEST] ';

/**
 * The letters and digits of `text`, in order, after compatibility folding (full-width, "½" ->
 * "1⁄2"). Modifier letters are left out: apostrophes and primes (ʻ ʼ ʹ ˈ) are among them.
 */
export function smsSkeleton(text: string): string {
  return text.normalize('NFKC').replace(/[^\p{L}\p{N}]|\p{Lm}/gu, '');
}

/** Whether the provider's `shown` text is one of the SMS of a message with this `body` (its bubbles). */
export function isTextOf(shown: string, body: string): boolean {
  return splitBubbles(body).some((b) => sameSmsText(shown, b));
}

/** Whether the provider's `shown` text is `sent`, as far as the provider's transliteration goes. */
export function sameSmsText(shown: string, sent: string): boolean {
  const a = smsSkeleton(sent);
  // A text of symbols alone (no letter or digit) is compared as it is.
  return a === '' ? shown.trim() === sent.trim() : smsSkeleton(shown) === a;
}
