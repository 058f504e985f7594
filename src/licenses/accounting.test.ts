import { computeLicenses, DAY_MS, type LicenseLine, type LicensePosition } from './accounting';

const NOW = new Date('2026-11-24T12:00:00Z');
const days = (n: number) => new Date(NOW.getTime() + n * DAY_MS);

const line = (tag: string, quantity: number, extra: Partial<LicenseLine> = {}): LicenseLine => ({
  tag, displayName: tag.toUpperCase(), billingType: 'PERPETUAL', quantity, ...extra,
});
const ucm = (tag: string, tier: number, quantity: number): LicenseLine => line(tag, quantity, { family: 'UCM', tier });
const UCM = [ucm('essential', 1, 0), ucm('basic', 2, 0), ucm('enhanced', 3, 0), ucm('enhancedplus', 4, 0), ucm('cuwl', 5, 0)];

const run = (lines: LicenseLine[], use: Record<string, number>, now = NOW) =>
  Object.fromEntries(computeLicenses(lines, new Map(Object.entries(use)), now).map((p) => [p.tag, p])) as Record<string, LicensePosition>;
const types = (p: LicensePosition) => p.alerts.map((a) => `${a.messageType}/${a.severity}`);

describe('computeLicenses: balances', () => {
  test('When use is below the purchase, then the balance is the difference and the tag is in compliance', () => {
    const r = run([line('a', 10)], { a: 4 });
    expect(r.a).toMatchObject({ purchased: 10, inUse: 4, borrowed: 0, lent: 0, substitution: 0, balance: 6, status: 'In Compliance', alerts: [] });
  });

  test('When several lines of one tag exist, then their quantities add up', () => {
    expect(run([line('a', 10), line('a', 5)], { a: 15 }).a).toMatchObject({ purchased: 15, balance: 0, status: 'In Compliance' });
  });

  test('When use exceeds the purchase, then the tag is out of compliance with a Major Insufficient Licenses alert', () => {
    const r = run([line('a', 3)], { a: 5 });
    expect(r.a).toMatchObject({ balance: -2, status: 'Out of Compliance' });
    expect(types(r.a)).toEqual(['Insufficient Licenses/Major']);
    expect(r.a.alerts[0].message).toContain('2 licenses short of A');
  });

  test('When a tag is used but never purchased, then it appears with purchased 0, no billing type and out of compliance', () => {
    const r = run([line('a', 3)], { ghost: 2 });
    expect(r.ghost).toMatchObject({ purchased: 0, inUse: 2, balance: -2, billingType: null, displayName: 'ghost', status: 'Out of Compliance' });
  });

  test('When an unpurchased tag has use 0, then it does not appear', () => {
    expect(run([line('a', 3)], { ghost: 0 }).ghost).toBeUndefined();
  });

  test('When nothing is used, then purchased tags show use 0 and the result is sorted by display name', () => {
    const list = computeLicenses([line('b', 1, { displayName: 'Zeta' }), line('a', 1, { displayName: 'Alpha' })], new Map(), NOW);
    expect(list.map((p) => [p.displayName, p.inUse])).toEqual([['Alpha', 0], ['Zeta', 0]]);
  });
});

describe('computeLicenses: term boundaries', () => {
  test('When a line starts exactly now, then it counts; one starting later does not', () => {
    expect(run([line('a', 5, { startsAt: NOW }), line('a', 7, { startsAt: days(1) })], {}).a.purchased).toBe(5);
  });

  test('When a line ends exactly now, then it no longer counts; one ending a millisecond later still does', () => {
    const r = run([line('a', 5, { endsAt: NOW }), line('a', 7, { endsAt: new Date(NOW.getTime() + 1) })], {});
    expect(r.a.purchased).toBe(7);
    expect(r.a.endsAt).toEqual(new Date(NOW.getTime() + 1));
  });

  test('When only lines outside their term exist, then the tag still appears with purchased 0', () => {
    const r = run([line('a', 5, { startsAt: days(-20), endsAt: days(-10) })], {});
    expect(r.a).toMatchObject({ purchased: 0, balance: 0, status: 'In Compliance', alerts: [] });
  });

  test('When a term line ends in exactly 30 days, then Licenses Expiring is raised; at 30 days and 1 ms it is not', () => {
    const inside = run([line('a', 4, { endsAt: days(30) })], {});
    expect(types(inside.a)).toEqual(['Licenses Expiring/Minor']);
    expect(inside.a.alerts[0].message).toContain('4 licenses of A expire within 30 days (first on 2026-12-24)');
    expect(run([line('a', 4, { endsAt: new Date(days(30).getTime() + 1) })], {}).a.alerts).toEqual([]);
  });

  test('When two term lines expire soon, then one Expiring alert sums them and names the first date', () => {
    const r = run([line('a', 4, { endsAt: days(20) }), line('a', 1, { endsAt: days(5) }), line('a', 9)], {});
    expect(r.a.alerts).toHaveLength(1);
    expect(r.a.alerts[0].message).toContain('5 licenses of A expire within 30 days (first on 2026-11-29)');
    expect(r.a.endsAt).toEqual(days(5));
  });

  test('When a term line has ended and its use remains, then Licenses Expired and Insufficient Licenses are raised', () => {
    const r = run([line('a', 5, { endsAt: days(-1) })], { a: 3 });
    expect(r.a).toMatchObject({ purchased: 0, balance: -3 });
    expect(types(r.a)).toEqual(['Insufficient Licenses/Major', 'Licenses Expired/Major']);
  });

  test('When a term line has ended but nothing uses the tag, then no Expired alert is raised', () => {
    expect(run([line('a', 5, { endsAt: days(-1) })], { a: 0 }).a.alerts).toEqual([]);
  });

  test('When an ended line was renewed by an active one that covers the use, then no Expired alert is raised', () => {
    const r = run([line('a', 5, { endsAt: days(-1) }), line('a', 5, { startsAt: days(-1), endsAt: days(364) })], { a: 5 });
    expect(r.a).toMatchObject({ purchased: 5, balance: 0, alerts: [] });
  });

  test('When a higher tier covers the use of an expired lower tier, then Expired is raised but the tag stays in compliance', () => {
    const r = run([ucm('basic', 2, 0), { ...ucm('basic', 2, 3), endsAt: days(-2) }, ucm('enhanced', 3, 10)], { basic: 3 });
    expect(r.basic).toMatchObject({ purchased: 0, borrowed: 3, balance: 0, status: 'In Compliance' });
    expect(types(r.basic)).toEqual(['Licenses Expired/Major']);
  });
});

