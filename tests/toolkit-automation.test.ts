import path from 'node:path';
import { startTestServer, type TestServer } from './support/test-server';
import { inProcessCli } from './support/in-process-cli';
import { TRANSPORT_PATH, transportFixtures } from './transport-helpers';

type Credentials = { clientId: string; clientSecret: string };
const TAG = 'regid.auto.DNA_Advantage';
const ACCOUNT = 'Acme Corp';
const enc = encodeURIComponent;
/** Token strings are re-signed when shown again (ECDSA signatures differ each time); header and claims stay the same. */
const signedPart = (token: string) => token.split('.').slice(0, 2).join('.');

/**
 * The provisioning flow of SSM On-Prem automation (scripts, Ansible modules), call by call as they
 * send it: client credentials at the token endpoint, the token list, a token created with SSM's
 * field names, and a product registering with the token it got.
 */
describe('API Toolkit: automation fetches a registration token and a product registers with it', () => {
  let server: TestServer;
  let admin: string;
  let fx: ReturnType<typeof transportFixtures>;
  let manager: Credentials;
  const cli = inProcessCli();

  const createClient = async (account: string, name: string, permission?: 'read' | 'manage'): Promise<Credentials> => {
    const res = await server.http().post(`/api/v1/accounts/${enc(account)}/api-clients`).auth(admin, { type: 'bearer' })
      .send({ name, ...(permission ? { permission } : {}) });
    expect(res.status).toBe(201);
    return res.body;
  };
  /** What curl -d grant_type=client_credentials -d client_id=... -d client_secret=... sends. */
  const fetchAccessToken = async (c: Credentials, oauthPath = '/oauth/token') => {
    const res = await server.http().post(oauthPath).type('form').send({ grant_type: 'client_credentials', client_id: c.clientId, client_secret: c.clientSecret });
    expect(res.status).toBe(200);
    return res.body.access_token as string;
  };
  const tokensPath = (prefix = '', account = ACCOUNT, va = 'Default') => `${prefix}/api/v1/accounts/${enc(account)}/virtual-accounts/${enc(va)}/tokens`;

  beforeAll(async () => {
    server = await startTestServer();
    admin = await server.login();
    fx = transportFixtures(server, () => admin);
    await fx.account(ACCOUNT, ['Lab']);
    await fx.account('Globex');
    await fx.importLicenses([fx.licenseLine(ACCOUNT, TAG, 10)]);
    manager = await createClient(ACCOUNT, 'provisioning', 'manage');
  });
  afterAll(() => server.close());

  describe.each([
    ['/oauth/token', ''],
    ['/oauth/token', '/backend'],
    ['/backend/oauth/token', ''],
    ['/backend/oauth/token', '/backend'],
  ])('With the token endpoint %s and the prefix "%s"', (oauthPath, prefix) => {
    let accessToken: string;
    let created: { token: string; id: string };

    beforeAll(async () => {
      accessToken = await fetchAccessToken(manager, oauthPath);
    });

    test('When the automation lists the tokens of a virtual account, then it gets 200 and tokens[].token', async () => {
      const existing = await server.http().post(tokensPath()).auth(admin, { type: 'bearer' }).send({ description: 'by admin', expiresInDays: 5 });
      expect(existing.status).toBe(201);
      const res = await server.http().get(tokensPath(prefix)).auth(accessToken, { type: 'bearer' });
      expect(res.status).toBe(200);
      const shown = res.body.tokens.find((t: { id: string }) => t.id === existing.body.id);
      expect(shown.status).toBe('ACTIVE');
      expect(signedPart(shown.token)).toBe(signedPart(existing.body.token));
    });

    test('When it creates a token with SSM field names ("365" as a string), then it gets 200 tokenInfo with the token string', async () => {
      const res = await server.http().post(tokensPath(prefix)).auth(accessToken, { type: 'bearer' })
        .send({ expiresAfterDays: '365', description: `automation ${oauthPath} ${prefix}`, exportControlled: 'Allowed' });
      expect(res.status).toBe(200);
      expect(res.body.tokenInfo).toMatchObject({
        expiresAfterDays: 365, exportControlled: 'Allowed', maxUses: 1, usesLeft: 1, status: 'ACTIVE', createdBy: `api-client:${manager.clientId}`,
      });
      const lifetime = Date.parse(res.body.tokenInfo.expiresAt) - Date.parse(res.body.tokenInfo.createdAt);
      expect(lifetime).toBeGreaterThan(365 * 86_400_000 - 1000);
      expect(lifetime).toBeLessThanOrEqual(365 * 86_400_000);
      created = res.body.tokenInfo;
      const listed = await server.http().get(tokensPath(prefix)).auth(accessToken, { type: 'bearer' });
      expect(listed.body.tokens[0]).toMatchObject({ id: created.id, exportControlled: true });
      expect(signedPart(listed.body.tokens[0].token)).toBe(signedPart(created.token));
      const events = await server.http().get('/api/v1/events?action=token.create').auth(admin, { type: 'bearer' });
      expect(events.body.events[0]).toMatchObject({ actor: `api-client:${manager.clientId}`, objectId: created.id });
    });

    test('When a product registers with that token, then it is registered in the virtual account and listed as a device with its licenses', async () => {
      const sim = fx.product({ hostname: `auto-${prefix || 'plain'}-${oauthPath.length}` });
      const registered = await sim.register(created.token);
      expect(registered).toMatchObject({ status: 'REGISTERED', productInstance: { virtualAccount: 'Default' }, exportControlled: true });
      expect((await sim.authorize([{ tag: TAG, count: 2 }])).overall).toBe('AUTHORIZED');

      const devices = await server.http().get(`${prefix}/api/v1/accounts/${enc(ACCOUNT)}/virtual-accounts/Default/product-instances`)
        .query({ search: sim.state.hostname }).auth(accessToken, { type: 'bearer' });
      expect(devices.status).toBe(200);
      expect(devices.body.productInstances).toEqual([
        expect.objectContaining({ id: sim.instanceId, status: 'REGISTERED', lastContactAt: expect.any(String), licenses: [{ tag: TAG, count: 2 }] }),
      ]);
    });

    test('When it revokes the token, then the token is REVOKED and the revocation is the client\'s in the event log', async () => {
      const res = await server.http().post(`${prefix}/api/v1/tokens/${created.id}/revoke`).auth(accessToken, { type: 'bearer' });
      expect(res.status).toBe(200);
      expect(res.body.status).toBe('REVOKED');
      const events = await server.http().get('/api/v1/events?action=token.revoke').auth(admin, { type: 'bearer' });
      expect(events.body.events[0]).toMatchObject({ actor: `api-client:${manager.clientId}`, objectId: created.id });
    });

    test('When the wait loop polls the tokens path with HTTP Basic, then it gets 403', async () => {
      const res = await server.http().get(tokensPath(prefix)).auth('admin', 'whatever');
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe('CREDENTIALS_NOT_ACCEPTED');
    });
  });

  test('When /oauth/token gets JSON, HTTP Basic, a wrong secret or another grant, then it answers as /backend/oauth/token does', async () => {
    const json = await server.http().post('/oauth/token').send({ grant_type: 'client_credentials', client_id: manager.clientId, client_secret: manager.clientSecret });
    expect([json.status, json.body.token_type, json.headers['cache-control']]).toEqual([200, 'Bearer', 'no-store']);
    const basic = await server.http().post('/oauth/token').auth(manager.clientId, manager.clientSecret).type('form').send({ grant_type: 'client_credentials' });
    expect(basic.status).toBe(200);
    const wrong = await server.http().post('/oauth/token').type('form').send({ grant_type: 'client_credentials', client_id: manager.clientId, client_secret: 'wrong' });
    expect([wrong.status, wrong.body]).toEqual([401, { error: 'invalid_client', error_description: expect.any(String) }]);
    const grant = await server.http().post('/oauth/token').type('form').send({ grant_type: 'password', client_id: manager.clientId, client_secret: manager.clientSecret });
    expect([grant.status, grant.body.error]).toEqual([400, 'unsupported_grant_type']);
    const unknownField = await server.http().post('/oauth/token').send({ grant_type: 'client_credentials', client_id: manager.clientId, client_secret: manager.clientSecret, audience: 'x' });
    expect([unknownField.status, unknownField.body.error]).toEqual([400, 'invalid_request']);
  });

  test('When expiresAfterDays is a number, then it is accepted too; out of 1-365 or not digits, 400', async () => {
    const accessToken = await fetchAccessToken(manager);
    const create = (body: object) => server.http().post(tokensPath('/backend')).auth(accessToken, { type: 'bearer' }).send({ description: 'd', ...body });
    const ok = await create({ expiresAfterDays: 1, maxUses: 3 });
    expect(ok.status).toBe(200);
    expect(ok.body.tokenInfo).toMatchObject({ expiresAfterDays: 1, exportControlled: 'Not Allowed', maxUses: 3 });
    for (const [days, code] of [['0', 'INVALID_TOKEN_REQUEST'], [366, 'VALIDATION_FAILED'], ['366', 'INVALID_TOKEN_REQUEST'], ['1.5', 'VALIDATION_FAILED'], ['abc', 'VALIDATION_FAILED']] as const) {
      const res = await create({ expiresAfterDays: days });
      expect([days, res.status, res.body.error?.code]).toEqual([days, 400, code]);
    }
    const badFlag = await create({ expiresAfterDays: 5, exportControlled: 'Yes' });
    expect(badFlag.status).toBe(400);
  });

  test('When the product registers from the command line with the token the automation fetched, then it is REGISTERED', async () => {
    const accessToken = await fetchAccessToken(manager);
    const { tokenInfo } = (await server.http().post(tokensPath('', ACCOUNT, 'Lab')).auth(accessToken, { type: 'bearer' })
      .send({ expiresAfterDays: 7, description: 'lab switch', exportControlled: 'Not Allowed' })).body;
    const state = path.join(server.dataDir, 'product-cli');
    const out = await cli.slm('product', 'register', '--url', `${server.url}${TRANSPORT_PATH}`, '--token', tokenInfo.token, '--pid', 'C9300-24T',
      '--sn', 'FOC-CLI-1', '--hostname', 'lab-switch', '--ca', path.join(server.dataDir, 'certs', 'ca.pem'), '--state', state);
    expect(JSON.parse(out)).toMatchObject({ status: 'REGISTERED', productInstance: { name: 'lab-switch', virtualAccount: 'Lab' } });
  });

  test('When a manage client lists and creates virtual accounts, then it sees them and its creation is logged as its own', async () => {
    const accessToken = await fetchAccessToken(manager);
    const created = await server.http().post(`/backend/api/v1/accounts/${enc(ACCOUNT)}/virtual-accounts`).auth(accessToken, { type: 'bearer' }).send({ name: 'Branch 7' });
    expect(created.status).toBe(201);
    expect(created.body.name).toBe('Branch 7');
    const list = await server.http().get(`/api/v1/accounts/${enc(ACCOUNT)}/virtual-accounts`).auth(accessToken, { type: 'bearer' });
    expect(list.body.virtualAccounts.map((v: { name: string }) => v.name)).toEqual(['Branch 7', 'Default', 'Lab']);
    const events = await server.http().get('/api/v1/events?action=virtual-account.create').auth(admin, { type: 'bearer' });
    expect(events.body.events[0]).toMatchObject({ actor: `api-client:${manager.clientId}`, objectId: `${ACCOUNT}/Branch 7` });
  });

  describe('slm client commands', () => {
    test('When an admin creates a manage client, lists, rotates and deletes it from the command line, then each step takes effect', async () => {
      const opts = cli.adminOptions(server);
      const created = JSON.parse(await cli.slm('client', 'create', 'Globex', 'ansible', '--permission', 'manage', '--json', ...opts));
      expect(created).toMatchObject({ name: 'ansible', permission: 'manage', accountName: 'Globex' });
      const listed = await cli.slm('client', 'list', 'Globex', ...opts);
      expect(listed).toMatch(new RegExp(`${created.clientId}\\s+ansible\\s+manage`));

      const before = await fetchAccessToken(created);
      const rotated = JSON.parse(await cli.slm('client', 'rotate', 'Globex', created.clientId, '--json', ...opts));
      expect(rotated).toEqual({ clientId: created.clientId, clientSecret: expect.any(String) });
      expect(rotated.clientSecret).not.toBe(created.clientSecret);
      const stale = await server.http().get(tokensPath('', 'Globex')).auth(before, { type: 'bearer' });
      expect([stale.status, stale.body.error.code]).toEqual([401, 'ACCESS_TOKEN_REVOKED']);
      const oldSecret = await server.http().post('/oauth/token').send({ grant_type: 'client_credentials', client_id: created.clientId, client_secret: created.clientSecret });
      expect(oldSecret.status).toBe(401);
      const after = await fetchAccessToken({ clientId: created.clientId, clientSecret: rotated.clientSecret });
      expect((await server.http().get(tokensPath('', 'Globex')).auth(after, { type: 'bearer' })).status).toBe(200);

      await cli.slm('client', 'delete', 'Globex', created.clientId, ...opts);
      const gone = await server.http().get(tokensPath('', 'Globex')).auth(after, { type: 'bearer' });
      expect([gone.status, gone.body.error.code]).toEqual([401, 'ACCESS_TOKEN_REVOKED']);
      await expect(cli.slm('client', 'delete', 'Globex', created.clientId, ...opts)).rejects.toThrow('exit 1');
      expect(cli.printed()).toMatch(/^API_CLIENT_NOT_FOUND: /);
    });

    test('When --permission is neither read nor manage, then the command refuses it', async () => {
      await expect(cli.slm('client', 'create', 'Globex', 'odd', '--permission', 'write', ...cli.adminOptions(server))).rejects.toThrow();
    });
  });
});
