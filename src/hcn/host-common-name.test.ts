import { syncClearsFlag } from './host-common-name';

describe('Sync-required flag rule', () => {
  const changedAt = '2026-11-24T10:00:00.000Z';

  test('When the sync request was made after the change, then the sync clears the flag', () => {
    expect(syncClearsFlag(changedAt, new Date('2026-11-24T10:00:01Z'))).toBe(true);
    expect(syncClearsFlag(changedAt, new Date(changedAt))).toBe(true);
  });

  test('When the sync request was made before the change, then the flag stays (the vendor saw the old name)', () => {
    expect(syncClearsFlag(changedAt, new Date('2026-11-24T09:59:59Z'))).toBe(false);
  });

  test('When the name was never changed through the API, then a sync clears the flag', () => {
    expect(syncClearsFlag(undefined, new Date('2026-11-24T09:00:00Z'))).toBe(true);
  });
});
