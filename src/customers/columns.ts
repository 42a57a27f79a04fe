/**
 * Header detection for customer CSV files. Headers are compared case-, space- and
 * punctuation-insensitively ("Phone Number", "phone_number" and "PHONE-NUMBER" are the same)
 * against synonyms for each field we store in its own column; every other header becomes a
 * key of `customers.attributes`.
 */
import { sanitizeText } from './text.ts';

export const CUSTOMER_FIELDS = [
  'phone',
  'name',
  'firstName',
  'lastName',
  'email',
  'externalId',
  'lastVisit',
  'firstSeen',
  'visits',
  'totalSpend',
  'favoriteCategory',
  'timezone',
  'state',
  'consent',
] as const;
export type CustomerField = (typeof CUSTOMER_FIELDS)[number];

/** How fields are named to people (summaries, reasons): the customers column they fill. */
export const FIELD_NAMES: Record<CustomerField, string> = {
  phone: 'phone',
  name: 'name',
  firstName: 'first_name',
  lastName: 'last_name',
  email: 'email',
  externalId: 'external_id',
  lastVisit: 'last_visit',
  firstSeen: 'first_seen',
  visits: 'visits',
  totalSpend: 'total_spend',
  favoriteCategory: 'favorite_category',
  timezone: 'timezone',
  state: 'state',
  consent: 'consent',
};

/**
 * Synonyms per field, in order of preference: when a file has both "Phone" and "Mobile",
 * the mobile number wins (it is the one that receives SMS) and "Phone" becomes an attribute.
 */
const SYNONYMS: Record<CustomerField, string[]> = {
  phone: [
    'mobile', 'mobilephone', 'mobilenumber', 'mobileno', 'mobilephonenumber', 'cell', 'cellphone', 'cellnumber',
    'cellphonenumber', 'smsnumber', 'smsphone', 'textnumber', 'phone', 'phonenumber', 'phoneno', 'telephone',
    'telephonenumber', 'tel', 'contactnumber', 'contactphone', 'msisdn', 'number',
  ],
  name: ['name', 'fullname', 'customername', 'customer', 'clientname', 'client', 'contactname', 'displayname'],
  firstName: ['firstname', 'first', 'givenname', 'fname', 'forename'],
  lastName: ['lastname', 'last', 'surname', 'familyname', 'lname'],
  email: ['email', 'emailaddress', 'mail', 'emailid'],
  externalId: [
    'externalid', 'customerid', 'clientid', 'customernumber', 'customerno', 'accountid', 'accountnumber', 'memberid',
    'referenceid', 'squarecustomerid', 'id',
  ],
  lastVisit: [
    'lastvisit', 'lastvisitdate', 'lastvisitat', 'lastvisited', 'lastpurchase', 'lastpurchasedate', 'lastorder',
    'lastorderdate', 'lastappointment', 'lasttransaction', 'lastseen', 'lastactivity',
  ],
  firstSeen: [
    'firstseen', 'firstseenat', 'customersince', 'signup', 'signupdate', 'signedup', 'signedupat', 'firstvisit',
    'firstvisitdate', 'firstpurchase', 'firstorder', 'joined', 'joindate', 'datejoined', 'membersince', 'createdat',
    'created', 'registered', 'registrationdate',
  ],
  visits: [
    'visits', 'visitcount', 'numberofvisits', 'ofvisits', 'noofvisits', 'numvisits', 'totalvisits', 'oforders', 'nooforders', 'orders', 'ordercount', 'numberoforders', 'totalorders',
    'transactioncount', 'transactions', 'purchasecount', 'appointments',
  ],
  totalSpend: [
    'totalspend', 'totalspent', 'lifetimevalue', 'lifetimespend', 'ltv', 'clv', 'spend', 'spent', 'amountspent',
    'totalsales', 'totalrevenue', 'revenue',
  ],
  favoriteCategory: [
    'favoritecategory', 'favouritecategory', 'preferredcategory', 'topcategory', 'category', 'favorite', 'favourite',
    'favoriteservice', 'favouriteservice', 'preferredservice',
  ],
  timezone: ['timezone', 'tz', 'zone', 'timezonename', 'ianatimezone'],
  state: ['state', 'statecode', 'stateprovince', 'province', 'region'],
  consent: [
    'consent', 'smsconsent', 'optedin', 'optin', 'smsoptin', 'textoptin', 'textconsent', 'marketingconsent',
    'smsmarketing', 'acceptssms', 'acceptssmsmarketing', 'acceptsmarketing', 'smssubscribed', 'smssubscription',
    'smssubscriptionstatus', 'subscribed',
  ],
};

