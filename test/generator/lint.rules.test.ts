import { describe, expect, it } from 'vitest';
import { defaultSettings, type CampaignSettings } from '../../src/campaigns/settings.ts';
import { loadConfig } from '../../src/config.ts';
import { lintMessage, measureMessage, offerTokens, withOptOutText, type CampaignBrief } from '../../src/generator/lint.ts';

const base = defaultSettings(loadConfig({}));
const OK = 'Hi Ann, we miss you at Bean There! Come back this week for 10% off any drink. -Sam\nReply STOP to opt out';

function lint(body: string, s: Partial<CampaignSettings> = {}, brief: CampaignBrief = { offer: '10% off any drink', brand: 'Bean There' }) {
  return lintMessage(body, { settings: { ...base, ...s }, brief });
}
const rules = (body: string, s?: Partial<CampaignSettings>, brief?: CampaignBrief) => lint(body, s, brief).map((f) => f.rule);

describe('lintMessage', () => {
  it('passes a clean message', () => {
    expect(lint(OK)).toEqual([]);
  });

  it('empty: flags empty text and empty bubbles', () => {
    expect(lint('   ')).toEqual([{ rule: 'empty', severity: 'error', message: 'The message is empty.' }]);
    expect(rules(`Hi! [BUBBLE] [BUBBLE] ${OK}`)).toContain('empty');
    expect(rules(OK)).not.toContain('empty');
  });

  it('segments: flags a bubble longer than maxSegments allows, counting per bubble', () => {
    const long = 'Come by soon. '.repeat(24) + 'Reply STOP to opt out'; // ~357 GSM chars = 3 segments
    expect(lint(long).find((f) => f.rule === 'segments')).toMatchObject({ severity: 'error', message: expect.stringContaining('3 SMS segments') });
    expect(rules(long, { maxSegments: 3 })).not.toContain('segments');
    const half = 'Come by soon. '.repeat(12);
    // Two bubbles of 2 segments each: each within maxSegments 2, 4 billed in total.
    expect(rules(`${half}[BUBBLE]${half}Reply STOP to opt out`)).not.toContain('segments');
    expect(measureMessage(`${half}[BUBBLE]${half}Reply STOP to opt out`).segments).toBe(4);
  });

  it('encoding: warns about characters that force UCS-2', () => {
    const curly = OK.replace('we miss', 'we’ll miss');
    expect(lint(curly).find((f) => f.rule === 'encoding')).toMatchObject({ severity: 'warning', message: expect.stringContaining('"’"') });
    expect(measureMessage(curly).encoding).toBe('UCS-2');
    expect(rules(OK)).not.toContain('encoding');
  });

  it('opt_out_missing: required wording, appended automatically when configured', () => {
    const bare = 'Hi Ann, come back for 10% off any drink.';
    expect(rules(bare)).toContain('opt_out_missing');
    expect(rules(bare, { requireOptOutText: false })).not.toContain('opt_out_missing');
    expect(rules('Hi Ann! Text STOP to unsubscribe.')).not.toContain('opt_out_missing');
    expect(withOptOutText(bare, base)).toBe(`${bare}\nReply STOP to opt out`);
    expect(withOptOutText(OK, base)).toBe(OK);
    expect(withOptOutText(bare, { ...base, requireOptOutText: false })).toBe(bare);
  });

  it('placeholder: flags {{x}}, {x} and [x] left in the text', () => {
    expect(lint(`Hi {{firstName}}! ${OK}`).find((f) => f.rule === 'placeholder')?.message).toContain('{{firstName}}');
    expect(rules(`Hi [First Name], ${OK}`)).toContain('placeholder');
    expect(rules(`Hi {name}, ${OK}`)).toContain('placeholder');
    expect(rules(`Hi Ann![BUBBLE]${OK}`)).not.toContain('placeholder');
  });

  it('link: flags links off the allowlist, accepts allowlisted hosts and their subdomains', () => {
    const withLink = `Order at https://evil.example.net/x ${OK}`;
    expect(lint(withLink).find((f) => f.rule === 'link')?.message).toContain('evil.example.net');
    expect(rules(`See beanthere.coffee/menu ${OK}`)).toContain('link');
    expect(rules(`See https://order.beanthere.coffee/menu ${OK}`, { linkAllowlist: ['beanthere.coffee'] })).not.toContain('link');
    expect(rules(`Open 7.30am daily! ${OK}`)).not.toContain('link');
  });

  it('phone_number: flags numbers off the allowlist', () => {
    expect(rules(`Call (415) 555-0199 ${OK}`)).toContain('phone_number');
    expect(rules(`Call +1 415 555 0199 ${OK}`, { linkAllowlist: ['+14155550199'] })).not.toContain('phone_number');
    expect(rules(`Only $12.50 for 2 ${OK}`, {}, { offer: '$12.50 for 2' })).not.toContain('phone_number');
  });

  it('banned_word: flags SHAFT defaults and the campaign list, as whole words', () => {
    expect(lint(`Free beers tonight! ${OK}`).find((f) => f.rule === 'banned_word')?.message).toContain('"beers"');
    expect(rules(`Try our vape bar ${OK}`)).toContain('banned_word');
    expect(rules(`Big winner prize ${OK}`, { bannedWords: ['winner'] })).toContain('banned_word');
    expect(rules(`Gunther says hi ${OK}`)).not.toContain('banned_word');
    expect(rules(OK, { bannedWords: ['winner'] })).not.toContain('banned_word');
  });

  it('offer_mismatch: flags percentages, amounts and "free" the brief does not offer', () => {
    const hundred = lint(OK.replace('10% off', '100% off')).find((f) => f.rule === 'offer_mismatch');
    expect(hundred).toMatchObject({ severity: 'error', message: expect.stringContaining('100% off') });
    expect(rules(OK.replace('10% off', '50 percent off'))).toContain('offer_mismatch');
    expect(rules(`Get a free cookie! ${OK}`)).toContain('offer_mismatch');
    expect(rules(`$5 off today. ${OK}`)).toContain('offer_mismatch');
    expect(rules(`Get a free cookie! ${OK}`, {}, { offer: '10% off any drink or a free cookie' })).not.toContain('offer_mismatch');
    expect(rules(`Feel free to stop by! ${OK}`)).not.toContain('offer_mismatch');
    expect(rules('Hi Ann, come see us! Reply STOP to opt out', {}, {})).not.toContain('offer_mismatch');
    expect(rules(OK, {}, {})).toContain('offer_mismatch');
  });

  it('offerTokens normalises the ways an offer is written', () => {
    expect(offerTokens('10% off, 10 percent, half price, $5.00, a FREE pastry, BOGO')).toEqual(['10%', '10%', '50%', '$5', 'free', 'bogo']);
  });
});
