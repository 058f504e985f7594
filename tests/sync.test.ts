import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { createLogger } from '../src/config/logger';
import { generateEcKeyPair, issueCertificate } from '../src/pki/x509';
import { ProductSimulator } from '../src/products/simulator';
import { ReferenceUpstream, type Purchases } from '../src/sync/reference-upstream';
import { SyncService } from '../src/sync/sync-service';
import { freePort } from './support/postgres';
import { startTestServer, type TestServer } from './support/test-server';
import { syncServer, upstreamEnv } from './support/sync-server';
import { callAs } from './support/tls-client';
import { inProcessCli } from './support/in-process-cli';
import { TRANSPORT_PATH } from './transport-helpers';

const UCM = 'regid.2016-07.com.cisco.UCM_Enhanced,12.0';
const PRIME = 'regid.2015-10.com.cisco.PI_Base,3.0';
const line = (tag: string, quantity: number, extra: Record<string, unknown> = {}) => ({ tag, displayName: `${tag.split('.').pop()} license`, billingType: 'PERPETUAL', quantity, ...extra });

const purchases = (ucm: number): Purchases => ({
  smartAccounts: [
    { name: 'acme.example.com', approve: ['ACME'], virtualAccounts: [{ name: 'Default', licenses: [line(UCM, ucm)] }, { name: 'Labs', licenses: [line(PRIME, 5)] }] },
  ],
});

