import { describe, expect, it } from 'vitest';
import { defaultSettings, type CampaignSettings } from '../../src/campaigns/settings.ts';
import { loadConfig } from '../../src/config.ts';
import { lintMessage, type CampaignBrief } from '../../src/generator/lint.ts';

const base = defaultSettings(loadConfig({}));
const OK = 'Come back this week for 10% off any drink. -Sam\nReply STOP to opt out';
const brief: CampaignBrief = { offer: '10% off any drink', brand: 'Bean There' };

function lint(body: string, s: Partial<CampaignSettings> = {}) {
  return lintMessage(`${body} ${OK}`, { settings: { ...base, ...s }, brief });
}
const find = (body: string, rule: string, s?: Partial<CampaignSettings>) => lint(body, s).filter((f) => f.rule === rule);

describe('lint: links', () => {
  it.each([
    ['prizes.top/x', 'prizes.top'],
    ['claim at prizes.top', 'prizes.top'],
    ['Tap bit.ly/3xYz now', 'bit.ly'],
    ['See bit.ly', 'bit.ly'],
    ['Go to claim.example.zzzz/path', 'claim.example.zzzz'],
    ['Win at lucky.casino/spin', 'lucky.casino'],
    ['Visit https://evil.example.net/x', 'evil.example.net'],
    ['Visit hxxps://evil.example.quux now', 'evil.example.quux'],
    ['Visit https://beanthere.coffee@evil.example.quux/x', 'evil.example.quux'],
    ['Visit www.whatever.anything today', 'whatever.anything'],
    ['Visit WWW.Prizes.Top.', 'prizes.top'],
    ['Open http://45.33.12.9:8080/x', '45.33.12.9'],
    ['Email win@prizes.top', 'prizes.top'],
    ['Winner! prizes.top.', 'prizes.top'],
    ['Winner! prizes.top.casino today', 'prizes.top.casino'],
  ])('flags %j', (body, host) => {
    const links = find(body, 'link');
    expect(links).toHaveLength(1);
    expect(links[0]).toMatchObject({ severity: 'error', message: expect.stringContaining(`Link to ${host} `) });
  });

  it.each([
    'Try a latte, e.g. oat or almond.',
    'Only 10.5 oz of joy.',
    'Open 7 a.m. to 5 p.m. daily, 7.30am on Sat.',
    'Thanks Mr.Smith and Ms.Jones!',
    'Our St.Louis store is open.',
    'Hours: Mon.-Fri. 8-5, Sat./Sun. 9-3.',
    'Approx. 2 min. walk from the U.S. Bank, i.e. next door.',
    'Try our v2.0 rewards card (no. 1 in town).',
    'Only $4.50/cup and 1/2 off pastries and/or cookies.',
    'Open late.Come by,see you.Bye!',
  ])('does not flag ordinary text %j', (body) => {
    expect(find(body, 'link')).toEqual([]);
  });

  it('accepts an allowlisted host, its subdomains and any path on it', () => {
    const s = { linkAllowlist: ['beanthere.coffee'] };
    expect(find('See beanthere.coffee/menu', 'link', s)).toEqual([]);
    expect(find('See https://order.beanthere.coffee/menu?x=1', 'link', s)).toEqual([]);
    expect(find('See www.beanthere.coffee.', 'link', s)).toEqual([]);
    expect(find('See beanthere.coffee.evil.top/x', 'link', s)).toHaveLength(1);
  });
});

describe('lint: phone numbers', () => {
  it.each([
    ['Call +44 20 7946 0958', '+442079460958'],
    ['Call +442079460958', '+442079460958'],
    ['Call +33 1 23 45 67 89', '+33123456789'],
    ['Call +49 (30) 1234-5678', '+493012345678'],
    ['Call +1 415 555 0199', '4155550199'],
    ['Call (415) 555-0199', '4155550199'],
    ['Call 415.555.0199', '4155550199'],
  ])('flags %j', (body, shown) => {
    const phones = find(body, 'phone_number');
    expect(phones).toHaveLength(1);
    expect(phones[0]).toMatchObject({ severity: 'error', message: expect.stringContaining(`Phone number ${shown} `) });
  });

  it('reports a number written twice, with and without +1, once', () => {
    expect(find('Call +1 415 555 0199 or (415) 555-0199', 'phone_number')).toHaveLength(1);
  });

  it.each([
    'Only $12.50 for 2 lattes, was $1,299.99 in 2024.',
    'See you 12/05/2024 at 10:30, or 2024-12-05.',
    'Earn +100 points, +25% more stars.',
    'Order #1234567 is ready; 3 + 4 = 7.',
    'Room 20 7946, box 0958.',
  ])('does not flag %j', (body) => {
    expect(find(body, 'phone_number')).toEqual([]);
  });

  it('accepts allowlisted numbers, international ones included, by their digits', () => {
    expect(find('Call +44 20 7946 0958', 'phone_number', { linkAllowlist: ['+44 20 7946 0958'] })).toEqual([]);
    expect(find('Call +44 20 7946 0958', 'phone_number', { linkAllowlist: ['+442079460958'] })).toEqual([]);
    expect(find('Call +33 20 7946 0958', 'phone_number', { linkAllowlist: ['+44 20 7946 0958'] })).toHaveLength(1);
    expect(find('Call (415) 555-0199', 'phone_number', { linkAllowlist: ['+1 415 555 0199'] })).toEqual([]);
    expect(find('Call +1 415 555 0199', 'phone_number', { linkAllowlist: ['415-555-0199'] })).toEqual([]);
  });
});
