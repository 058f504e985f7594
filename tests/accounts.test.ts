import path from 'node:path';
import { ADMIN_PASSWORD, startTestServer, type TestServer } from './support/test-server';
import { type AdminSessions, adminSessions } from './support/admin-session';

describe('Local accounts and virtual accounts', () => {
  let server: TestServer;
  let operator: string;
  let get: AdminSessions['get'];
  let post: AdminSessions['post'];

  beforeAll(async () => {
    server = await startTestServer();
    ({ operator, get, post } = await adminSessions(server));
  });
  afterAll(() => server.close());

  test('When an admin requests an account, then it is REQUESTED with a Default virtual account and the request is logged', async () => {
    const res = await post('/api/v1/accounts', { name: 'Acme Corp', description: 'Acme production', contactEmail: 'ops@acme.example' });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      name: 'Acme Corp', description: 'Acme production', contactEmail: 'ops@acme.example', smartAccount: null, status: 'REQUESTED', approvedAt: null,
    });
    expect(res.body.virtualAccounts.map((v: { name: string }) => v.name)).toEqual(['Default']);

    const fetched = await get('/api/v1/accounts/Acme%20Corp');
    expect(fetched.status).toBe(200);
    expect(fetched.body).toEqual(res.body);
    const events = await get('/api/v1/events?action=account.request');
    expect(events.body.events[0]).toMatchObject({ actor: 'admin', objectType: 'account', objectId: 'Acme Corp', outcome: 'success' });
  });

  test('When an account name is taken, then the request answers 409 ACCOUNT_EXISTS and creates nothing', async () => {
    await post('/api/v1/accounts', { name: 'Twice' });
    const res = await post('/api/v1/accounts', { name: 'Twice', description: 'again' });
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('ACCOUNT_EXISTS');
    const list = await get('/api/v1/accounts');
    expect(list.body.accounts.filter((a: { name: string }) => a.name === 'Twice')).toHaveLength(1);
  });

  test.each([
    ['no name', {}],
    ['a name with a slash', { name: 'bad/name' }],
    ['a name starting with a space', { name: ' lead' }],
    ['a name of 65 characters', { name: 'x'.repeat(65) }],
    ['a numeric name', { name: 42 }],
    ['a malformed contact email', { name: 'Mail', contactEmail: 'not-an-email' }],
    ['an unknown field', { name: 'Extra', owner: 'me' }],
  ])('When the account request has %s, then it answers 400 VALIDATION_FAILED', async (_label, body) => {
    const res = await post('/api/v1/accounts', body);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('VALIDATION_FAILED');
  });

  test('When an account is approved, deactivated and approved again, then each step changes the status once and wrong steps answer 409 INVALID_ACCOUNT_STATE', async () => {
    await post('/api/v1/accounts', { name: 'Lifecycle' });
    const approved = await post('/api/v1/accounts/Lifecycle/approve', { smartAccount: 'lifecycle.example' });
    expect(approved.status).toBe(200);
    expect(approved.body).toMatchObject({ status: 'ACTIVE', smartAccount: 'lifecycle.example' });
    expect(Date.parse(approved.body.approvedAt)).toBeGreaterThan(Date.now() - 60_000);

    const again = await post('/api/v1/accounts/Lifecycle/approve');
    expect(again.status).toBe(409);
    expect(again.body.error).toMatchObject({ code: 'INVALID_ACCOUNT_STATE', details: { status: 'ACTIVE' } });

    expect((await post('/api/v1/accounts/Lifecycle/deactivate')).body.status).toBe('INACTIVE');
    const twice = await post('/api/v1/accounts/Lifecycle/deactivate');
    expect(twice.status).toBe(409);
    expect(twice.body.error.code).toBe('INVALID_ACCOUNT_STATE');

    const reactivated = await post('/api/v1/accounts/Lifecycle/approve');
    expect(reactivated.body).toMatchObject({ status: 'ACTIVE', smartAccount: 'lifecycle.example' });
    const events = await get('/api/v1/events?action=account.deactivate');
    expect(events.body.events[0]).toMatchObject({ objectId: 'Lifecycle', outcome: 'success' });
  });

  test('When a requested account is deactivated, then the request is rejected (INACTIVE)', async () => {
    await post('/api/v1/accounts', { name: 'Rejected' });
    const res = await post('/api/v1/accounts/Rejected/deactivate');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'INACTIVE', approvedAt: null });
  });

  test('When five admins approve the same account at once, then exactly one succeeds and one event is logged', async () => {
    await post('/api/v1/accounts', { name: 'Race' });
    const results = await Promise.all(Array.from({ length: 5 }, () => post('/api/v1/accounts/Race/approve')));
    expect(results.map((r) => r.status).sort()).toEqual([200, 409, 409, 409, 409]);
    const events = await get('/api/v1/events?action=account.approve&pageSize=500');
    expect(events.body.events.filter((e: { objectId: string }) => e.objectId === 'Race')).toHaveLength(1);
  });

  test('When the approve body has a wrong field, then it answers 400 VALIDATION_FAILED', async () => {
    await post('/api/v1/accounts', { name: 'Strict' });
    for (const body of [{ smartAccount: '' }, { smartAccount: 7 }, { approvedBy: 'me' }]) {
      const res = await post('/api/v1/accounts/Strict/approve', body);
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('VALIDATION_FAILED');
    }
    expect((await get('/api/v1/accounts/Strict')).body.status).toBe('REQUESTED');
  });

  test('When an account is unknown, then every account endpoint answers 404 ACCOUNT_NOT_FOUND', async () => {
    const responses = [
      await get('/api/v1/accounts/Nobody'),
      await post('/api/v1/accounts/Nobody/approve'),
      await post('/api/v1/accounts/Nobody/deactivate'),
      await get('/api/v1/accounts/Nobody/virtual-accounts'),
      await post('/api/v1/accounts/Nobody/virtual-accounts', { name: 'Lab' }),
    ];
    for (const res of responses) {
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe('ACCOUNT_NOT_FOUND');
    }
  });

  test('When a virtual account is created, then it is listed by name and a duplicate answers 409 VIRTUAL_ACCOUNT_EXISTS', async () => {
    await post('/api/v1/accounts', { name: 'Globex' });
    const created = await post('/api/v1/accounts/Globex/virtual-accounts', { name: 'Lab 1' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'Lab 1' });
    const list = await get('/api/v1/accounts/Globex/virtual-accounts');
    expect(list.body.virtualAccounts.map((v: { name: string }) => v.name)).toEqual(['Default', 'Lab 1']);
    for (const name of ['Lab 1', 'Default']) {
      const dup = await post('/api/v1/accounts/Globex/virtual-accounts', { name });
      expect(dup.status).toBe(409);
      expect(dup.body.error.code).toBe('VIRTUAL_ACCOUNT_EXISTS');
    }
    const bad = await post('/api/v1/accounts/Globex/virtual-accounts', { name: 'no/slash' });
    expect(bad.body.error.code).toBe('VALIDATION_FAILED');
    const events = await get('/api/v1/events?action=virtual-account.create');
    expect(events.body.events[0]).toMatchObject({ objectId: 'Globex/Lab 1' });
  });

  test('When the same virtual account name is used in two accounts, then both exist', async () => {
    await post('/api/v1/accounts', { name: 'Initech' });
    const res = await post('/api/v1/accounts/Initech/virtual-accounts', { name: 'Lab 1' });
    expect(res.status).toBe(201);
  });

  test('When an operator reads, then it works, and when an operator writes, then it answers 403 FORBIDDEN and changes nothing', async () => {
    expect((await get('/api/v1/accounts', operator)).status).toBe(200);
    expect((await get('/api/v1/accounts/Acme%20Corp', operator)).status).toBe(200);
    expect((await get('/api/v1/accounts/Acme%20Corp/virtual-accounts', operator)).status).toBe(200);
    const writes = [
      await post('/api/v1/accounts', { name: 'ByOperator' }, operator),
      await post('/api/v1/accounts/Acme%20Corp/approve', {}, operator),
      await post('/api/v1/accounts/Acme%20Corp/deactivate', undefined, operator),
      await post('/api/v1/accounts/Acme%20Corp/virtual-accounts', { name: 'Ops' }, operator),
    ];
    for (const res of writes) {
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe('FORBIDDEN');
    }
    expect((await get('/api/v1/accounts/Acme%20Corp')).body.status).toBe('REQUESTED');
    expect((await get('/api/v1/accounts/ByOperator')).status).toBe(404);
  });

  test('When no session is sent, then account endpoints answer 401 AUTHENTICATION_REQUIRED', async () => {
    const res = await server.http().get('/api/v1/accounts');
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('AUTHENTICATION_REQUIRED');
  });

  test('When another feature resolves names, then it gets the ids, or ACCOUNT_NOT_FOUND / VIRTUAL_ACCOUNT_NOT_FOUND', async () => {
    const account = (await get('/api/v1/accounts/Globex')).body;
    const lab = account.virtualAccounts.find((v: { name: string }) => v.name === 'Lab 1');
    await expect(server.ctx.accounts.resolveVirtualAccount('Globex', 'Lab 1')).resolves.toEqual({
      accountId: account.id, accountName: 'Globex', accountStatus: 'REQUESTED', smartAccount: null, virtualAccountId: lab.id, virtualAccountName: 'Lab 1',
    });
    await expect(server.ctx.accounts.resolveVirtualAccount('Globex', 'Nope')).rejects.toMatchObject({ code: 'VIRTUAL_ACCOUNT_NOT_FOUND', status: 404 });
    await expect(server.ctx.accounts.resolveVirtualAccount('Nope', 'Default')).rejects.toMatchObject({ code: 'ACCOUNT_NOT_FOUND', status: 404 });
    const missingVa = await get('/api/v1/accounts/Globex/virtual-accounts/Nope/tokens');
    expect(missingVa.status).toBe(404);
    expect(missingVa.body.error.code).toBe('VIRTUAL_ACCOUNT_NOT_FOUND');
  });

  test('When accounts are listed, then they come sorted by name with the allow-listed fields only', async () => {
    const res = await get('/api/v1/accounts');
    const names = res.body.accounts.map((a: { name: string }) => a.name);
    expect(names).toEqual([...names].sort());
    expect(Object.keys(res.body.accounts[0]).sort()).toEqual(['approvedAt', 'contactEmail', 'createdAt', 'description', 'id', 'name', 'smartAccount', 'status']);
  });
});