describe('Network synchronization against the reference upstream', () => {
  let upstream: ReferenceUpstream;
  let served: { url: string; close(): Promise<void> };
  let s: Awaited<ReturnType<typeof syncServer>>;

  beforeAll(async () => {
    upstream = new ReferenceUpstream(purchases(100));
    served = await upstream.listen(await freePort());
    s = await syncServer(upstreamEnv(upstream, served.url), upstream);
    await s.must('POST', '/api/v1/accounts', { name: 'ACME' });
    await s.must('POST', '/api/v1/accounts', { name: 'BETA' });
    await s.must('POST', '/api/v1/accounts/BETA/approve', {});
  });
  afterAll(async () => {
    await s?.server.close();
    await served?.close();
  });

  test('When nothing was synchronized yet, then the status says so', async () => {
    const res = await s.api('GET', '/api/v1/sync/status');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ mode: 'NETWORK', upstreamUrl: served.url, intervalSeconds: 0, nextRunAt: null, syncRequired: false, lastSuccess: null, lastError: null, signedCaCertificate: null });
  });

  test('When an admin runs a sync, then the requested account is approved and its purchases show in the license rows and the API Toolkit', async () => {
    const res = await s.api('POST', '/api/v1/sync');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ outcome: 'APPLIED', summary: { accountsApproved: ['ACME'], caCertificateStored: true, syncLinesReplaced: 0 } });

    const sent = upstream.received.at(-1) as Record<string, any>;
    expect(sent).toMatchObject({ requestId: res.body.requestId, mode: 'NETWORK', server: { hostCommonName: '127.0.0.1', caCertificate: s.server.ca } });
    expect(sent.accounts.map((a: { name: string; status: string }) => [a.name, a.status])).toEqual([['ACME', 'REQUESTED'], ['BETA', 'ACTIVE']]);

    const account = await s.must('GET', '/api/v1/accounts/ACME');
    expect(account).toMatchObject({ status: 'ACTIVE', smartAccount: 'acme.example.com' });
    const rows = (await s.must('GET', '/api/v1/accounts/ACME/licenses')).licenses;
    expect(rows.map((r: Record<string, unknown>) => [r.virtualAccount, r.tag, r.quantity])).toEqual([['Default', UCM, 100], ['Labs', PRIME, 5]]);

    const client = await s.must('POST', '/api/v1/accounts/ACME/api-clients', { name: 'monitor' });
    const token = await callAs(s.server, '127.0.0.1', 'POST', '/backend/oauth/token', { body: { grant_type: 'client_credentials', client_id: client.clientId, client_secret: client.clientSecret } });
    const toolkit = await callAs(s.server, '127.0.0.1', 'POST', '/api/v1/accounts/ACME/licenses', { token: token.body.access_token, body: { limit: -1, virtualAccount: 'Default' } });
    expect(toolkit.status).toBe(200);
    expect(toolkit.body.licenses).toEqual([expect.objectContaining({ tag: UCM, quantity: 100, inUse: 0 })]);

    const status = (await s.api('GET', '/api/v1/sync/status')).body;
    expect(status.lastSuccess).toMatchObject({ mode: 'NETWORK', requestId: res.body.requestId });
    expect(status.signedCaCertificate.issuer).toContain('Reference Upstream Root CA');
    expect(status.signedCaCertificate.subject).toContain('slm-onprem Root CA');
    expect(await s.server.ctx.settings.get('sync.lastSuccessAt')).toBe(res.body.appliedAt);
    const events = await s.must('GET', '/api/v1/events?action=sync.apply');
    expect(events.events[0]).toMatchObject({ actor: 'admin', outcome: 'success', objectId: res.body.requestId });
  });

  test('When purchases change, then the next sync replaces the SYNC lines and leaves imported lines alone', async () => {
    const imported = await s.api('POST', '/api/v1/licenses/import', { licenses: [{ account: 'ACME', virtualAccount: 'Default', tag: PRIME, displayName: 'PI imported', billingType: 'PERPETUAL', quantity: 7 }] });
    expect(imported.status).toBe(200);
    upstream.setPurchases(purchases(150));
    const res = await s.api('POST', '/api/v1/sync');
    expect(res.body).toMatchObject({ outcome: 'APPLIED', summary: { accountsApproved: [], syncLinesReplaced: 2 } });
    expect((await s.licenseLines('ACME')).map((l) => [l.virtualAccount.name, l.tag, l.quantity, l.source])).toEqual([
      ['Default', PRIME, 7, 'IMPORT'],
      ['Default', UCM, 150, 'SYNC'],
      ['Labs', PRIME, 5, 'SYNC'],
    ]);
  });

  test('When the upstream fails once, then the sync is retried and succeeds', async () => {
    upstream.failNext = 1;
    const before = upstream.received.length;
    const res = await s.api('POST', '/api/v1/sync');
    expect(res.status).toBe(200);
    expect(upstream.failNext).toBe(0);
    expect(upstream.received.length).toBe(before + 1);
  });

  test('When the upstream cannot be reached, then the sync fails with 502 SYNC_UPSTREAM_UNREACHABLE after its retries and the error is in the status', async () => {
    const closedPort = await freePort();
    const { db, settings, hcn, pki, events, clock } = s.server.ctx;
    const unreachable = new SyncService(db, settings, hcn, pki, events, clock, {
      upstreamUrl: `https://127.0.0.1:${closedPort}/sync`, logger: createLogger('silent'), attempts: 3, backoffMs: 20,
    });
    const linesBefore = await s.licenseLines('ACME');
    await expect(unreachable.runNetworkSync('admin')).rejects.toMatchObject({ code: 'SYNC_UPSTREAM_UNREACHABLE', status: 502, message: expect.stringMatching(/ECONNREFUSED\); 3 attempts made$/) });
    const status = (await s.api('GET', '/api/v1/sync/status')).body;
    expect(status.lastError.error).toMatch(/^SYNC_UPSTREAM_UNREACHABLE: /);
    expect(await s.licenseLines('ACME')).toEqual(linesBefore);
  });

  test('When the same response is imported twice at once, then it is applied once and the other call changes nothing', async () => {
    const request = await s.must('POST', '/api/v1/sync/request-file');
    const response = upstream.answer(request);
    const [a, b] = await Promise.all([s.api('POST', '/api/v1/sync/response-file', response), s.api('POST', '/api/v1/sync/response-file', response)]);
    expect([a.body.outcome, b.body.outcome].sort()).toEqual(['ALREADY_APPLIED', 'APPLIED']);
    const lines = await s.licenseLines('ACME');
    expect(lines.filter((l) => l.source === 'SYNC')).toHaveLength(2);
    const again = await s.api('POST', '/api/v1/sync/response-file', response);
    expect(again.body).toEqual({ requestId: request.requestId, outcome: 'ALREADY_APPLIED', appliedAt: a.body.appliedAt });
    expect(await s.licenseLines('ACME')).toEqual(lines);
  });

  test('When applying fails half-way (the database refuses a line), then nothing of the response is applied', async () => {
    await s.must('POST', '/api/v1/accounts', { name: 'GAMMA' });
    upstream.setPurchases({
      smartAccounts: [
        { name: 'acme.example.com', approve: ['ACME'], virtualAccounts: [{ name: 'Default', licenses: [line(UCM, 999)] }] },
        { name: 'gamma.example.com', approve: ['GAMMA'], virtualAccounts: [{ name: 'Default', licenses: [line('FAIL-ME', 1)] }] },
      ],
    });
    // A real failure inside the transaction, after the approval and the ACME lines were written.
    await s.server.ctx.db.$executeRawUnsafe(`CREATE FUNCTION refuse_fail_me() RETURNS trigger AS $$ BEGIN IF NEW.tag = 'FAIL-ME' THEN RAISE EXCEPTION 'refused by test trigger'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql`);
    await s.server.ctx.db.$executeRawUnsafe(`CREATE TRIGGER refuse_fail_me BEFORE INSERT ON license FOR EACH ROW EXECUTE FUNCTION refuse_fail_me()`);
    try {
      const linesBefore = await s.licenseLines('ACME');
      const res = await s.api('POST', '/api/v1/sync');
      expect(res.status).toBe(500);
      expect(await s.licenseLines('ACME')).toEqual(linesBefore);
      expect((await s.must('GET', '/api/v1/accounts/GAMMA')).status).toBe('REQUESTED');
      expect((await s.api('GET', '/api/v1/sync/status')).body.lastError.error).toContain('refused by test trigger');
    } finally {
      await s.server.ctx.db.$executeRawUnsafe('DROP TRIGGER refuse_fail_me ON license');
      await s.server.ctx.db.$executeRawUnsafe('DROP FUNCTION refuse_fail_me()');
      upstream.setPurchases(purchases(150));
    }
  });

  test('When a response answers no request of this server, then it is refused with 409 SYNC_UNKNOWN_REQUEST', async () => {
    const res = await s.api('POST', '/api/v1/sync/response-file', upstream.sign({ formatVersion: 1, requestId: randomUUID(), respondedAt: new Date().toISOString(), accounts: [] }));
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('SYNC_UNKNOWN_REQUEST');
  });

  type Doc = Record<string, any>;
  const withAccounts = (accounts: unknown[]) => (doc: Doc) => ({ ...doc, accounts });
  test.each([
    ['misses requestId', 'SYNC_RESPONSE_INVALID', ({ requestId: _omit, ...doc }: Doc) => doc],
    ['has a negative quantity', 'SYNC_RESPONSE_INVALID', withAccounts([{ name: 'ACME', smartAccount: 'a', approved: true, virtualAccounts: [{ name: 'Default', licenses: [line(UCM, -1)] }] }])],
    ['has a term ending before it starts', 'SYNC_RESPONSE_INVALID', withAccounts([{ name: 'ACME', smartAccount: 'a', approved: true, virtualAccounts: [{ name: 'Default', licenses: [line(UCM, 1, { startsAt: '2027-01-01T00:00:00Z', endsAt: '2026-01-01T00:00:00Z' })] }] }])],
    ['names an account twice', 'SYNC_RESPONSE_INVALID', withAccounts([{ name: 'ACME', smartAccount: 'a', approved: true, virtualAccounts: [] }, { name: 'ACME', smartAccount: 'a', approved: true, virtualAccounts: [] }])],
    ['carries a CA certificate of another key', 'SYNC_RESPONSE_INVALID', (doc: Doc) => ({ ...doc, caCertificate: certificateOfAnotherKey() })],
  ])('When a signed response %s, then it is refused with 400 %s and nothing changes', async (_label, code, spoil) => {
    const request = await s.must('POST', '/api/v1/sync/request-file');
    const before = await s.licenseLines('ACME');
    const res = await s.api('POST', '/api/v1/sync/response-file', upstream.sign(spoil(upstream.answerDocument(request))));
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe(code);
    expect(await s.licenseLines('ACME')).toEqual(before);
  });

  test('When an operator asks for a sync, then it answers 403; the status is readable', async () => {
    await s.must('POST', '/api/v1/users', { username: 'olga', password: 'operator-pass', role: 'operator' });
    const operator = (await callAs(s.server, '127.0.0.1', 'POST', '/api/v1/auth/login', { body: { username: 'olga', password: 'operator-pass' } })).body.token;
    expect((await s.api('POST', '/api/v1/sync', undefined, operator)).status).toBe(403);
    expect((await s.api('POST', '/api/v1/sync/request-file', undefined, operator)).status).toBe(403);
    expect((await s.api('GET', '/api/v1/sync/status', undefined, operator)).status).toBe(200);
  });
});

