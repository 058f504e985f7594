import { AppError } from '../errors';
import { invalidEntitlementFile, MAX_ENTRIES, parseEntitlementFile, TAG_PATTERN } from './entitlement-file';

const entry = (extra: Record<string, unknown> = {}) => ({
  account: 'Acme', virtualAccount: 'Default', tag: 'regid.2016-07.com.cisco.UCM_Enhanced,12.0_7e6c', displayName: 'UCM Enhanced',
  billingType: 'PERPETUAL', quantity: 5, ...extra,
});
const faultsOf = (body: unknown) => parseEntitlementFile(body).faults;

describe('parseEntitlementFile', () => {
  test('When the file is valid, then every entry comes back with dates parsed and missing options as null', () => {
    const { entries, faults } = parseEntitlementFile({
      licenses: [entry(), entry({ tag: 'T2', startsAt: '2026-01-01', endsAt: '2027-01-01T00:00:00+02:00', family: 'UCM', tier: 3 })],
    });
    expect(faults).toEqual([]);
    expect(entries[0]).toMatchObject({ startsAt: null, endsAt: null, family: null, tier: null, quantity: 5 });
    expect(entries[1]).toMatchObject({ startsAt: new Date('2026-01-01T00:00:00Z'), endsAt: new Date('2026-12-31T22:00:00Z'), family: 'UCM', tier: 3 });
  });

  test.each([
    ['not an object', 'text'],
    ['no licenses array', { lines: [] }],
    ['licenses not an array', { licenses: 5 }],
    ['an empty licenses array', { licenses: [] }],
  ])('When the file is %s, then one file-level fault is reported without an index', (_label, body) => {
    const faults = faultsOf(body);
    expect(faults).toHaveLength(1);
    expect(faults[0].index).toBeUndefined();
    expect(faults[0].field).toBe('licenses');
  });

  test('When the file has too many entries, then it is refused before checking them', () => {
    const faults = faultsOf({ licenses: Array.from({ length: MAX_ENTRIES + 1 }, () => entry()) });
    expect(faults).toEqual([{ field: 'licenses', message: expect.stringContaining(`at most ${MAX_ENTRIES}`) }]);
  });

  test.each([
    ['account', { account: undefined }],
    ['account', { account: '' }],
    ['tag', { tag: 'bad tag with spaces' }],
    ['tag', { tag: 42 }],
    ['displayName', { displayName: 'x'.repeat(201) }],
    ['quantity', { quantity: -1 }],
    ['quantity', { quantity: 2.5 }],
    ['quantity', { quantity: '5' }],
    ['startsAt', { startsAt: '2026-13-45' }],
    ['endsAt', { endsAt: 'next year' }],
    ['endsAt', { endsAt: '2026-01-01T00:00:00' }],
    ['endsAt', { startsAt: '2026-06-01', endsAt: '2026-06-01' }],
    ['tier', { family: 'UCM' }],
    ['family', { tier: 2 }],
    ['tier', { family: 'UCM', tier: 0 }],
    ['qty', { qty: 5 }],
  ])('When an entry has a bad %s, then the fault names entry 1 and that field', (field, extra) => {
    const faults = faultsOf({ licenses: [entry(), entry(extra)] });
    expect(faults.length).toBeGreaterThanOrEqual(1);
    expect(faults[0]).toMatchObject({ index: 1, field });
  });

  test('When an entry is not an object, then the fault names the entry', () => {
    expect(faultsOf({ licenses: [entry(), 'x'] })).toEqual([{ index: 1, field: '(entry)', message: 'must be an object' }]);
  });

  test('When several entries are faulty, then every fault of every entry is reported', () => {
    const faults = faultsOf({ licenses: [entry({ quantity: -1, tag: '' }), entry(), entry({ account: 7 })] });
    expect(faults.map((f) => `${f.index}.${f.field}`).sort()).toEqual(['0.quantity', '0.tag', '2.account']);
  });

  test('When one tag has two tiers in the file, then the later entry is faulted', () => {
    const faults = faultsOf({ licenses: [entry({ family: 'UCM', tier: 2 }), entry({ virtualAccount: 'Lab', family: 'UCM', tier: 3 })] });
    expect(faults).toEqual([{ index: 1, field: 'tier', message: expect.stringContaining('entry 0') }]);
  });

  test('When the error is built, then it carries the stable code, all faults and a message naming the first', () => {
    const err = invalidEntitlementFile([{ index: 3, field: 'quantity', message: 'must be 0 or more' }, { field: 'licenses', message: 'x' }]);
    expect(err).toBeInstanceOf(AppError);
    expect(err).toMatchObject({ code: 'INVALID_ENTITLEMENT_FILE', status: 400, details: { faultCount: 2 } });
    expect(err.message).toContain('licenses[3].quantity must be 0 or more');
  });

  test('When tags look like vendor tags, then the pattern accepts them and refuses spaces, quotes and leading dots', () => {
    expect(TAG_PATTERN.test('regid.2016-07.com.cisco.CUWL_Standard,12.0_ad4d1e2f-7f6b')).toBe(true);
    expect(TAG_PATTERN.test('PI_Base')).toBe(true);
    for (const bad of ['', '.hidden', 'a b', 'a"b', 'x'.repeat(256)]) expect(TAG_PATTERN.test(bad)).toBe(false);
  });
});
