import { describe, expect, it } from 'vitest';
import { describeColumns, detectColumns, fieldForHeader } from '../../src/customers/columns.ts';

describe('customer CSV header detection', () => {
  it.each([
    ['phone', 'phone'], ['Phone Number', 'phone'], ['PHONE_NUMBER', 'phone'], ['Mobile', 'phone'], ['cell', 'phone'],
    ['Cell Phone', 'phone'], ['mobile-number', 'phone'], ['Tel.', 'phone'],
    ['Name', 'name'], ['Full Name', 'name'], ['customer name', 'name'], ['First Name', 'firstName'], ['first_name', 'firstName'],
    ['Last Name', 'lastName'], ['Surname', 'lastName'],
    ['Last Visit', 'lastVisit'], ['last_visit', 'lastVisit'], ['Last Purchase', 'lastVisit'], ['last order date', 'lastVisit'],
    ['First Seen', 'firstSeen'], ['Signup', 'firstSeen'], ['Sign-up date', 'firstSeen'], ['Customer Since', 'firstSeen'],
    ['First Visit', 'firstSeen'],
    ['Visits', 'visits'], ['Visit Count', 'visits'], ['Orders', 'visits'], ['# of visits', 'visits'], ['Transaction Count', 'visits'],
    ['Total Spend', 'totalSpend'], ['Lifetime Value', 'totalSpend'], ['LTV', 'totalSpend'], ['total_spent', 'totalSpend'],
    ['Favorite Category', 'favoriteCategory'], ['Favourite Category', 'favoriteCategory'], ['favorite_category', 'favoriteCategory'],
    ['Time Zone', 'timezone'], ['timezone', 'timezone'], ['TZ', 'timezone'],
    ['State', 'state'], ['Province', 'state'],
    ['Email', 'email'], ['E-mail Address', 'email'],
    ['External ID', 'externalId'], ['Customer ID', 'externalId'], ['customer_id', 'externalId'], ['Square Customer ID', 'externalId'],
    ['Consent', 'consent'], ['Opted In', 'consent'], ['SMS Consent', 'consent'], ['opt-in', 'consent'], ['Accepts SMS Marketing', 'consent'],
  ])('"%s" means %s', (header, field) => {
    expect(fieldForHeader(header)).toBe(field);
  });

  it.each(['Loyalty Tier', 'Notes', 'Home Address', 'Birthday'])('"%s" is not a known field', (header) => {
    expect(fieldForHeader(header)).toBeUndefined();
  });

  it('prefers a mobile column over a generic phone column, which becomes an attribute', () => {
    const map = detectColumns(['Name', 'Phone', 'Mobile', 'Notes']);
    expect(map.fields.phone).toBe(2);
    expect(map.attributes).toEqual([
      { index: 1, key: 'Phone' },
      { index: 3, key: 'Notes' },
    ]);
  });

  it('uses first + last name only when there is no full-name column', () => {
    expect(detectColumns(['First Name', 'Last Name', 'Cell']).fields).toEqual({ firstName: 0, lastName: 1, phone: 2 });
    const withFull = detectColumns(['Full Name', 'First Name', 'Cell']);
    expect(withFull.fields).toEqual({ name: 0, phone: 2 });
    expect(withFull.attributes).toEqual([{ index: 1, key: 'First Name' }]);
  });

  it('keeps the first of two headers for the same field and gives unknown duplicates distinct keys', () => {
    const map = detectColumns(['phone', 'Email', 'E-mail', 'tier', 'tier', '']);
    expect(map.fields).toEqual({ phone: 0, email: 1 });
    expect(map.attributes.map((a) => a.key)).toEqual(['E-mail', 'tier', 'tier_2', 'column_6']);
  });

  it('ignores the reject_line / reject_reason columns of its own rejects file', () => {
    const map = detectColumns(['phone', 'name', 'reject_line', 'reject_reason']);
    expect(map.attributes).toEqual([]);
    expect(describeColumns(map).map((c) => c.field)).toEqual(['phone', 'name', 'ignored', 'ignored']);
  });

  it('describes the mapping with the customers column names', () => {
    const map = detectColumns(['Mobile', 'Last Visit', 'LTV', 'Loyalty Tier']);
    expect(describeColumns(map)).toEqual([
      { header: 'Mobile', field: 'phone' },
      { header: 'Last Visit', field: 'last_visit' },
      { header: 'LTV', field: 'total_spend' },
      { header: 'Loyalty Tier', field: 'attributes' },
    ]);
  });
});
