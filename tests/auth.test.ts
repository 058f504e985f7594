import jwt from 'jsonwebtoken';
import { startTestServer, type TestServer } from './support/test-server';

describe('Admin authentication and users', () => {
  let server: TestServer;
  let adminToken: string;

  beforeAll(async () => {
    server = await startTestServer({ env: { SLM_LOGIN_MAX_FAILURES: '3' } });
    adminToken = await server.login();
  });
  afterAll(() => server.close());

  test('When the server starts, then /healthz answers ok over HTTPS', async () => {
    const res = await server.http().get('/healthz');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok' });
    expect(res.headers['x-request-id']).toBeDefined();
  });

  test('When the password is wrong, then login answers 401 INVALID_CREDENTIALS and the failure is logged', async () => {
    const res = await server.http().post('/api/v1/auth/login').send({ username: 'admin', password: 'nope' });
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('INVALID_CREDENTIALS');
    const events = await server.http().get('/api/v1/events?action=auth.login').auth(adminToken, { type: 'bearer' });
    expect(events.body.events[0]).toMatchObject({ actor: 'admin', outcome: 'failure' });
  });

  test('When a login misses a field, then it answers 400 VALIDATION_FAILED', async () => {
    const res = await server.http().post('/api/v1/auth/login').send({ username: 'admin' });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('VALIDATION_FAILED');
  });

  test('When the body is not JSON, then it answers 400 INVALID_JSON', async () => {
    const res = await server.http().post('/api/v1/auth/login').set('content-type', 'application/json').send('{"username":');
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('INVALID_JSON');
  });

  test('When the body is larger than the limit, then it answers 413 PAYLOAD_TOO_LARGE', async () => {
    const res = await server.http().post('/api/v1/auth/login').send({ username: 'a', password: 'x'.repeat(2_000_000) });
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe('PAYLOAD_TOO_LARGE');
  });

  test('When no token is sent, then admin endpoints answer 401 AUTHENTICATION_REQUIRED', async () => {
    const res = await server.http().get('/api/v1/users');
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('AUTHENTICATION_REQUIRED');
  });

  test('When the token is forged, expired or alg none, then it answers 401 SESSION_INVALID or SESSION_EXPIRED', async () => {
    const [header, payload] = adminToken.split('.');
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${payload}.`;
    const hs = jwt.sign({ sub: 'admin', role: 'admin' }, 'secret', { algorithm: 'HS256', audience: 'slm:session', issuer: 'slm-onprem' });
    const tampered = `${header}.${Buffer.from(JSON.stringify({ sub: 'admin', role: 'admin', aud: 'slm:session', iss: 'slm-onprem', exp: 9999999999 })).toString('base64url')}.${adminToken.split('.')[2]}`;
    for (const token of [none, hs, tampered, 'garbage']) {
      const res = await server.http().get('/api/v1/users').auth(token, { type: 'bearer' });
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('SESSION_INVALID');
    }
    const expired = server.ctx.jwt.sign({ sub: 'admin', role: 'admin' }, 'slm:session', -10);
    const res = await server.http().get('/api/v1/users').auth(expired, { type: 'bearer' });
    expect(res.body.error.code).toBe('SESSION_EXPIRED');
  });

  test('When an admin creates an operator, then the operator can read but not change', async () => {
    const created = await server.http().post('/api/v1/users').auth(adminToken, { type: 'bearer' })
      .send({ username: 'olga', password: 'operator-pass', role: 'operator' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ username: 'olga', role: 'operator' });
    expect(created.body.passwordHash).toBeUndefined();
    const operator = await server.login('olga', 'operator-pass');
    expect((await server.http().get('/api/v1/events').auth(operator, { type: 'bearer' })).status).toBe(200);
    const denied = await server.http().get('/api/v1/users').auth(operator, { type: 'bearer' });
    expect(denied.status).toBe(403);
    expect(denied.body.error.code).toBe('FORBIDDEN');
    const dup = await server.http().post('/api/v1/users').auth(adminToken, { type: 'bearer' })
      .send({ username: 'olga', password: 'operator-pass', role: 'operator' });
    expect(dup.body.error.code).toBe('USER_EXISTS');
  });

  test('When a user field has the wrong type, then it answers 400 VALIDATION_FAILED', async () => {
    const res = await server.http().post('/api/v1/users').auth(adminToken, { type: 'bearer' })
      .send({ username: 'bob', password: 'long-enough', role: 'root' });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('VALIDATION_FAILED');
  });

  test('When logins keep failing, then they are rate-limited with 429 RATE_LIMITED and Retry-After', async () => {
    let last;
    for (let i = 0; i < 4; i++) {
      last = await server.http().post('/api/v1/auth/login').send({ username: 'victim', password: 'wrong' });
    }
    expect(last!.status).toBe(429);
    expect(last!.body.error.code).toBe('RATE_LIMITED');
    expect(last!.headers['retry-after']).toBeDefined();
  });

  test('When a user is deleted, then they cannot log in any more', async () => {
    await server.http().post('/api/v1/users').auth(adminToken, { type: 'bearer' }).send({ username: 'tmp', password: 'tmp-password', role: 'admin' });
    expect((await server.http().delete('/api/v1/users/tmp').auth(adminToken, { type: 'bearer' })).status).toBe(204);
    const res = await server.http().post('/api/v1/auth/login').send({ username: 'tmp', password: 'tmp-password' });
    expect(res.status).toBe(401);
    expect((await server.http().delete('/api/v1/users/tmp').auth(adminToken, { type: 'bearer' })).body.error.code).toBe('USER_NOT_FOUND');
  });
});
