import jwt from 'jsonwebtoken';
import { startTestServer, type TestServer } from './support/test-server';
import { type AdminSessions, adminSessions } from './support/admin-session';

describe('API clients and the OAuth client-credentials grant', () => {
  let server: TestServer;
  let admin: string;
  let operator: string;
  let get: AdminSessions['get'];
  let post: AdminSessions['post'];
  let client: { clientId: string; clientSecret: string };
  const oauth = () => server.http().post('/backend/oauth/token');
  const grant = (c = client) => ({ grant_type: 'client_credentials', client_id: c.clientId, client_secret: c.clientSecret });

  beforeAll(async () => {
    server = await startTestServer();
    ({ admin, operator, get, post } = await adminSessions(server));
    for (const name of ['Acme', 'Globex']) {
      await post('/api/v1/accounts', { name });
      await post(`/api/v1/accounts/${name}/approve`);
    }
    await post('/api/v1/accounts', { name: 'Pending' });
    client = (await post('/api/v1/accounts/Acme/api-clients', { name: 'monitoring' })).body;
  });
  afterAll(() => server.close());

  test('When an admin creates a client, then the secret is shown once, stored only as a hash, and never listed', async () => {
    const res = await post('/api/v1/accounts/Acme/api-clients', { name: 'portal' });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ name: 'portal', accountName: 'Acme' });
    expect(res.body.clientId).toMatch(/^[0-9a-f]{32}$/);
    expect(res.body.clientSecret.length).toBeGreaterThanOrEqual(43);
    const row = await server.ctx.db.apiClient.findUniqueOrThrow({ where: { clientId: res.body.clientId } });
    expect(row.secretHash).toMatch(/^scrypt\$/);
    expect(row.secretHash).not.toContain(res.body.clientSecret);

    const list = await get('/api/v1/accounts/Acme/api-clients', operator);
    expect(list.status).toBe(200);
    expect(list.body.apiClients.map((c: { name: string }) => c.name)).toEqual(['monitoring', 'portal']);
    for (const c of list.body.apiClients) expect(Object.keys(c).sort()).toEqual(['accountName', 'clientId', 'createdAt', 'name', 'permission']);
    expect(JSON.stringify(list.body)).not.toContain(res.body.clientSecret);
    const events = await get('/api/v1/events?action=api-client.create');
    expect(events.body.events[0]).toMatchObject({ objectId: res.body.clientId, details: { account: 'Acme', name: 'portal' } });
  });

  test('When a client name is taken in the account, then it answers 409 API_CLIENT_EXISTS; another account may reuse it', async () => {
    const dup = await post('/api/v1/accounts/Acme/api-clients', { name: 'monitoring' });
    expect(dup.status).toBe(409);
    expect(dup.body.error.code).toBe('API_CLIENT_EXISTS');
    expect((await post('/api/v1/accounts/Globex/api-clients', { name: 'monitoring' })).status).toBe(201);
  });

  test('When the client request is bad, the account unknown or the caller an operator, then it answers 400, 404 or 403 with its code', async () => {
    for (const body of [{}, { name: '' }, { name: 'a/b' }, { name: 5 }, { name: 'ok', secret: 'mine' }]) {
      const res = await post('/api/v1/accounts/Acme/api-clients', body);
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('VALIDATION_FAILED');
    }
    for (const res of [await post('/api/v1/accounts/Nobody/api-clients', { name: 'x' }), await get('/api/v1/accounts/Nobody/api-clients')]) {
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe('ACCOUNT_NOT_FOUND');
    }
    const denied = await post('/api/v1/accounts/Acme/api-clients', { name: 'by-operator' }, operator);
    expect(denied.status).toBe(403);
    expect(denied.body.error.code).toBe('FORBIDDEN');
  });

  test('When a client posts its credentials as JSON, then it gets a Bearer access token for its account that is not cached', async () => {
    const res = await oauth().send(grant());
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body).toEqual({ access_token: expect.any(String), token_type: 'Bearer', expires_in: server.ctx.config.accessTokenTtlSeconds });
    const claims = server.ctx.jwt.verify<jwt.JwtPayload>(res.body.access_token, 'slm:api');
    const acme = await server.ctx.accounts.resolveAccount('Acme');
    expect(claims).toMatchObject({ sub: client.clientId, acct: 'Acme', acctId: acme.accountId });
    expect(claims.exp! - claims.iat!).toBe(server.ctx.config.accessTokenTtlSeconds);
  });

  test('When a client posts its credentials form-encoded, then it gets an access token too', async () => {
    const res = await oauth().type('form').send(grant());
    expect(res.status).toBe(200);
    expect(res.body.token_type).toBe('Bearer');
  });

  test('When the secret is wrong or the client unknown, then it answers 401 invalid_client, logging failures of real clients only', async () => {
    for (const body of [{ ...grant(), client_secret: 'wrong' }, { ...grant(), client_id: 'no-such-client' }]) {
      const res = await oauth().send(body);
      expect(res.status).toBe(401);
      expect(res.body).toEqual({ error: 'invalid_client', error_description: expect.any(String) });
    }
    const events = await get('/api/v1/events?action=api-client.token');
    expect(events.body.events.map((e: { objectId: string; outcome: string }) => [e.objectId, e.outcome])).toEqual([[client.clientId, 'failure']]);
  });

  test('When the client authenticates with HTTP Basic, then it gets a token; with both Basic and body credentials, invalid_request', async () => {
    const basic = await oauth().auth(client.clientId, client.clientSecret).type('form').send({ grant_type: 'client_credentials' });
    expect(basic.status).toBe(200);
    expect(basic.body.token_type).toBe('Bearer');
    const wrong = await oauth().auth(client.clientId, 'wrong').type('form').send({ grant_type: 'client_credentials' });
    expect(wrong.status).toBe(401);
    expect(wrong.body.error).toBe('invalid_client');
    const both = await oauth().auth(client.clientId, client.clientSecret).send(grant());
    expect(both.status).toBe(400);
    expect(both.body.error).toBe('invalid_request');
  });

  test('When the grant type is not client_credentials, then it answers 400 unsupported_grant_type', async () => {
    for (const grantType of ['password', 'authorization_code']) {
      const res = await oauth().type('form').send({ ...grant(), grant_type: grantType });
      expect(res.status).toBe(400);
      expect(res.body.error).toBe('unsupported_grant_type');
    }
  });

  test.each([
    ['no grant_type', () => ({ client_id: client.clientId, client_secret: client.clientSecret })],
    ['no client_secret', () => ({ grant_type: 'client_credentials', client_id: client.clientId })],
    ['no client_id', () => ({ grant_type: 'client_credentials', client_secret: client.clientSecret })],
    ['a numeric client_secret', () => ({ ...grant(), client_secret: 12345 })],
    ['an unknown field', () => ({ ...grant(), audience: 'elsewhere' })],
  ])('When the token request has %s, then it answers 400 invalid_request', async (_label, body) => {
    const res = await oauth().send(body());
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_request');
  });

  test('When the token request body is malformed JSON or of another media type, then it answers invalid_request', async () => {
    const malformed = await oauth().set('content-type', 'application/json').send('{"grant_type":');
    expect(malformed.status).toBe(400);
    expect(malformed.body.error).toBe('invalid_request');
    const text = await oauth().set('content-type', 'text/plain').send('grant_type=client_credentials');
    expect(text.status).toBe(415);
    expect(text.body.error).toBe('invalid_request');
  });

  test('When the client\'s account is not active, then it answers 400 unauthorized_client', async () => {
    const pending = (await post('/api/v1/accounts/Pending/api-clients', { name: 'early' })).body;
    const res = await oauth().send(grant(pending));
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('unauthorized_client');
    await post('/api/v1/accounts/Pending/approve');
    expect((await oauth().send(grant(pending))).status).toBe(200);
  });

  test('When the access token is used on a toolkit endpoint, then it is accepted, forged, expired or alg none tokens answer 401 ACCESS_TOKEN_INVALID, a session 403', async () => {
    const accessToken = (await oauth().send(grant())).body.access_token as string;
    const call = (token?: string) => {
      const req = server.http().post('/api/v1/accounts/Acme/alerts').send({ limit: -1 });
      return token === undefined ? req : req.auth(token, { type: 'bearer' });
    };
    const ok = await call(accessToken);
    expect(ok.status).toBe(200);
    expect(Array.isArray(ok.body.alerts)).toBe(true);

    const [header, payload, signature] = accessToken.split('.');
    const claims = jwt.decode(accessToken) as jwt.JwtPayload;
    const encode = (obj: object) => Buffer.from(JSON.stringify(obj)).toString('base64url');
    const bad = [
      `${encode({ alg: 'none', typ: 'JWT' })}.${payload}.`,
      jwt.sign({ acct: 'Acme', acctId: claims.acctId }, 'secret', { algorithm: 'HS256', audience: 'slm:api', issuer: 'slm-onprem', subject: client.clientId }),
      `${header}.${encode({ ...claims, acct: 'Globex' })}.${signature}`,
      server.ctx.jwt.sign({ sub: client.clientId, acct: 'Acme', acctId: claims.acctId }, 'slm:api', -10),
      'garbage',
    ];
    for (const token of bad) {
      const res = await call(token);
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('ACCESS_TOKEN_INVALID');
    }
    const session = await call(admin);
    expect([session.status, session.body.error.code]).toEqual([403, 'CREDENTIALS_NOT_ACCEPTED']);
    const missing = await call();
    expect(missing.status).toBe(401);
    expect(missing.body.error.code).toBe('AUTHENTICATION_REQUIRED');
  });

  test('When an access token is used for another account, then the toolkit endpoint answers 403', async () => {
    const accessToken = (await oauth().send(grant())).body.access_token as string;
    const res = await server.http().post('/api/v1/accounts/Globex/licenses').auth(accessToken, { type: 'bearer' }).send({ limit: -1 });
    expect(res.status).toBe(403);
  });
});
