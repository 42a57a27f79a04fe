/** Phone numbers: normalised to E.164 with libphonenumber-js, masked for chat. */
import { Metadata, parsePhoneNumberFromString, type CountryCode, type NumberType, type PhoneNumber } from 'libphonenumber-js/max';

export type PhoneResult = { ok: true; e164: string } | { ok: false; reason: string };

export function normalizePhone(input: string, defaultRegion = 'US'): PhoneResult {
  const raw = (input ?? '').trim();
  if (!raw) return { ok: false, reason: 'phone is empty' };
  if (!/^[+\d\s().\-/]+(\s*(x|ext\.?)\s*\d+)?$/i.test(raw)) {
    return { ok: false, reason: `"${truncate(raw)}" is not a phone number` };
  }
  const parsed = parsePhoneNumberFromString(raw, defaultRegion as CountryCode);
  if (!parsed) return { ok: false, reason: `"${truncate(raw)}" is not a phone number` };
  // With the full metadata, isValid() is "the number has a type" (and a number with a type
  // also matches its country's general pattern), so the type is worked out once, and
  // isValid() only decides for numbers without one.
  const type = numberType(parsed);
  if (type === undefined && !parsed.isValid()) {
    return { ok: false, reason: `"${truncate(raw)}" is not a valid number in ${parsed.country ?? defaultRegion}` };
  }
  if (type === 'FIXED_LINE') return { ok: false, reason: `"${truncate(raw)}" is a landline and cannot receive SMS` };
  return { ok: true, e164: parsed.number };
}

/** "+14085559711" -> "+1408***9711": enough to recognise, not enough to copy. */
export function maskPhone(e164: string): string {
  if (e164.length <= 8) return e164.slice(0, 2) + '***' + e164.slice(-2);
  return e164.slice(0, 5) + '***' + e164.slice(-4);
}

function truncate(s: string): string {
  return s.length > 40 ? s.slice(0, 40) + '…' : s;
}

/*
 * PhoneNumber.getType() (libphonenumber-js 1.12, helpers/getNumberType.js) builds a RegExp
 * from the metadata's pattern text on every check; for NANPA numbers that was most of the
 * import's phone cost. numberType() is the same decision with each numbering plan's patterns
 * compiled once (test/domain/phone.fast-path.test.ts compares it with getType()).
 */

/** The parts of the library's numbering plan that getNumberType reads (not in its public typings). */
interface PlanMetadata {
  nationalNumberPattern(): string;
  type(name: string): { pattern(): string; possibleLengths(): number[] | undefined } | undefined;
}
interface TypePattern {
  name: NumberType;
  /** null: no pattern (the type never matches); an empty MOBILE pattern means "same as fixed line". */
  pattern: RegExp | null;
  lengths: number[] | undefined;
}
interface CompiledPlan {
  general: RegExp;
  fixedLine: TypePattern;
  /** Undefined when the plan has no MOBILE entry at all. */
  mobile: TypePattern | undefined;
  mobileIsFixedLine: boolean;
  others: TypePattern[];
}

const NON_FIXED_LINE_TYPES: NumberType[] = ['MOBILE', 'PREMIUM_RATE', 'TOLL_FREE', 'SHARED_COST', 'VOIP', 'PERSONAL_NUMBER', 'PAGER', 'UAN', 'VOICEMAIL'];
const metadata = new Metadata();
const plans = new Map<string, CompiledPlan>();

const whole = (pattern: string) => new RegExp('^(?:' + pattern + ')$');

function compilePlan(country: CountryCode | undefined, callingCode: string): CompiledPlan {
  (metadata as unknown as { selectNumberingPlan(c: CountryCode | undefined, cc: string): void }).selectNumberingPlan(country, callingCode);
  const plan = metadata.numberingPlan as unknown as PlanMetadata;
  const compile = (name: NumberType): TypePattern | undefined => {
    const t = plan.type(name as string);
    if (!t) return undefined;
    const source = t.pattern();
    return { name, pattern: source ? whole(source) : null, lengths: t.possibleLengths() };
  };
  const mobile = compile('MOBILE');
  return {
    general: whole(plan.nationalNumberPattern()),
    fixedLine: compile('FIXED_LINE') ?? { name: 'FIXED_LINE', pattern: null, lengths: undefined },
    mobile,
    mobileIsFixedLine: mobile !== undefined && mobile.pattern === null,
    others: NON_FIXED_LINE_TYPES.map(compile).filter((t): t is TypePattern => t !== undefined),
  };
}

function isType(nationalNumber: string, t: TypePattern | undefined): boolean {
  if (!t || !t.pattern) return false;
  if (t.lengths && !t.lengths.includes(nationalNumber.length)) return false;
  return t.pattern.test(nationalNumber);
}

/** PhoneNumber.getType() with precompiled patterns. */
function numberType(parsed: PhoneNumber): NumberType {
  const key = `${parsed.country ?? ''}:${parsed.countryCallingCode}`;
  let plan = plans.get(key);
  if (!plan) plans.set(key, (plan = compilePlan(parsed.country, parsed.countryCallingCode)));
  const nn = parsed.nationalNumber as string;
  if (!plan.general.test(nn)) return undefined;
  if (isType(nn, plan.fixedLine)) {
    if (plan.mobileIsFixedLine || !plan.mobile || isType(nn, plan.mobile)) return 'FIXED_LINE_OR_MOBILE';
    return 'FIXED_LINE';
  }
  for (const t of plan.others) if (isType(nn, t)) return t.name;
  return undefined;
}
