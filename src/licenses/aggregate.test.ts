import type { AccountLicense } from './license-service';
import { aggregateByLicense } from './aggregate';

const position = (virtualAccount: string, tag: string, purchased: number, inUse: number, extra: Partial<AccountLicense> = {}): AccountLicense => {
  const balance = purchased - inUse;
  return {
    virtualAccount, tag, displayName: `${tag} license`, billingType: 'PERPETUAL', family: null, tier: null, purchased, inUse,
    borrowed: 0, lent: 0, substitution: 0, balance, endsAt: null, status: balance < 0 ? 'Out of Compliance' : 'In Compliance',
    alerts: balance < 0 ? [{ messageType: 'Insufficient Licenses', severity: 'Major', message: `${-balance} short` }] : [],
    ...extra,
  };
};

describe('aggregateByLicense', () => {
  test('When a license is short in one virtual account and unused in another, then its one row is Out of Compliance with both figures', () => {
    const [row, ...rest] = aggregateByLicense([position('Default', 'DNA', 10, 12), position('Lab', 'DNA', 5, 0)]);
    expect(rest).toEqual([]);
    expect(row).toMatchObject({
      tag: 'DNA', status: 'Out of Compliance', purchased: 15, inUse: 12, balance: 3, virtualAccount: null,
      alerts: [{ messageType: 'Insufficient Licenses', virtualAccount: 'Default', message: '2 short' }],
    });
    expect(row.virtualAccounts.map((p) => [p.virtualAccount, p.balance, p.status])).toEqual([
      ['Default', -2, 'Out of Compliance'],
      ['Lab', 5, 'In Compliance'],
    ]);
  });

  test('When every virtual account is in compliance, then the row is too, with summed figures and the earliest end', () => {
    const soon = new Date('2027-01-01T00:00:00Z');
    const rows = aggregateByLicense([
      position('Default', 'B', 3, 1, { endsAt: new Date('2027-06-01T00:00:00Z') }),
      position('Lab', 'B', 2, 2, { endsAt: soon, borrowed: 1, substitution: 1 }),
      position('Lab', 'A', 1, 0),
    ]);
    expect(rows.map((r) => r.tag)).toEqual(['A', 'B']);
    expect(rows[1]).toMatchObject({ status: 'In Compliance', purchased: 5, inUse: 3, borrowed: 1, substitution: 1, endsAt: soon });
  });

  test('When a virtual account only uses a tag it never bought, then the name and billing type come from one that bought it', () => {
    const unsold = position('Lab', 'X', 0, 2, { displayName: 'X', billingType: null });
    const [row] = aggregateByLicense([unsold, position('Default', 'X', 4, 0, { displayName: 'X Advantage', billingType: 'TERM' })]);
    expect(row).toMatchObject({ displayName: 'X Advantage', billingType: 'TERM', status: 'Out of Compliance', purchased: 4, inUse: 2 });
  });
});
