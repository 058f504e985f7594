import { NAME_PATTERN, allowedFrom, assertValidName, invalidTransition } from './account-rules';

describe('account rules', () => {
  test.each(['Default', 'Acme Corp', 'a', 'lab-1.prod_2', 'x'.repeat(64), 'Ends.'])('When the name is %p, then it is accepted', (name) => {
    expect(NAME_PATTERN.test(name)).toBe(true);
    expect(() => assertValidName('account', name)).not.toThrow();
  });

  test.each(['', ' lead', 'trail ', 'a/b', 'a%2Fb', '..', '-dash', 'x'.repeat(65), 'tab\there', 'ünï'])('When the name is %p, then it is refused with INVALID_NAME', (name) => {
    expect(() => assertValidName('virtual account', name)).toThrow(expect.objectContaining({ code: 'INVALID_NAME', status: 400 }));
  });

  test('When an account is approved, then it may come from REQUESTED or INACTIVE only', () => {
    expect(allowedFrom('approve').sort()).toEqual(['INACTIVE', 'REQUESTED']);
  });

  test('When an account is deactivated, then it may come from REQUESTED or ACTIVE only', () => {
    expect(allowedFrom('deactivate').sort()).toEqual(['ACTIVE', 'REQUESTED']);
  });

  test('When a transition is not allowed, then the error is 409 INVALID_ACCOUNT_STATE naming the current status', () => {
    expect(invalidTransition('Acme', 'ACTIVE', 'approve')).toMatchObject({ code: 'INVALID_ACCOUNT_STATE', status: 409, details: { status: 'ACTIVE' } });
  });
});