/** A well-formed CA certificate, but of a key that is not this server's CA key. */
function certificateOfAnotherKey(): string {
  const key = generateEcKeyPair();
  const name = [{ shortName: 'CN', value: 'slm-onprem Root CA' }];
  return issueCertificate({ subject: name, issuer: name, subjectPublicKey: key.publicKey, issuerKey: key.privateKey, issuerPublicKey: key.publicKey, notBefore: new Date(), notAfter: new Date(Date.now() + 86_400_000), extensions: [] }).pem;
}

describe('Manual synchronization through request and response files (slm CLI)', () => {
  let s: Awaited<ReturnType<typeof syncServer>>;
  let dir: string;
  const cli = inProcessCli();
  const slm = cli.slm;
  const admin = () => cli.adminOptions(s.server);
  const file = (name: string) => path.join(dir, name);
  const keys = () => ['--keys', file('keys')];

  beforeAll(async () => {
    s = await syncServer({});
    dir = mkdtempSync(path.join(os.tmpdir(), 'slm-sync-files-'));
    writeFileSync(file('purchases.json'), JSON.stringify(purchases(40)));
    await s.must('POST', '/api/v1/accounts', { name: 'ACME' });
  });
  afterAll(async () => {
    await s?.server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('When no upstream is configured, then a network sync answers 409 SYNC_NOT_CONFIGURED and the status says MANUAL', async () => {
    const res = await s.api('POST', '/api/v1/sync');
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('SYNC_NOT_CONFIGURED');
    expect((await s.api('GET', '/api/v1/sync/status')).body).toMatchObject({ mode: 'MANUAL', upstreamUrl: null, nextRunAt: null });
  });

  test('When the admin exports a request, the upstream answers it and the admin imports the answer, then it is applied only once the vendor key is installed; importing again changes nothing', async () => {
    expect(await slm('sync', 'export', file('request.json'), ...admin())).toContain(file('request.json'));
    const request = JSON.parse(readFileSync(file('request.json'), 'utf8'));
    expect(request).toMatchObject({ formatVersion: 1, mode: 'MANUAL', server: { hostCommonName: '127.0.0.1' }, accounts: [{ name: 'ACME', status: 'REQUESTED' }] });

    expect(await slm('upstream', 'answer', '--purchases', file('purchases.json'), ...keys(), file('request.json'), file('response.json'))).toContain(request.requestId);
    await expect(slm('sync', 'import', file('response.json'), ...admin())).rejects.toThrow('exit 1');
    expect(cli.printed()).toMatch(/^SYNC_UPSTREAM_KEY_MISSING: /);
    expect(await s.licenseLines('ACME')).toEqual([]);

    expect(await slm('upstream-key', 'install', file('keys/signing-key.pub.pem'), ...admin())).toMatch(/Installed\s+ES256 key [0-9a-f]{64}/);
    expect(await slm('upstream-key', 'show', ...admin())).toMatch(/Installed\s+\S+ by admin/);
    const imported = await slm('sync', 'import', file('response.json'), ...admin());
    expect(imported).toMatch(/Accounts approved\s+ACME/);
    expect(imported).toMatch(/License lines\s+ACME\/Default: 1, ACME\/Labs: 1/);
    expect((await s.licenseLines('ACME')).map((l) => [l.virtualAccount.name, l.quantity])).toEqual([['Default', 40], ['Labs', 5]]);

    const again = JSON.parse(await slm('sync', 'import', file('response.json'), ...admin(), '--json'));
    expect(again).toMatchObject({ requestId: request.requestId, outcome: 'ALREADY_APPLIED' });
    expect((await s.licenseLines('ACME')).map((l) => l.quantity)).toEqual([40, 5]);
    expect(await slm('sync', 'status', ...admin())).toMatch(/Last success\s+\S+ \(MANUAL\)/);
  });

  test('When a response to an older request arrives after a newer one was applied, then it is refused with SYNC_RESPONSE_STALE', async () => {
    await slm('sync', 'export', file('old.json'), ...admin());
    await slm('sync', 'export', file('new.json'), ...admin());
    await slm('upstream', 'answer', '--purchases', file('purchases.json'), ...keys(), file('old.json'), file('old-answer.json'));
    await slm('upstream', 'answer', '--purchases', file('purchases.json'), ...keys(), file('new.json'), file('new-answer.json'));
    await slm('sync', 'import', file('new-answer.json'), ...admin());
    await expect(slm('sync', 'import', file('old-answer.json'), ...admin())).rejects.toThrow('exit 1');
    expect(cli.printed()).toMatch(/^SYNC_RESPONSE_STALE: /);
    const direct = await s.api('POST', '/api/v1/sync/response-file', JSON.parse(readFileSync(file('old-answer.json'), 'utf8')));
    expect(direct.status).toBe(409);
    expect(direct.body.error.code).toBe('SYNC_RESPONSE_STALE');
  });

  test('When the response file is not JSON, then the CLI refuses it with INVALID_FILE', async () => {
    writeFileSync(file('broken.json'), '{"requestId": ');
    await expect(slm('sync', 'import', file('broken.json'), ...admin())).rejects.toThrow('exit 1');
    expect(cli.printed()).toMatch(/^INVALID_FILE: /);
  });
});

describe('Host Common Name change, products and synchronization (end to end)', () => {
  let upstream: ReferenceUpstream;
  let served: { url: string; close(): Promise<void> };
  let s: Awaited<ReturnType<typeof syncServer>>;
  // Products reach the server by its new name: resolve it to the loopback address the server listens on.
  const agent = new https.Agent({
    lookup: ((_host: string, opts: { all?: boolean }, cb: (...args: unknown[]) => void) =>
      opts.all ? cb(null, [{ address: '127.0.0.1', family: 4 }]) : cb(null, '127.0.0.1', 4)) as never,
  });
  let idToken: string;

  const product = (aud?: string) => {
    const sim = ProductSimulator.create({
      url: `https://slm.sync.test:${s.server.address.port}${TRANSPORT_PATH}`,
      udi: { pid: 'CUCM', sn: `SN${randomUUID().slice(0, 8)}` },
      hostname: 'cucm-1',
      productType: 'UCL',
      trustedCa: s.server.ca,
      ...(aud ? { aud } : {}),
    });
    sim.agent = agent;
    sim.retry = { attempts: 1, baseDelayMs: 10, maxDelayMs: 10, timeoutMs: 10_000 };
    return sim;
  };

  beforeAll(async () => {
    upstream = new ReferenceUpstream(purchases(10));
    served = await upstream.listen(await freePort());
    s = await syncServer(upstreamEnv(upstream, served.url), upstream);
    await s.must('POST', '/api/v1/accounts', { name: 'ACME' });
    await s.must('POST', '/api/v1/sync');
    idToken = (await s.must('POST', '/api/v1/accounts/ACME/virtual-accounts/Default/tokens', { description: 'cucm', expiresInDays: 30, maxUses: 10 })).token;
  });
  afterAll(async () => {
    agent.destroy();
    await s?.server.close();
    await served?.close();
  });

  test('When the Host Common Name changes, then register is refused with SYNC_REQUIRED until a sync, a request made before the change does not clear it, and the old name gets HOST_COMMON_NAME_MISMATCH', async () => {
    const earlyRequest = await s.must('POST', '/api/v1/sync/request-file');
    const changed = await s.must('PUT', '/api/v1/settings/host-common-name', { name: 'slm.sync.test' });
    s.state.hcn = 'slm.sync.test';
    expect(changed.syncRequired).toBe(true);
    expect((await s.must('GET', '/api/v1/sync/status')).syncRequired).toBe(true);

    await expect(product().register(idToken)).rejects.toMatchObject({ status: 409, code: 'SYNC_REQUIRED' });

    const early = await s.must('POST', '/api/v1/sync/response-file', upstream.answer(earlyRequest));
    expect(early.summary).toMatchObject({ syncRequiredCleared: false, syncRequired: true });
    await expect(product().register(idToken)).rejects.toMatchObject({ code: 'SYNC_REQUIRED' });

    const synced = await s.must('POST', '/api/v1/sync');
    expect(synced.summary).toMatchObject({ syncRequiredCleared: true, syncRequired: false });
    expect((upstream.received.at(-1) as { server: { hostCommonName: string } }).server.hostCommonName).toBe('slm.sync.test');
    expect((await s.must('GET', '/api/v1/settings/host-common-name')).syncRequired).toBe(false);

    const cucm = product();
    await expect(cucm.register(idToken)).resolves.toMatchObject({ status: 'REGISTERED' });
    await expect(product('127.0.0.1').register(idToken)).rejects.toMatchObject({ status: 421, code: 'HOST_COMMON_NAME_MISMATCH' });

    await cucm.authorize([{ tag: UCM, count: 3 }]);
    await s.must('POST', '/api/v1/sync');
    const sent = upstream.received.at(-1) as Record<string, any>;
    const acme = sent.accounts.find((a: { name: string }) => a.name === 'ACME');
    const va = acme.virtualAccounts.find((v: { name: string }) => v.name === 'Default');
    expect(va.usage).toEqual([{ tag: UCM, inUse: 3 }]);
    expect(va.productInstances).toEqual([{ udi: cucm.state.udi, name: 'cucm-1', productType: 'UCL', status: 'REGISTERED', usage: [{ tag: UCM, count: 3 }] }]);
  });
});

describe('Scheduled network synchronization', () => {
  let upstream: ReferenceUpstream;
  let served: { url: string; close(): Promise<void> };
  let server: TestServer;

  beforeAll(async () => {
    upstream = new ReferenceUpstream(purchases(1));
    served = await upstream.listen(await freePort());
    server = await startTestServer({ env: { ...upstreamEnv(upstream, served.url), SLM_SYNC_INTERVAL_SECONDS: '3600' } });
  });
  afterAll(async () => {
    await server?.close();
    await served?.close();
  });

  test('When a stand-alone server with an upstream starts without the vendor key, then it sends nothing; once the key is installed it syncs at once and plans the next run one interval later', async () => {
    const admin = await server.login();
    await new Promise((r) => setTimeout(r, 500));
    const before = (await callAs(server, '127.0.0.1', 'GET', '/api/v1/sync/status', { token: admin })).body;
    expect(before.lastError?.error ?? '').not.toMatch(/SYNC_UPSTREAM_UNREACHABLE/);
    expect(upstream.received).toHaveLength(0);
    const installed = await callAs(server, '127.0.0.1', 'PUT', '/api/v1/sync/upstream-key', { token: admin, body: { pem: upstream.signingPublicKeyPem } });
    expect(installed.status).toBe(200);
    let status: Record<string, any> = {};
    for (let i = 0; i < 40 && !status.lastSuccess; i++) {
      await new Promise((r) => setTimeout(r, 250));
      status = (await callAs(server, '127.0.0.1', 'GET', '/api/v1/sync/status', { token: admin })).body;
    }
    expect(status.lastSuccess).toMatchObject({ mode: 'NETWORK' });
    expect(upstream.received).toHaveLength(1);
    const next = Date.parse(status.nextRunAt) - Date.parse(status.lastSuccess.at);
    expect(next).toBeGreaterThan(3_590_000);
    expect(next).toBeLessThan(3_610_000);
    expect(server.ctx.syncScheduler.started).toBe(true);
  });

  test('When an admin runs a sync between scheduled runs, then the next run moves to one interval after it', async () => {
    const admin = await server.login();
    const status = async () => (await callAs(server, '127.0.0.1', 'GET', '/api/v1/sync/status', { token: admin })).body;
    const earlier = await status();
    await new Promise((r) => setTimeout(r, 1100));
    const synced = await callAs(server, '127.0.0.1', 'POST', '/api/v1/sync', { token: admin });
    expect(synced.status).toBe(200);
    let now = await status();
    for (let i = 0; i < 20 && now.nextRunAt === earlier.nextRunAt; i++) {
      await new Promise((r) => setTimeout(r, 50));
      now = await status();
    }
    expect(Date.parse(now.nextRunAt)).toBeGreaterThan(Date.parse(earlier.nextRunAt));
    expect(Date.parse(now.nextRunAt) - Date.parse(synced.body.appliedAt)).toBe(3_600_000);
    await server.ctx.syncScheduler.stop();
    expect(server.ctx.syncScheduler.nextRunAt()).toBeNull();
  });
});
