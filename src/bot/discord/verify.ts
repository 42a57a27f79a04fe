/**
 * Discord signs every HTTP interaction with the application's Ed25519 key: the signature
 * (hex, header X-Signature-Ed25519) covers the timestamp header followed by the raw body.
 * Checked with node:crypto alone: the portal shows the 32-byte raw public key in hex, and
 * node imports it as a DER SubjectPublicKeyInfo with the fixed Ed25519 prefix.
 */
import { createPublicKey, verify, type KeyObject } from 'node:crypto';

/** SEQUENCE { SEQUENCE { OID 1.3.101.112 (Ed25519) } BIT STRING (32 bytes follow) } */
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/** Turns the portal's hex public key into a key object; throws a clear error when it is not one. */
export function importDiscordPublicKey(hex: string): KeyObject {
  const raw = Buffer.from(hex.trim(), 'hex');
  if (raw.length !== 32 || raw.toString('hex') !== hex.trim().toLowerCase()) {
    throw new Error(
      'DISCORD_PUBLIC_KEY must be the 64 hex characters shown as "Public Key" on the Discord developer portal (General Information).',
    );
  }
  return createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
}

/**
 * True when `signatureHex` is the Ed25519 signature of timestamp + rawBody under `key`.
 * Malformed input (missing headers, bad hex, wrong length) is simply not a valid signature.
 */
export function verifyDiscordSignature(
  key: KeyObject,
  signatureHex: string | undefined,
  timestamp: string | undefined,
  rawBody: Buffer,
): boolean {
  if (!signatureHex || !timestamp || !/^[0-9a-f]{128}$/i.test(signatureHex)) return false;
  try {
    return verify(null, Buffer.concat([Buffer.from(timestamp, 'utf8'), rawBody]), key, Buffer.from(signatureHex, 'hex'));
  } catch {
    return false;
  }
}

/** How far a request's signed timestamp may be from now (Slack's Bolt allows the same). */
export const MAX_TIMESTAMP_SKEW_SECONDS = 5 * 60;

/**
 * Whether the signed timestamp (unix seconds) is within MAX_TIMESTAMP_SKEW_SECONDS of now.
 * A signature stays valid for ever, so without this a captured request could be replayed
 * once its id is no longer remembered (handled ids are kept a day, far longer than this).
 */
export function isFreshTimestamp(timestamp: string | undefined, nowMs: number): boolean {
  if (!timestamp || !/^\d{1,12}$/.test(timestamp)) return false;
  return Math.abs(nowMs / 1000 - Number(timestamp)) <= MAX_TIMESTAMP_SKEW_SECONDS;
}
