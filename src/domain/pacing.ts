/**
 * Human-like pacing, deterministic: the pause after a message is drawn from a PRNG seeded
 * by the campaign seed and the message id, so re-planning the same messages with the same
 * settings gives the same gaps, and no message's gap depends on what came before it.
 */

export interface PacingSettings {
  gapMinSeconds: number;
  gapMaxSeconds: number;
  skipProbability: number;
  skipMinSeconds: number;
  skipMaxSeconds: number;
}

export interface Gap {
  /** Seconds until the next send may start. */
  seconds: number;
  /** Whether an extra (longer) pause was drawn. */
  pause: boolean;
}

/** mulberry32: a tiny, fast, well-distributed 32-bit PRNG. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    return mulberryOutput(a);
  };
}

/** mulberry32's output in [0, 1) for state `a`. */
function mulberryOutput(a: number): number {
  let t = a;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

function mix(seed: number, key: number): number {
  // Fold a (possibly > 2^32) id into the seed with a multiplicative hash.
  const lo = key >>> 0;
  const hi = Math.floor(key / 4294967296) >>> 0;
  let h = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(lo, 0xc2b2ae35) ^ Math.imul(hi, 0x27d4eb2f);
  h ^= h >>> 16;
  return h >>> 0;
}

function between(u: number, min: number, max: number): number {
  return min + Math.floor(u * (max - min + 1));
}

/** The gap that follows message `key`: gapMin..gapMax, plus skipMin..skipMax with probability skipProbability. */
export function drawGap(seed: number, key: number, p: PacingSettings): Gap {
  // mulberry32 unrolled (no closure per call: the planner draws one gap per message).
  let a = mix(seed, key);
  a = (a + 0x6d2b79f5) >>> 0;
  const gap = between(mulberryOutput(a), p.gapMinSeconds, p.gapMaxSeconds);
  a = (a + 0x6d2b79f5) >>> 0;
  const pause = mulberryOutput(a) < p.skipProbability;
  if (!pause) return { seconds: gap, pause };
  a = (a + 0x6d2b79f5) >>> 0;
  return { seconds: gap + between(mulberryOutput(a), p.skipMinSeconds, p.skipMaxSeconds), pause };
}
