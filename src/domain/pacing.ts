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
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
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
  const rnd = mulberry32(mix(seed, key));
  const gap = between(rnd(), p.gapMinSeconds, p.gapMaxSeconds);
  const pause = rnd() < p.skipProbability;
  return { seconds: pause ? gap + between(rnd(), p.skipMinSeconds, p.skipMaxSeconds) : gap, pause };
}
