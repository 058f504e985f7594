import { startTestServer, type TestServer } from './support/test-server';
import { adminSessions, type AdminSessions } from './support/admin-session';

type Credentials = { clientId: string; clientSecret: string };
type Caller = 'none' | 'basic' | 'admin' | 'operator' | 'read' | 'manage' | 'other';
type Call = { method: 'get' | 'post'; path: string; body?: object };

/**
 * Who may call which API Toolkit operation, and with which answer. `other` is a manage client of
 * another account; the account in every path is Acme.
 */
describe('API Toolkit: permissions and authorization answers', () => {
  let server: TestServer;
  let s: AdminSessions;
  const credentials: Partial<Record<'read' | 'manage' | 'other', Credentials>> = {};
  const access: Partial<Record<Caller, string>> = {};

  const oauth = (c: Credentials) => server.http().post('/oauth/token').send({ grant_type: 'client_credentials', client_id: c.clientId, client_secret: c.clientSecret });
  const accessToken = async (c: Credentials) => {
    const res = await oauth(c);
    expect(res.status).toBe(200);
    return res.body.access_token as string;
  };
  const send = (caller: Caller, call: Call) => {
    let req = server.http()[call.method](call.path);
    if (caller === 'basic') req = req.auth('admin', 'admin-password');
    else if (caller === 'admin') req = req.auth(s.admin, { type: 'bearer' });
    else if (caller === 'operator') req = req.auth(s.operator, { type: 'bearer' });
    else if (caller !== 'none') req = req.auth(access[caller]!, { type: 'bearer' });
    return call.body ? req.send(call.body) : req;
  };

  const VA = '/api/v1/accounts/Acme/virtual-accounts';
  const TOKENS = `${VA}/Default/tokens`;
  const ops: Record<string, Call> = {
    licenses: { method: 'post', path: '/api/v1/accounts/Acme/licenses', body: { limit: -1 } },
    alerts: { method: 'post', path: '/api/v1/accounts/Acme/alerts', body: { limit: -1 } },
    listVas: { method: 'get', path: VA },
    createVa: { method: 'post', path: VA, body: { name: 'X' } },
    listTokens: { method: 'get', path: TOKENS },
    createToken: { method: 'post', path: TOKENS, body: { description: 'matrix', expiresAfterDays: 1 } },
    devices: { method: 'get', path: `${VA}/Default/product-instances` },
  };
  // Expected status, or [status, code], per operation and caller. createVa/createToken succeed with
  // 201 (sessions) or 201/200 (clients); the virtual account names are made unique below.
  const matrix: Record<string, Record<Caller, number | [number, string]>> = {
    licenses: { none: [401, 'AUTHENTICATION_REQUIRED'], basic: [403, 'CREDENTIALS_NOT_ACCEPTED'], admin: [403, 'CREDENTIALS_NOT_ACCEPTED'], operator: [403, 'CREDENTIALS_NOT_ACCEPTED'], read: 200, manage: 200, other: [403, 'ACCOUNT_FORBIDDEN'] },
    alerts: { none: [401, 'AUTHENTICATION_REQUIRED'], basic: [403, 'CREDENTIALS_NOT_ACCEPTED'], admin: [403, 'CREDENTIALS_NOT_ACCEPTED'], operator: [403, 'CREDENTIALS_NOT_ACCEPTED'], read: 200, manage: 200, other: [403, 'ACCOUNT_FORBIDDEN'] },
    listVas: { none: [401, 'AUTHENTICATION_REQUIRED'], basic: [403, 'CREDENTIALS_NOT_ACCEPTED'], admin: 200, operator: 200, read: 200, manage: 200, other: [403, 'ACCOUNT_FORBIDDEN'] },
    createVa: { none: [401, 'AUTHENTICATION_REQUIRED'], basic: [403, 'CREDENTIALS_NOT_ACCEPTED'], admin: 201, operator: [403, 'FORBIDDEN'], read: [403, 'API_CLIENT_PERMISSION_DENIED'], manage: 201, other: [403, 'ACCOUNT_FORBIDDEN'] },
    listTokens: { none: [401, 'AUTHENTICATION_REQUIRED'], basic: [403, 'CREDENTIALS_NOT_ACCEPTED'], admin: 200, operator: 200, read: 200, manage: 200, other: [403, 'ACCOUNT_FORBIDDEN'] },
    createToken: { none: [401, 'AUTHENTICATION_REQUIRED'], basic: [403, 'CREDENTIALS_NOT_ACCEPTED'], admin: 201, operator: [403, 'FORBIDDEN'], read: [403, 'API_CLIENT_PERMISSION_DENIED'], manage: 200, other: [403, 'ACCOUNT_FORBIDDEN'] },
    devices: { none: [401, 'AUTHENTICATION_REQUIRED'], basic: [403, 'CREDENTIALS_NOT_ACCEPTED'], admin: 200, operator: 200, read: 200, manage: 200, other: [403, 'ACCOUNT_FORBIDDEN'] },
  };

  beforeAll(async () => {
    server = await startTestServer();
    s = await adminSessions(server);
    for (const name of ['Acme', 'Globex', 'Initech']) {
      await s.post('/api/v1/accounts', { name });
      await s.post(`/api/v1/accounts/${name}/approve`);
    }
    const create = async (account: string, name: string, permission?: string) =>
      (await s.post(`/api/v1/accounts/${account}/api-clients`, { name, ...(permission ? { permission } : {}) })).body as Credentials & { permission: string };
    const read = await create('Acme', 'monitor');
    expect(read.permission).toBe('read');
    credentials.read = read;
    credentials.manage = await create('Acme', 'ansible', 'manage');
    credentials.other = await create('Globex', 'ansible', 'manage');
    for (const c of ['read', 'manage', 'other'] as const) access[c] = await accessToken(credentials[c]!);
  });
  afterAll(() => server.close());

  const cases = Object.entries(matrix).flatMap(([op, row]) => Object.entries(row).map(([caller, expected]) => [op, caller as Caller, expected] as const));
  test.each(cases)('When %s is called by %s, then it answers %p', async (op, caller, expected) => {
    const call = ops[op];
    const body = op === 'createVa' ? { name: `VA-${caller}` } : call.body;
    const res = await send(caller, { ...call, body });
    const [status, code] = Array.isArray(expected) ? expected : [expected, undefined];
    expect(res.status).toBe(status);
    if (code) expect(res.body.error.code).toBe(code);
  });

  test('When a session calls an operation that only API clients call, then the same prefix under /backend answers the same', async () => {
    const res = await send('admin', { ...ops.licenses, path: `/backend${ops.licenses.path}` });
    expect([res.status, res.body.error.code]).toEqual([403, 'CREDENTIALS_NOT_ACCEPTED']);
  });

  test('When tokens are listed, then admins and manage clients get the token strings, operators and read clients the metadata only', async () => {
    await s.post(TOKENS, { description: 'visible', expiresInDays: 3 });
    for (const [caller, withStrings] of [['admin', true], ['manage', true], ['operator', false], ['read', false]] as const) {
      const res = await send(caller, ops.listTokens);
      expect(res.status).toBe(200);
      expect(res.body.tokens.length).toBeGreaterThan(0);
      for (const t of res.body.tokens) expect([caller, typeof t.token]).toEqual([caller, withStrings ? 'string' : 'undefined']);
      expect(res.body.tokens[0]).toMatchObject({ description: expect.any(String), status: 'ACTIVE', usesLeft: expect.any(Number) });
    }
  });

  test('When a manage client revokes a token of another account, then it answers 404 TOKEN_NOT_FOUND and the token stays active', async () => {
    const globexToken = (await s.post('/api/v1/accounts/Globex/virtual-accounts/Default/tokens', { description: 'theirs', expiresInDays: 3 })).body;
    const res = await send('manage', { method: 'post', path: `/api/v1/tokens/${globexToken.id}/revoke` });
    expect([res.status, res.body.error.code]).toEqual([404, 'TOKEN_NOT_FOUND']);
    const read = await send('read', { method: 'post', path: `/api/v1/tokens/${globexToken.id}/revoke` });
    expect([read.status, read.body.error.code]).toEqual([403, 'API_CLIENT_PERMISSION_DENIED']);
    const row = await server.ctx.db.registrationToken.findUniqueOrThrow({ where: { id: globexToken.id } });
    expect(row.revokedAt).toBeNull();
  });

  test('When an access token is forged for a client that never existed, then it answers 401 ACCESS_TOKEN_REVOKED', async () => {
    const acme = await server.ctx.accounts.resolveAccount('Acme');
    const forged = server.ctx.jwt.sign({ sub: 'not-a-client', acct: 'Acme', acctId: acme.accountId }, 'slm:api', 60);
    const res = await server.http().post(ops.licenses.path).auth(forged, { type: 'bearer' }).send({ limit: -1 });
    expect([res.status, res.body.error.code]).toEqual([401, 'ACCESS_TOKEN_REVOKED']);
  });

  test('When the account is deactivated, then its clients\' access tokens stop at once and no new one is issued', async () => {
    const c = (await s.post('/api/v1/accounts/Initech/api-clients', { name: 'monitor' })).body as Credentials;
    const token = await accessToken(c);
    const call = () => server.http().post('/api/v1/accounts/Initech/licenses').auth(token, { type: 'bearer' }).send({ limit: -1 });
    expect((await call()).status).toBe(200);
    expect((await s.post('/api/v1/accounts/Initech/deactivate')).status).toBe(200);
    const res = await call();
    expect([res.status, res.body.error.code]).toEqual([401, 'ACCESS_TOKEN_REVOKED']);
    expect((await oauth(c)).body.error).toBe('unauthorized_client');
  });

  test('When an admin deletes a client, then its access tokens stop at once; deleting it again or from another account is 404', async () => {
    const c = (await s.post('/api/v1/accounts/Acme/api-clients', { name: 'short-lived', permission: 'manage' })).body as Credentials;
    const token = await accessToken(c);
    const call = () => server.http().get(TOKENS).auth(token, { type: 'bearer' });
    expect((await call()).status).toBe(200);
    const wrongAccount = await server.http().delete(`/api/v1/accounts/Globex/api-clients/${c.clientId}`).auth(s.admin, { type: 'bearer' });
    expect([wrongAccount.status, wrongAccount.body.error.code]).toEqual([404, 'API_CLIENT_NOT_FOUND']);
    const byOperator = await server.http().delete(`/api/v1/accounts/Acme/api-clients/${c.clientId}`).auth(s.operator, { type: 'bearer' });
    expect(byOperator.status).toBe(403);
    const deleted = await server.http().delete(`/api/v1/accounts/Acme/api-clients/${c.clientId}`).auth(s.admin, { type: 'bearer' });
    expect(deleted.status).toBe(204);
    const res = await call();
    expect([res.status, res.body.error.code]).toEqual([401, 'ACCESS_TOKEN_REVOKED']);
    expect((await oauth(c)).status).toBe(401);
    const again = await server.http().delete(`/api/v1/accounts/Acme/api-clients/${c.clientId}`).auth(s.admin, { type: 'bearer' });
    expect(again.status).toBe(404);
    const events = await s.get('/api/v1/events?action=api-client.delete');
    expect(events.body.events[0]).toMatchObject({ actor: 'admin', objectId: c.clientId });
  });

  test('When an admin rotates a secret, then the new secret is shown once, the old one and its access tokens stop working', async () => {
    const c = (await s.post('/api/v1/accounts/Acme/api-clients', { name: 'rotating' })).body as Credentials;
    const before = await accessToken(c);
    const byOperator = await s.post(`/api/v1/accounts/Acme/api-clients/${c.clientId}/rotate-secret`, undefined, s.operator);
    expect(byOperator.status).toBe(403);
    const rotated = await s.post(`/api/v1/accounts/Acme/api-clients/${c.clientId}/rotate-secret`);
    expect(rotated.status).toBe(200);
    expect(rotated.headers['cache-control']).toBe('no-store');
    expect(rotated.body).toEqual({ clientId: c.clientId, clientSecret: expect.any(String) });
    const stale = await server.http().post(ops.alerts.path).auth(before, { type: 'bearer' }).send({ limit: -1 });
    expect([stale.status, stale.body.error.code]).toEqual([401, 'ACCESS_TOKEN_REVOKED']);
    expect((await oauth(c)).status).toBe(401);
    const fresh = await accessToken({ clientId: c.clientId, clientSecret: rotated.body.clientSecret });
    expect((await server.http().post(ops.alerts.path).auth(fresh, { type: 'bearer' }).send({ limit: -1 })).status).toBe(200);
    const unknown = await s.post(`/api/v1/accounts/Acme/api-clients/${'0'.repeat(32)}/rotate-secret`);
    expect([unknown.status, unknown.body.error.code]).toEqual([404, 'API_CLIENT_NOT_FOUND']);
    const malformed = await s.post('/api/v1/accounts/Acme/api-clients/bad%00id/rotate-secret');
    expect([malformed.status, malformed.body.error.code]).toEqual([400, 'VALIDATION_FAILED']);
  });

  test('When clients are listed, then each shows its permission, and a bad permission is refused', async () => {
    const list = await s.get('/api/v1/accounts/Acme/api-clients', s.operator);
    expect(list.body.apiClients.map((c: { name: string; permission: string }) => [c.name, c.permission])).toEqual(expect.arrayContaining([['ansible', 'manage'], ['monitor', 'read']]));
    const bad = await s.post('/api/v1/accounts/Acme/api-clients', { name: 'odd', permission: 'admin' });
    expect([bad.status, bad.body.error.code]).toEqual([400, 'VALIDATION_FAILED']);
  });
});