describe('computeLicenses: substitution', () => {
  test('When a lower tier is short and a higher tier has unused licenses, then it borrows them', () => {
    const r = run([ucm('basic', 2, 2), ucm('enhanced', 3, 10)], { basic: 5, enhanced: 4 });
    expect(r.basic).toMatchObject({ borrowed: 3, substitution: 3, balance: 0, status: 'In Compliance', alerts: [] });
    expect(r.enhanced).toMatchObject({ lent: 3, substitution: -3, balance: 3 });
  });

  test('When the higher tier uses its own licenses, then it serves itself first and lends only the rest', () => {
    const r = run([ucm('basic', 2, 0), ucm('enhanced', 3, 5)], { basic: 4, enhanced: 3 });
    expect(r.basic).toMatchObject({ borrowed: 2, balance: -2, status: 'Out of Compliance' });
    expect(r.enhanced).toMatchObject({ lent: 2, balance: 0, status: 'In Compliance' });
  });

  test('When the nearest higher tier cannot cover all, then the next higher tier covers the rest', () => {
    const r = run([...UCM, ucm('enhanced', 3, 2), ucm('cuwl', 5, 10)], { basic: 6 });
    expect(r.basic).toMatchObject({ borrowed: 6, balance: 0 });
    expect(r.enhanced.lent).toBe(2);
    expect(r.enhancedplus.lent).toBe(0);
    expect(r.cuwl.lent).toBe(4);
  });

  test('When the whole chain cannot cover the shortfall, then the rest stays negative and all lenders are drained', () => {
    const r = run([...UCM, ucm('basic', 2, 1), ucm('enhanced', 3, 2), ucm('cuwl', 5, 1)], { basic: 10 });
    expect(r.basic).toMatchObject({ purchased: 1, borrowed: 3, balance: -6, status: 'Out of Compliance' });
    expect(r.enhanced).toMatchObject({ lent: 2, balance: 0 });
    expect(r.cuwl).toMatchObject({ lent: 1, balance: 0 });
  });

  test('When two lower tiers are short, then the unused higher licenses go first to the tier closest to them', () => {
    const r = run([...UCM, ucm('enhanced', 3, 3)], { essential: 2, basic: 2 });
    expect(r.basic).toMatchObject({ borrowed: 2, balance: 0 });
    expect(r.essential).toMatchObject({ borrowed: 1, balance: -1 });
    expect(r.enhanced.lent).toBe(3);
  });

  test('When a middle tier borrowed, then it does not pass borrowed licenses on to a lower tier', () => {
    const r = run([...UCM, ucm('basic', 2, 0), ucm('enhanced', 3, 2)], { essential: 1, basic: 2 });
    expect(r.basic).toMatchObject({ borrowed: 2, lent: 0, balance: 0 });
    expect(r.essential).toMatchObject({ borrowed: 0, balance: -1 });
  });

  test('When only a lower tier has unused licenses, then a higher tier cannot borrow downwards', () => {
    const r = run([ucm('basic', 2, 10), ucm('enhanced', 3, 0)], { enhanced: 1 });
    expect(r.enhanced).toMatchObject({ borrowed: 0, balance: -1 });
    expect(r.basic.lent).toBe(0);
  });

  test('When tags are in different families or have no tier, then they never substitute', () => {
    const r = run([
      line('a', 0, { family: 'F', tier: 1 }), line('b', 5, { family: 'G', tier: 2 }),
      line('c', 0, { family: 'F' }), line('d', 5, { family: 'F', tier: 3 }),
    ], { a: 1, c: 1 });
    expect(r.a.borrowed).toBe(1);
    expect(r.d.lent).toBe(1);
    expect(r.b.lent).toBe(0);
    expect(r.c).toMatchObject({ borrowed: 0, balance: -1 });
  });

  test('When two tags share a tier, then they do not lend to each other', () => {
    const r = run([line('a', 0, { family: 'F', tier: 1 }), line('b', 5, { family: 'F', tier: 1 })], { a: 1 });
    expect(r.a.balance).toBe(-1);
    expect(r.b.lent).toBe(0);
  });

  test('When a higher-tier line is not yet active, then it cannot lend', () => {
    const r = run([ucm('basic', 2, 0), { ...ucm('enhanced', 3, 5), startsAt: days(1) }], { basic: 1 });
    expect(r.basic.balance).toBe(-1);
  });

  test('When a used tag was never purchased but belongs nowhere, then a family cannot cover it', () => {
    const r = run([ucm('cuwl', 5, 10)], { stranger: 1 });
    expect(r.stranger).toMatchObject({ borrowed: 0, balance: -1 });
    expect(r.cuwl.lent).toBe(0);
  });
});
