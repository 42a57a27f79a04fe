/**
 * SMS encoding and segment counting, as carriers and Twilio count them: GSM-7 (with the
 * extension table, whose characters take two septets) unless any character needs UCS-2.
 * One segment holds 160 septets / 70 UCS-2 units; a concatenated message 153 / 67 per
 * segment, and a character is never split across segments. Verified against Twilio's
 * sms-segments-calculator in the tests.
 */
const GSM_BASIC =
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?' +
  '¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà';
const GSM_EXTENDED = '^{}\\[~]|€\f';

const basic = new Set(GSM_BASIC);
const extended = new Set(GSM_EXTENDED);

export type Encoding = 'GSM-7' | 'UCS-2';

export interface SegmentInfo {
  encoding: Encoding;
  segments: number;
  /** Septets (GSM-7) or UTF-16 code units (UCS-2). */
  units: number;
  /** The characters that forced UCS-2, if any (for the lint: "’ forces UCS-2"). */
  nonGsmChars: string[];
}

/** Price of one outbound segment (USD), for cost estimates; Twilio's US list price. */
export const SEGMENT_PRICE_USD = 0.0083;

export function gsmUnits(ch: string): 1 | 2 | 0 {
  if (basic.has(ch)) return 1;
  if (extended.has(ch)) return 2;
  return 0;
}

export function analyzeSms(text: string): SegmentInfo {
  const chars = Array.from(text); // code points: a surrogate pair is one character
  const nonGsm = new Set<string>();
  for (const ch of chars) if (gsmUnits(ch) === 0) nonGsm.add(ch);
  if (nonGsm.size === 0) {
    const sizes = chars.map((c) => gsmUnits(c));
    return { encoding: 'GSM-7', ...pack(sizes, 160, 153), nonGsmChars: [] };
  }
  const sizes = chars.map((c) => c.length); // UTF-16 units: 2 for astral characters (emoji)
  return { encoding: 'UCS-2', ...pack(sizes, 70, 67), nonGsmChars: [...nonGsm] };
}

function pack(sizes: number[], single: number, multi: number): { segments: number; units: number } {
  const units = sizes.reduce((a, b) => a + b, 0);
  if (units === 0) return { segments: 0, units };
  if (units <= single) return { segments: 1, units };
  let segments = 1;
  let used = 0;
  for (const s of sizes) {
    if (used + s > multi) {
      segments++;
      used = 0;
    }
    used += s;
  }
  return { segments, units };
}

export function estimateCostUsd(segments: number): number {
  return Math.round(segments * SEGMENT_PRICE_USD * 10_000) / 10_000;
}
