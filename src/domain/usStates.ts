/** US states and territories by name, for the import and for quiet-hours state rules. */
const US_STATES: Record<string, string> = {
  alabama: 'AL', alaska: 'AK', arizona: 'AZ', arkansas: 'AR', california: 'CA', colorado: 'CO', connecticut: 'CT',
  delaware: 'DE', districtofcolumbia: 'DC', washingtondc: 'DC', florida: 'FL', georgia: 'GA', hawaii: 'HI', idaho: 'ID',
  illinois: 'IL', indiana: 'IN', iowa: 'IA', kansas: 'KS', kentucky: 'KY', louisiana: 'LA', maine: 'ME', maryland: 'MD',
  massachusetts: 'MA', michigan: 'MI', minnesota: 'MN', mississippi: 'MS', missouri: 'MO', montana: 'MT',
  nebraska: 'NE', nevada: 'NV', newhampshire: 'NH', newjersey: 'NJ', newmexico: 'NM', newyork: 'NY',
  northcarolina: 'NC', northdakota: 'ND', ohio: 'OH', oklahoma: 'OK', oregon: 'OR', pennsylvania: 'PA',
  rhodeisland: 'RI', southcarolina: 'SC', southdakota: 'SD', tennessee: 'TN', texas: 'TX', utah: 'UT', vermont: 'VT',
  virginia: 'VA', washington: 'WA', westvirginia: 'WV', wisconsin: 'WI', wyoming: 'WY', puertorico: 'PR', guam: 'GU',
  virginislands: 'VI', americansamoa: 'AS', northernmarianaislands: 'MP',
};
const CODES = new Set(Object.values(US_STATES));

/** "FL", "fl", "Fl.", "Florida", "Washington, D.C." -> the two-letter code; anything else -> null. */
export function usStateCode(input: string | null | undefined): string | null {
  const key = (input ?? '').toLowerCase().replace(/[^a-z]/g, '');
  if (!key) return null;
  const code = key.toUpperCase();
  if (code.length === 2 && CODES.has(code)) return code;
  return US_STATES[key] ?? null;
}
