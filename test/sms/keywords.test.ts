import { describe, expect, it } from 'vitest';
import { classifyInbound, looksLikeOptOut } from '../../src/domain/keywords.ts';

/** The opt-out keywords carriers require, written out here (not read from the code under test). */
const STOP_KEYWORDS = ['STOP', 'STOPALL', 'UNSUBSCRIBE', 'CANCEL', 'END', 'QUIT', 'REVOKE', 'OPTOUT'];

/** A person asking to stop in the fewest words there are: not the bare keyword, so not an opt-out. */
const STOP_IN_WORDS = ['STOP STOP', 'Stop please', 'Please stop', 'STOP IT NOW', 'stop!!! stop!!!', 'Unsubscribe please'];

describe('inbound keywords', () => {
  it.each(STOP_KEYWORDS.flatMap((k) => [k, k.toLowerCase(), ` ${k[0]}${k.slice(1).toLowerCase()}! `, `${k}.`, `"${k}"`]))(
    '%j opts out',
    (body) => expect(classifyInbound(body)).toBe('stop'),
  );
  it.each(['ＳＴＯＰ', '𝐒𝐓𝐎𝐏', 'S\u200bTOP', 'stop 🛑', 'opt-out', 'Ｑｕｉｔ'])(
    '%j opts out (full-width, styled, invisible and emoji characters never hide a keyword)',
    (body) => expect(classifyInbound(body)).toBe('stop'),
  );
  it.each(['ЅТОР', 'ѕтор', 'SΤΟP', 'ЅТОР!', 'ОРТОUТ', 'QUІТ'])('%j opts out (Cyrillic or Greek letters drawn like Latin ones)', (body) =>
    expect(classifyInbound(body)).toBe('stop'),
  );
  it.each(['СТОП', 'стоп', 'Спасибо', 'ΣΤΟΠ'])('%j (a word of its own language) is a reply', (body) => expect(classifyInbound(body)).toBe('reply'));
  it.each(['START', 'start', ' Unstop ', 'UNSTOP!'])('%j re-subscribes', (body) => expect(classifyInbound(body)).toBe('start'));
  it.each(['HELP', 'help?', ' Help. '])('%j asks for help', (body) => expect(classifyInbound(body)).toBe('help'));
  it.each(['stop texting me', ...STOP_IN_WORDS, 'thanks!', 'ending soon?', 'cancel my appointment'])(
    '%j is a reply, not a keyword',
    (body) => expect(classifyInbound(body)).toBe('reply'),
  );
});

describe('likely opt-outs (flagged for a human, never recorded as opt-outs)', () => {
  it.each(['stop texting me', 'Unsubscribe me please', 'remove me from this list', "don't text me again", 'wrong number'])(
    '%j is flagged',
    (body) => expect(looksLikeOptOut(body)).toBe(true),
  );
  it.each([...STOP_IN_WORDS, 'Stop, thank you.', 'just stop', 'I said STOP', 'Cancel please', 'END IT', 'quit it pls', 'No. Stop.', 'ＳＴＯＰ ＰＬＥＡＳＥ', 'ЅТОР please'])(
    '%j (a stop keyword with only filler around it) is flagged',
    (body) => expect(looksLikeOptOut(body)).toBe(true),
  );
  it.each(['how do I unsubscribe?', 'I want to unsubscribe from these'])('%j (unsubscribe anywhere) is flagged', (body) =>
    expect(looksLikeOptOut(body)).toBe(true),
  );
  it.each([
    'see you saturday!',
    'can I book for 3pm?',
    'stop by tomorrow?',
    "Can't stop smiling, thanks!",
    'I need to cancel my appointment',
    'cancel my appointment',
    'Can I cancel and rebook for Friday?',
    'Does the sale end this week?',
    'See you at the end of the month',
    'I quit smoking thanks to you!',
    'Where is the nearest bus stop?',
    'Thank you!',
    'yes please',
    'no thanks',
    'ok',
    '',
    '👍',
  ])('%j is not flagged', (body) => expect(looksLikeOptOut(body)).toBe(false));
});