/** Columns of our own rejects file: ignored, so a fixed rejects file can be imported again. */
export const REJECT_LINE_HEADER = 'reject_line';
export const REJECT_REASON_HEADER = 'reject_reason';
const IGNORED = new Set([normalizeHeader(REJECT_LINE_HEADER), normalizeHeader(REJECT_REASON_HEADER)]);

const LOOKUP = new Map<string, { field: CustomerField; rank: number }>();
for (const field of CUSTOMER_FIELDS) {
  SYNONYMS[field].forEach((s, rank) => LOOKUP.set(s, { field, rank }));
}

const ATTRIBUTE_KEY_MAX = 100;

/** Where each field of a customer row is found in a CSV record. */
export interface ColumnMap {
  /** The headers as they appear in the file (after BOM removal). */
  readonly headers: string[];
  /** Column index per recognised field. */
  readonly fields: Partial<Record<CustomerField, number>>;
  /** Unrecognised columns: stored in `customers.attributes` under `key`. */
  readonly attributes: { index: number; key: string }[];
}

/** "Phone Number" / "phone_number" / " PHONE-number " -> "phonenumber". */
export function normalizeHeader(header: string): string {
  return header
    .normalize('NFKD')
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '');
}

/** Which field a single header means, if any (exported for the header-detection tests). */
export function fieldForHeader(header: string): CustomerField | undefined {
  return LOOKUP.get(normalizeHeader(header))?.field;
}

/** Maps a header record to fields; the best-ranked synonym wins, the other candidates become attributes. */
export function detectColumns(headers: string[]): ColumnMap {
  const best = new Map<CustomerField, { index: number; rank: number }>();
  headers.forEach((h, index) => {
    const hit = LOOKUP.get(normalizeHeader(h));
    if (!hit) return;
    const current = best.get(hit.field);
    if (!current || hit.rank < current.rank) best.set(hit.field, { index, rank: hit.rank });
  });
  const fields: Partial<Record<CustomerField, number>> = {};
  for (const [field, { index }] of best) fields[field] = index;
  // A full-name column makes first/last name plain attributes.
  if (fields.name !== undefined) {
    delete fields.firstName;
    delete fields.lastName;
  }

  const used = new Set(Object.values(fields));
  const keys = new Set<string>();
  const attributes: ColumnMap['attributes'] = [];
  headers.forEach((h, index) => {
    if (used.has(index) || IGNORED.has(normalizeHeader(h))) return;
    const base = sanitizeText(h).slice(0, ATTRIBUTE_KEY_MAX) || `column_${index + 1}`;
    let key = base;
    for (let n = 2; keys.has(key); n++) key = `${base}_${n}`;
    keys.add(key);
    attributes.push({ index, key });
  });
  return { headers, fields, attributes };
}

/** "Mobile -> phone, Last Visit -> last_visit, Loyalty Tier -> attributes" for summaries. */
export function describeColumns(map: ColumnMap): { header: string; field: string }[] {
  const byIndex = new Map<number, CustomerField>();
  for (const [field, index] of Object.entries(map.fields)) byIndex.set(index, field as CustomerField);
  const attrs = new Set(map.attributes.map((a) => a.index));
  return map.headers.map((header, i) => {
    const field = byIndex.get(i);
    return { header, field: field ? FIELD_NAMES[field] : attrs.has(i) ? 'attributes' : 'ignored' };
  });
}