describe('Admin CLI: account, token and client commands against a running server', () => {
  let server: TestServer;
  let printed: string[];
  let logSpy: jest.SpyInstance;
  let errorSpy: jest.SpyInstance;
  let exitSpy: jest.SpyInstance;

  /** Runs `slm <args>` in-process with the shared API options, returning what it printed. */
  const slm = async (...args: string[]) => {
    printed = [];
    const { program } = await import('../src/cli/index');
    await program.parseAsync(['node', 'slm', ...args, '--url', server.url, '--password', ADMIN_PASSWORD, '--ca', path.join(server.dataDir, 'certs', 'ca.pem')]);
    return printed.join('\n');
  };
  const slmJson = async (...args: string[]) => JSON.parse(await slm(...args, '--json'));

  beforeAll(async () => {
    server = await startTestServer();
  });
  beforeEach(() => {
    logSpy = jest.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void printed.push(a.join(' ')));
    errorSpy = jest.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void printed.push(a.join(' ')));
    exitSpy = jest.spyOn(process, 'exit').mockImplementation((code?: string | number | null) => {
      throw new Error(`exit ${code}`);
    });
  });
  afterEach(() => {
    logSpy.mockRestore();
    errorSpy.mockRestore();
    exitSpy.mockRestore();
  });
  afterAll(() => server.close());

  test('When an admin walks through account create, approve, token create/list/revoke and client create, then each step takes effect on the server', async () => {
    expect(await slmJson('account', 'create', 'Cli Corp', '--description', 'from the CLI')).toMatchObject({ name: 'Cli Corp', status: 'REQUESTED' });
    const table = await slm('account', 'approve', 'Cli Corp', '--smart-account', 'cli.example');
    expect(table.split('\n')[0]).toMatch(/^name\s+status\s+smartAccount/);
    expect(table).toMatch(/Cli Corp\s+ACTIVE\s+cli\.example/);
    expect((await slmJson('account', 'list')).accounts.map((a: { name: string }) => a.name)).toEqual(['Cli Corp']);

    const tokenOut = await slm('token', 'create', 'Cli Corp', '--description', 'lab', '--expires-days', '7', '--max-uses', '3', '--export-controlled');
    const tokenString = tokenOut.trim().split('\n').pop()!;
    const consumed = await server.ctx.db.$transaction((tx) => server.ctx.tokens.consume(tx, tokenString, new Date()));
    expect(consumed).toMatchObject({ accountName: 'Cli Corp', virtualAccountName: 'Default', exportControlled: true });
    const listed = await slmJson('token', 'list', 'Cli Corp');
    expect(listed.tokens).toEqual([expect.objectContaining({ id: consumed.tokenId, uses: 1, maxUses: 3, status: 'ACTIVE' })]);
    expect((await slmJson('token', 'revoke', consumed.tokenId)).status).toBe('REVOKED');

    const client = await slmJson('client', 'create', 'Cli Corp', 'nagios');
    const grant = await server.http().post('/backend/oauth/token').type('form')
      .send({ grant_type: 'client_credentials', client_id: client.clientId, client_secret: client.clientSecret });
    expect(grant.status).toBe(200);
  });

  test('When a command fails on the server, then it prints CODE: message and exits 1', async () => {
    await expect(slm('account', 'approve', 'Nobody')).rejects.toThrow('exit 1');
    expect(printed.join('\n')).toMatch(/^ACCOUNT_NOT_FOUND: no account named Nobody/m);
  });

  test('When a numeric option is not a positive integer, then the CLI refuses it before calling the server', async () => {
    // commander reports argument errors on stderr itself.
    const tokensBefore = await server.ctx.db.registrationToken.count();
    let stderr = '';
    const stderrSpy = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => ((stderr += String(chunk)), true));
    try {
      await expect(slm('token', 'create', 'Cli Corp', '--description', 'x', '--max-uses', '0')).rejects.toThrow('exit 1');
    } finally {
      stderrSpy.mockRestore();
    }
    expect(stderr).toMatch(/--max-uses.*must be a positive integer/);
    expect(await server.ctx.db.registrationToken.count()).toBe(tokensBefore);
  });
});
