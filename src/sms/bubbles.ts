/**
 * A message may hold several chat-like bubbles separated by [BUBBLE] (any case, spaces
 * around it ignored): each goes out as its own SMS, in order. Lint and sending split alike.
 */
const BUBBLE_SEPARATOR = /\s*\[BUBBLE\]\s*/i;

/** Every part between separators, empty ones included (lint reports those). */
export function bubbleParts(body: string): string[] {
  return body.split(BUBBLE_SEPARATOR);
}

/** The SMS a body is sent as: its non-empty parts, trimmed. */
export function splitBubbles(body: string): string[] {
  const parts = bubbleParts(body)
    .map((p) => p.trim())
    .filter(Boolean);
  return parts.length ? parts : [body.trim()];
}
