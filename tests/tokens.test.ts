import { randomUUID } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { startTestServer, type TestServer } from './support/test-server';
import { type AdminSessions, adminSessions } from './support/admin-session';

type TokenView = { id: string; token: string; expiresAt: string; createdAt: string; status: string; uses: number; usesLeft: number; maxUses: number };

describe('Registration tokens', () => {
  let server: TestServer;
  let operator: string;
  let get: AdminSessions['get'];
  let post: AdminSessions['post'];
  let clockOffsetMs = 0;
  const tokensPath = (account: string, va = 'Default') => `/api/v1/accounts/${encodeURIComponent(account)}/virtual-accounts/${encodeURIComponent(va)}/tokens`;
  const createToken = async (account: string, body: object = {}): Promise<TokenView> => {
    const res = await post(tokensPath(account), { description: 'lab routers', expiresInDays: 30, ...body });
    if (res.status !== 201) throw new Error(`token create failed: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  };
  const consume = (idToken: string, now = new Date()) => server.ctx.db.$transaction((tx) => server.ctx.tokens.consume(tx, idToken, now));
  const usesOf = async (id: string) => (await server.ctx.db.registrationToken.findUniqueOrThrow({ where: { id } })).uses;
  const newActiveAccount = async (name: string) => {
    await post('/api/v1/accounts', { name });
    await post(`/api/v1/accounts/${encodeURIComponent(name)}/approve`, { smartAccount: `${name.toLowerCase()}.example` });
  };

  beforeAll(async () => {
    server = await startTestServer({ clock: () => new Date(Date.now() + clockOffsetMs) });
    ({ operator, get, post } = await adminSessions(server));
    await newActiveAccount('Acme');
  });
  afterAll(() => server.close());
  afterEach(() => {
    clockOffsetMs = 0;
  });

  test('When an admin creates a token, then it is a server-signed JWT whose jti is the token id and whose exp is the expiry', async () => {
    const res = await post(tokensPath('Acme'), { description: 'branch routers', expiresInDays: 30, maxUses: 5, exportControlled: true });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ description: 'branch routers', maxUses: 5, uses: 0, usesLeft: 5, exportControlled: true, status: 'ACTIVE', createdBy: 'admin' });
    const expiresAt = Date.parse(res.body.expiresAt);
    expect(expiresAt - Date.parse(res.body.createdAt)).toBeGreaterThan(30 * 86_400_000 - 1000);
    expect(expiresAt - Date.parse(res.body.createdAt)).toBeLessThanOrEqual(30 * 86_400_000);

    const claims = server.ctx.jwt.verify<jwt.JwtPayload>(res.body.token, 'slm:registration');
    const va = await server.ctx.accounts.resolveVirtualAccount('Acme', 'Default');
    expect(claims).toMatchObject({ jti: res.body.id, va: va.virtualAccountId, exp: expiresAt / 1000 });
    const events = await get('/api/v1/events?action=token.create');
    expect(events.body.events[0]).toMatchObject({ objectId: res.body.id, details: { account: 'Acme', virtualAccount: 'Default', maxUses: 5 } });
  });

  test('When tokens are listed, then each shows its uses, status and, to admins only, the same token again (same jti, iat, exp)', async () => {
    const created = await createToken('Acme', { description: 'listed', maxUses: 3 });
    await consume(created.token);
    const byOperator = await get(tokensPath('Acme'), operator);
    expect(byOperator.body.tokens.find((t: TokenView) => t.id === created.id)).toMatchObject({ uses: 1, status: 'ACTIVE' });
    expect(JSON.stringify(byOperator.body)).not.toContain('"token"');
    const list = await get(tokensPath('Acme'));
    expect(list.status).toBe(200);
    const shown = list.body.tokens.find((t: TokenView) => t.id === created.id);
    expect(shown).toMatchObject({ uses: 1, usesLeft: 2, status: 'ACTIVE', expiresAt: created.expiresAt });
    const before = jwt.decode(created.token) as jwt.JwtPayload;
    const after = jwt.decode(shown.token) as jwt.JwtPayload;
    expect([after.jti, after.iat, after.exp, after.va]).toEqual([before.jti, before.iat, before.exp, before.va]);
    await expect(consume(shown.token)).resolves.toMatchObject({ tokenId: created.id });
  });

  test('When maxUses and exportControlled are left out, then the token allows one use and no export-controlled functionality', async () => {
    const created = await createToken('Acme', { description: 'defaults' });
    expect(created).toMatchObject({ maxUses: 1, exportControlled: false });
  });

  test.each([
    ['no description', { expiresInDays: 30 }],
    ['an empty description', { description: '', expiresInDays: 30 }],
    ['no expiry', { description: 'x' }],
    ['expiresInDays 0', { description: 'x', expiresInDays: 0 }],
    ['expiresInDays 366', { description: 'x', expiresInDays: 366 }],
    ['a fractional expiry', { description: 'x', expiresInDays: 1.5 }],
    ['a string expiry', { description: 'x', expiresInDays: '7' }],
    ['maxUses 0', { description: 'x', expiresInDays: 7, maxUses: 0 }],
    ['maxUses above the cap', { description: 'x', expiresInDays: 7, maxUses: 100_001 }],
    ['a non-boolean exportControlled', { description: 'x', expiresInDays: 7, exportControlled: 'yes' }],
    ['an unknown field', { description: 'x', expiresInDays: 7, owner: 'me' }],
  ])('When a token request has %s, then it answers 400 VALIDATION_FAILED', async (_label, body) => {
    const res = await post(tokensPath('Acme'), body);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('VALIDATION_FAILED');
  });

  test('When the account or virtual account is unknown, then token endpoints answer 404 with its code', async () => {
    for (const res of [await get(tokensPath('Nobody')), await post(tokensPath('Nobody'), { description: 'x', expiresInDays: 1 })]) {
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe('ACCOUNT_NOT_FOUND');
    }
    for (const res of [await get(tokensPath('Acme', 'Nope')), await post(tokensPath('Acme', 'Nope'), { description: 'x', expiresInDays: 1 })]) {
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe('VIRTUAL_ACCOUNT_NOT_FOUND');
    }
  });

  test('When the account is not active, then creating a token answers 409 INVALID_ACCOUNT_STATE', async () => {
    await post('/api/v1/accounts', { name: 'Pending' });
    const res = await post(tokensPath('Pending'), { description: 'x', expiresInDays: 1 });
    expect(res.status).toBe(409);
    expect(res.body.error).toMatchObject({ code: 'INVALID_ACCOUNT_STATE', details: { status: 'REQUESTED' } });
  });

  test('When an operator creates or revokes a token, then it answers 403 FORBIDDEN', async () => {
    const created = await createToken('Acme');
    for (const res of [
      await post(tokensPath('Acme'), { description: 'x', expiresInDays: 1 }, operator),
      await post(`/api/v1/tokens/${created.id}/revoke`, undefined, operator),
    ]) {
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe('FORBIDDEN');
    }
    expect((await consume(created.token)).tokenId).toBe(created.id);
  });

  test('When a token is revoked, then it shows REVOKED, a second revoke answers 409 and registrations get TOKEN_REVOKED', async () => {
    const created = await createToken('Acme', { maxUses: 10 });
    const revoked = await post(`/api/v1/tokens/${created.id}/revoke`);
    expect(revoked.status).toBe(200);
    expect(revoked.body).toMatchObject({ id: created.id, status: 'REVOKED' });
    const again = await post(`/api/v1/tokens/${created.id}/revoke`);
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('TOKEN_ALREADY_REVOKED');
    await expect(consume(created.token)).rejects.toMatchObject({ code: 'TOKEN_REVOKED', status: 401 });
    // Revocation is checked before expiry.
    await expect(consume(created.token, new Date(Date.parse(created.expiresAt) + 1000))).rejects.toMatchObject({ code: 'TOKEN_REVOKED' });
    const events = await get('/api/v1/events?action=token.revoke');
    expect(events.body.events[0]).toMatchObject({ objectId: created.id, actor: 'admin' });
  });

  test('When an unknown or malformed token id is revoked, then it answers 404 TOKEN_NOT_FOUND or 400 VALIDATION_FAILED', async () => {
    const unknown = await post(`/api/v1/tokens/${randomUUID()}/revoke`);
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('TOKEN_NOT_FOUND');
    const malformed = await post('/api/v1/tokens/not-a-uuid/revoke');
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.code).toBe('VALIDATION_FAILED');
  });

  test('When a registration uses a token, then it learns the account, virtual account and export flag, and the use is counted', async () => {
    const created = await createToken('Acme', { maxUses: 2, exportControlled: true });
    const va = await server.ctx.accounts.resolveVirtualAccount('Acme', 'Default');
    await expect(consume(created.token)).resolves.toEqual({
      tokenId: created.id,
      virtualAccountId: va.virtualAccountId,
      virtualAccountName: 'Default',
      accountId: va.accountId,
      accountName: 'Acme',
      smartAccount: 'acme.example',
      exportControlled: true,
    });
    expect(await usesOf(created.id)).toBe(1);
  });

  test('When the registration fails after using the token, then the rollback gives the use back', async () => {
    const created = await createToken('Acme');
    await expect(server.ctx.db.$transaction(async (tx) => {
      await server.ctx.tokens.consume(tx, created.token, new Date());
      throw new Error('certificate signing failed');
    })).rejects.toThrow('certificate signing failed');
    expect(await usesOf(created.id)).toBe(0);
    await expect(consume(created.token)).resolves.toMatchObject({ tokenId: created.id });
  });

  test('When all uses are taken, then the next registration gets TOKEN_EXHAUSTED and the list shows EXHAUSTED', async () => {
    const created = await createToken('Acme', { maxUses: 1 });
    await consume(created.token);
    await expect(consume(created.token)).rejects.toMatchObject({ code: 'TOKEN_EXHAUSTED', status: 401 });
    expect(await usesOf(created.id)).toBe(1);
    const shown = (await get(tokensPath('Acme'))).body.tokens.find((t: TokenView) => t.id === created.id);
    expect(shown).toMatchObject({ status: 'EXHAUSTED', usesLeft: 0 });
  });

  test('When 30 registrations race for a token allowing 7 uses, then exactly 7 succeed and the rest get TOKEN_EXHAUSTED', async () => {
    const created = await createToken('Acme', { maxUses: 7 });
    const started = Date.now();
    const results = await Promise.allSettled(Array.from({ length: 30 }, () => consume(created.token)));
    const elapsedMs = Date.now() - started;
    const succeeded = results.filter((r) => r.status === 'fulfilled');
    const codes = results.flatMap((r) => (r.status === 'rejected' ? [(r.reason as { code?: string }).code] : []));
    expect(succeeded).toHaveLength(7);
    expect(codes).toEqual(Array(23).fill('TOKEN_EXHAUSTED'));
    expect(await usesOf(created.id)).toBe(7);
    console.log(`30 concurrent consumes of a 7-use token: ${elapsedMs} ms`);
  });

  test('When the token is past its expiry, then registrations get TOKEN_EXPIRED and the list shows EXPIRED', async () => {
    const created = await createToken('Acme', { expiresInDays: 1 });
    const expiresAt = Date.parse(created.expiresAt);
    await expect(consume(created.token, new Date(expiresAt))).rejects.toMatchObject({ code: 'TOKEN_EXPIRED', status: 401 });
    await expect(consume(created.token, new Date(expiresAt - 1))).resolves.toMatchObject({ tokenId: created.id });
    clockOffsetMs = 2 * 86_400_000;
    const shown = (await get(tokensPath('Acme'))).body.tokens.find((t: TokenView) => t.id === created.id);
    expect(shown.status).toBe('EXPIRED');
  });

  test('When the account was deactivated after the token was made, then registrations get 403 ACCOUNT_INACTIVE and no use is taken', async () => {
    await newActiveAccount('Leaving');
    const created = await createToken('Leaving');
    await post('/api/v1/accounts/Leaving/deactivate');
    await expect(consume(created.token)).rejects.toMatchObject({ code: 'ACCOUNT_INACTIVE', status: 403 });
    expect(await usesOf(created.id)).toBe(0);
  });

  test('When the token is forged, tampered, alg none, of another audience or unknown, then registrations get TOKEN_INVALID', async () => {
    const created = await createToken('Acme', { maxUses: 100 });
    const [header, payload, signature] = created.token.split('.');
    const claims = jwt.decode(created.token) as jwt.JwtPayload;
    const encode = (obj: object) => Buffer.from(JSON.stringify(obj)).toString('base64url');
    const otherVa = (await post('/api/v1/accounts/Acme/virtual-accounts', { name: 'Other' })).body.id as string;
    const forged = [
      'garbage',
      '',
      `${encode({ alg: 'none', typ: 'JWT' })}.${payload}.`,
      jwt.sign({ va: claims.va }, 'secret', { algorithm: 'HS256', audience: 'slm:registration', issuer: 'slm-onprem', jwtid: created.id, expiresIn: 3600 }),
      `${header}.${encode({ ...claims, va: otherVa })}.${signature}`,
      server.ctx.jwt.sign({ va: claims.va }, 'slm:session', 3600, created.id),
      server.ctx.jwt.sign({ va: claims.va }, 'slm:registration', 3600, randomUUID()),
      server.ctx.jwt.sign({ va: claims.va }, 'slm:registration', 3600, 'not-a-uuid'),
      server.ctx.jwt.sign({ va: claims.va }, 'slm:registration', 3600),
      server.ctx.jwt.sign({ va: otherVa }, 'slm:registration', 3600, created.id),
    ];
    for (const idToken of forged) {
      await expect(consume(idToken)).rejects.toMatchObject({ code: 'TOKEN_INVALID', status: 401 });
    }
    expect(await usesOf(created.id)).toBe(0);
  });
});
