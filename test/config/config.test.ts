import { describe, expect, it } from 'vitest';
import { ConfigError, defaultSurface, loadConfig, parseDays, parseTimeWindow } from '../../src/config.ts';

describe('config', () => {
  it('runs on embedded defaults with an empty environment', () => {
    const c = loadConfig({});
    expect(c.database).toEqual({ kind: 'pglite', dataDir: expect.stringMatching(/data$/) });
    expect(c.http).toMatchObject({ host: '127.0.0.1', port: 3000 });
    expect(c.slack).toBeUndefined();
    expect(c.discord).toBeUndefined();
    expect(c.twilio).toBeUndefined();
    expect(c.openai).toBeUndefined();
    expect(c.campaignDefaults).toEqual({
      timezone: 'America/Los_Angeles',
      businessHours: { start: 9 * 60, end: 20 * 60 },
      businessDays: [1, 2, 3, 4, 5, 6],
      recipientQuietHours: { start: 8 * 60, end: 21 * 60 },
      gapMinSeconds: 240,
      gapMaxSeconds: 420,
      skipProbability: 0.175,
      skipMinSeconds: 600,
      skipMaxSeconds: 900,
      ratePerMinute: 5,
      ratePerHour: 100,
      ratePerDay: 250,
    });
    expect(c.scheduler).toEqual({ tickSeconds: 10, dailySummaryAt: '17:30', maxLatenessMinutes: 120, bubbleGapSeconds: 3 });
    expect(defaultSurface(c)).toEqual({ surface: 'console', channel: 'console' });
  });

  it("DAILY_SUMMARY_AT takes HH:MM or 'off', in any case and with stray spaces", () => {
    expect(loadConfig({ DAILY_SUMMARY_AT: ' Off ' }).scheduler.dailySummaryAt).toBeNull();
    expect(loadConfig({ DAILY_SUMMARY_AT: '08:15 ' }).scheduler.dailySummaryAt).toBe('08:15');
  });

  it('is frozen all the way down', () => {
    const c = loadConfig({});
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.campaignDefaults.businessDays)).toBe(true);
    expect(() => {
      (c.http as { port: number }).port = 1;
    }).toThrow();
  });

  it.each([
    [{ PORT: 'abc' }, /PORT: must be a whole number.*got "abc" \(example: 3000\)/],
    [{ PORT: '70000' }, /PORT: .*<= 65535/],
    [{ BUSINESS_TIMEZONE: 'Mars/Olympus' }, /BUSINESS_TIMEZONE: must be an IANA time zone, got "Mars\/Olympus" \(example: America\/Los_Angeles\)/],
    [{ DAILY_SUMMARY_AT: 'never' }, /DAILY_SUMMARY_AT: must be HH:MM or 'off'.*got "never" \(example: 17:30\)/],
    [{ BUSINESS_HOURS: '9-5' }, /BUSINESS_HOURS: must be a window HH:MM-HH:MM, got "9-5" \(example: 09:00-20:00\)/],
    [{ BUSINESS_DAYS: 'Funday' }, /BUSINESS_DAYS: must be weekdays/],
    [{ SEND_SKIP_PROBABILITY: '1.5' }, /SEND_SKIP_PROBABILITY: .*<= 1/],
    [{ SEND_GAP_MIN_SECONDS: '500', SEND_GAP_MAX_SECONDS: '100' }, /SEND_GAP_MIN_SECONDS \(500\) must not exceed SEND_GAP_MAX_SECONDS/],
    [{ PUBLIC_URL: 'not a url' }, /PUBLIC_URL: must be an http\(s\) URL/],
    [{ SLACK_BOT_TOKEN: 'xoxb-1' }, /Slack is partly configured: SLACK_BOT_TOKEN is set but SLACK_SIGNING_SECRET, SLACK_CHANNEL_ID are missing/],
    [{ TWILIO_ACCOUNT_SID: 'AC1', TWILIO_AUTH_TOKEN: 't', PUBLIC_URL: 'https://x.example' }, /Twilio needs a sender/],
    [{ TWILIO_ACCOUNT_SID: 'AC1', TWILIO_AUTH_TOKEN: 't', TWILIO_FROM_NUMBER: '+14155550100' }, /PUBLIC_URL is required with Twilio/],
    [{ HOST: '0.0.0.0' }, /HOST=0.0.0.0 exposes the web console.*CONSOLE_TOKEN/],
  ])('refuses %j with a message naming the variable and a fix', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });

  it('reports every bad variable at once', () => {
    expect(() => loadConfig({ PORT: 'x', RATE_PER_DAY: '0' })).toThrow(/PORT[\s\S]*RATE_PER_DAY/);
  });

  it('selects the configured services', () => {
    const c = loadConfig({
      DATABASE_URL: 'postgres://u:p@db/smsops',
      SLACK_BOT_TOKEN: 'xoxb-1',
      SLACK_SIGNING_SECRET: 's',
      SLACK_CHANNEL_ID: 'C1',
      SLACK_APPROVER_IDS: 'U1, U2',
      TWILIO_ACCOUNT_SID: 'AC1',
      TWILIO_AUTH_TOKEN: 't',
      TWILIO_MESSAGING_SERVICE_SID: 'MG1',
      PUBLIC_URL: 'https://smsops.example.com/',
      OPENAI_API_KEY: 'sk-test',
      RECIPIENT_QUIET_HOURS: 'off',
    });
    expect(c.database).toEqual({ kind: 'postgres', url: 'postgres://u:p@db/smsops' });
    expect(c.slack).toMatchObject({ channelId: 'C1', approverIds: ['U1', 'U2'] });
    expect(c.twilio).toMatchObject({ messagingServiceSid: 'MG1' });
    expect(c.http.publicUrl).toBe('https://smsops.example.com');
    expect(c.openai).toMatchObject({ apiKey: 'sk-test', model: 'gpt-4o-mini' });
    expect(c.campaignDefaults.recipientQuietHours).toBeNull();
    expect(defaultSurface(c)).toEqual({ surface: 'slack', channel: 'C1' });
  });

  it('parses windows and days', () => {
    expect(parseTimeWindow('22:00-06:30')).toEqual({ start: 1320, end: 390 });
    expect(parseTimeWindow('25:00-06:00')).toBeNull();
    expect(parseTimeWindow('09:00-09:00')).toBeNull();
    expect(parseDays('Mon-Fri')).toEqual([1, 2, 3, 4, 5]);
    expect(parseDays('Fri-Mon')).toEqual([1, 5, 6, 7]);
    expect(parseDays('mon, wed,sun')).toEqual([1, 3, 7]);
    expect(parseDays('')).toBeNull();
  });
});
