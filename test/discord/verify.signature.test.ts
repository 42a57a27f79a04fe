import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { importDiscordPublicKey, verifyDiscordSignature } from '../../src/bot/discord/verify.ts';

/** The 32-byte raw public key in hex, as the developer portal shows it. */
const rawPublicKeyHex = (k: KeyObject) => k.export({ format: 'der', type: 'spki' }).subarray(-32).toString('hex');

describe('Discord Ed25519 request signatures', () => {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const key = importDiscordPublicKey(rawPublicKeyHex(publicKey));
  const body = Buffer.from(JSON.stringify({ type: 1 }));
  const timestamp = '1767225600';
  const signature = sign(null, Buffer.concat([Buffer.from(timestamp), body]), privateKey).toString('hex');

  it('accepts the signature of timestamp + raw body made with the application key', () => {
    expect(verifyDiscordSignature(key, signature, timestamp, body)).toBe(true);
  });

  it('refuses another key, another timestamp, another body, and missing or malformed headers', () => {
    const other = generateKeyPairSync('ed25519').privateKey;
    const forged = sign(null, Buffer.concat([Buffer.from(timestamp), body]), other).toString('hex');
    expect(verifyDiscordSignature(key, forged, timestamp, body)).toBe(false);
    expect(verifyDiscordSignature(key, signature, '1767225601', body)).toBe(false);
    expect(verifyDiscordSignature(key, signature, timestamp, Buffer.from(JSON.stringify({ type: 2 })))).toBe(false);
    expect(verifyDiscordSignature(key, undefined, timestamp, body)).toBe(false);
    expect(verifyDiscordSignature(key, signature, undefined, body)).toBe(false);
    expect(verifyDiscordSignature(key, 'zz' + signature.slice(2), timestamp, body)).toBe(false);
    expect(verifyDiscordSignature(key, signature.slice(0, 64), timestamp, body)).toBe(false);
  });

  it('names the fix when DISCORD_PUBLIC_KEY is not a 32-byte hex key', () => {
    expect(() => importDiscordPublicKey('abc')).toThrow(/64 hex characters/);
    expect(() => importDiscordPublicKey('g'.repeat(64))).toThrow(/developer portal/);
  });
});
