import { canonicalToolkitUrl } from './path-aliases';

describe('API Toolkit path aliases', () => {
  test.each([
    ['/oauth/token', '/backend/oauth/token'],
    ['/oauth/token?x=1', '/backend/oauth/token?x=1'],
    ['/backend/api/v1/accounts/Acme%20Corp/licenses', '/api/v1/accounts/Acme%20Corp/licenses'],
    ['/backend/api/v1/accounts/Acme/alerts', '/api/v1/accounts/Acme/alerts'],
    ['/backend/api/v1/accounts/Acme/virtual-accounts', '/api/v1/accounts/Acme/virtual-accounts'],
    ['/backend/api/v1/accounts/Acme/virtual-accounts/Default/tokens', '/api/v1/accounts/Acme/virtual-accounts/Default/tokens'],
    ['/backend/api/v1/accounts/Acme/virtual-accounts/Default/product-instances?page=2', '/api/v1/accounts/Acme/virtual-accounts/Default/product-instances?page=2'],
    ['/backend/api/v1/tokens/0b6f1c1e-3f0a-4b1e-9a55-5a4c5b3a2d10/revoke', '/api/v1/tokens/0b6f1c1e-3f0a-4b1e-9a55-5a4c5b3a2d10/revoke'],
  ])('When %s is requested, then it is served as %s', (url, canonical) => {
    expect(canonicalToolkitUrl(url)).toBe(canonical);
  });

  test.each([
    '/backend/oauth/token',
    '/oauth/tokens',
    '/backend/api/v1/users',
    '/backend/api/v1/accounts/Acme/api-clients',
    '/backend/api/v1/accounts/Acme/licenses/extra',
    '/backend/api/v1/accounts',
    '/api/v1/accounts/Acme/licenses',
  ])('When %s is requested, then it is left alone (not a toolkit alias)', (url) => {
    expect(canonicalToolkitUrl(url)).toBe(url);
  });
});
