import { describe, expect, it } from 'vitest';
import { classifyInbound, looksLikeOptOut } from '../../src/domain/keywords.ts';

/** The opt-out keywords carriers require, written out here (not read from the code under test). */
const STOP_KEYWORDS = ['STOP', 'STOPALL', 'UNSUBSCRIBE', 'CANCEL', 'END', 'QUIT', 'REVOKE', 'OPTOUT'];

describe('inbound keywords', () => {
  it.each(STOP_KEYWORDS.flatMap((k) => [k, k.toLowerCase(), ` ${k[0]}${k.slice(1).toLowerCase()}! `, `${k}.`, `"${k}"`]))(
    '%j opts out',
    (body) => expect(classifyInbound(body)).toBe('stop'),
  );
  it.each(['START', 'start', ' Unstop ', 'UNSTOP!'])('%j re-subscribes', (body) => expect(classifyInbound(body)).toBe('start'));
  it.each(['HELP', 'help?', ' Help. '])('%j asks for help', (body) => expect(classifyInbound(body)).toBe('help'));
  it.each(['stop texting me', 'Please stop', 'STOP IT NOW', 'thanks!', 'ending soon?', 'cancel my appointment'])(
    '%j is a reply, not a keyword',
    (body) => expect(classifyInbound(body)).toBe('reply'),
  );
  it.each(['stop texting me', 'Unsubscribe me please', 'remove me from this list', "don't text me again", 'wrong number'])(
    '%j is flagged as a likely opt-out',
    (body) => expect(looksLikeOptOut(body)).toBe(true),
  );
  it.each(['see you saturday!', 'can I book for 3pm?', 'stop by tomorrow?'])('%j is not flagged', (body) =>
    expect(looksLikeOptOut(body)).toBe(false),
  );
});
