/** A message may hold several chat-like bubbles separated by [BUBBLE]: each goes out as its own SMS, in order. */
export const BUBBLE_SEPARATOR = '[BUBBLE]';

export function splitBubbles(body: string): string[] {
  const parts = body
    .split(BUBBLE_SEPARATOR)
    .map((p) => p.trim())
    .filter(Boolean);
  return parts.length ? parts : [body.trim()];
}
