import { assertValidTokenRequest, fromSsmFields, storedTokenTimes, tokenStatus, tokenTimes } from './token-rules';

describe('token rules', () => {
  const now = new Date('2026-11-24T10:00:00.750Z');

  test('When a token is made, then its expiry is whole days after the issue second, and the stored row gives back the same JWT times', () => {
    const times = tokenTimes(now, 30);
    expect(times.issuedAtSeconds).toBe(Math.floor(now.getTime() / 1000));
    expect(times.expiresAt.toISOString()).toBe('2026-12-24T10:00:00.000Z');
    expect(storedTokenTimes({ createdAt: now, expiresAt: times.expiresAt })).toEqual({ issuedAtSeconds: times.issuedAtSeconds, lifetimeSeconds: 30 * 86_400 });
  });

  const row = { revokedAt: null, expiresAt: new Date('2026-12-01T00:00:00Z'), uses: 0, maxUses: 2 };
  test.each([
    ['unused and in date', row, 'ACTIVE'],
    ['used up', { ...row, uses: 2 }, 'EXHAUSTED'],
    ['at its expiry instant', { ...row, expiresAt: now }, 'EXPIRED'],
    ['expired and used up', { ...row, expiresAt: now, uses: 2 }, 'EXPIRED'],
    ['revoked, expired and used up', { ...row, revokedAt: now, expiresAt: now, uses: 2 }, 'REVOKED'],
  ] as const)('When the token is %s, then its status is %s', (_label, r, status) => {
    expect(tokenStatus(r, now)).toBe(status);
  });

  test.each([
    [{ description: '', expiresInDays: 1 }],
    [{ description: 'x', expiresInDays: 0 }],
    [{ description: 'x', expiresInDays: 366 }],
    [{ description: 'x', expiresInDays: 2.5 }],
    [{ description: 'x', expiresInDays: 1, maxUses: 0 }],
    [{ description: 'x', expiresInDays: 1, maxUses: 100_001 }],
  ])('When the request is %p, then it is refused with INVALID_TOKEN_REQUEST', (input) => {
    expect(() => assertValidTokenRequest(input)).toThrow(expect.objectContaining({ code: 'INVALID_TOKEN_REQUEST', status: 400 }));
  });

  test('When the request is within limits, then it is accepted', () => {
    expect(() => assertValidTokenRequest({ description: 'x', expiresInDays: 365, maxUses: 100_000, exportControlled: true })).not.toThrow();
  });

  test.each([
    [{ description: 'd', expiresAfterDays: '365', exportControlled: 'Allowed' as const }, { expiresInDays: 365, exportControlled: true }],
    [{ description: 'd', expiresAfterDays: ' 7 ' }, { expiresInDays: 7, exportControlled: false }],
    [{ description: 'd', expiresAfterDays: 30, exportControlled: 'Not Allowed' as const, maxUses: 4 }, { expiresInDays: 30, exportControlled: false, maxUses: 4 }],
  ])('When SSM fields %j come in, then they mean %j', (body, expected) => {
    expect(fromSsmFields(body)).toMatchObject({ description: 'd', ...expected });
  });

  test.each(['0', '366', '1e2', '30 days', ''])('When expiresAfterDays is "%s", then the request is refused naming expiresAfterDays', (days) => {
    expect(() => assertValidTokenRequest(fromSsmFields({ description: 'd', expiresAfterDays: days }), 'ssm')).toThrow(/expiresAfterDays must be a whole number from 1 to 365/);
  });
});
