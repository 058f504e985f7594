import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createLogger } from '../src/config/logger';
import { ReferenceUpstream, type Purchases } from '../src/sync/reference-upstream';
import { SyncService } from '../src/sync/sync-service';
import { freePort } from './support/postgres';
import { syncServer, upstreamEnv } from './support/sync-server';
import { inProcessCli } from './support/in-process-cli';

const UCM = 'regid.2016-07.com.cisco.UCM_Enhanced,12.0';
const purchases = (quantity: number): Purchases => ({
  smartAccounts: [{ name: 'acme.example.com', approve: ['ACME'], virtualAccounts: [{ name: 'Default', licenses: [{ tag: UCM, displayName: 'UCM', billingType: 'PERPETUAL', quantity }] }] }],
});
/** What the audit's attacker answered: a billion licenses, the account approved into its own smart account. */
const hostileDocument = (request: { requestId: string }) => ({
  formatVersion: 1,
  requestId: request.requestId,
  respondedAt: new Date().toISOString(),
  accounts: [{ name: 'ACME', smartAccount: 'attacker.example', approved: true, virtualAccounts: [{ name: 'Default', licenses: [{ tag: UCM, displayName: 'UCM', billingType: 'PERPETUAL', quantity: 1_000_000_000 }] }] }],
});

describe('Synchronization trusts only the vendor: https, no redirects, signed responses', () => {
  let upstream: ReferenceUpstream;
  let attacker: ReferenceUpstream;
  let served: { url: string; close(): Promise<void> };
  let attackerServed: { url: string; close(): Promise<void> };
  let s: Awaited<ReturnType<typeof syncServer>>;
  let dir: string;
  const cli = inProcessCli();

  beforeAll(async () => {
    upstream = new ReferenceUpstream(purchases(100));
    attacker = new ReferenceUpstream(purchases(1));
    served = await upstream.listen(await freePort());
    attackerServed = await attacker.listen(await freePort());
    s = await syncServer(upstreamEnv(upstream, served.url));
    await s.must('POST', '/api/v1/accounts', { name: 'ACME' });
    dir = mkdtempSync(path.join(os.tmpdir(), 'slm-sync-trust-'));
  });
  afterAll(async () => {
    await s?.server.close();
    await served?.close();
    await attackerServed?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** `slm sync` with stderr a terminal or not; what it printed and what went to stderr. */
  const slmSyncWithStderr = async (tty: boolean) => {
    const written: string[] = [];
    const write = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => written.push(String(chunk)) > 0);
    const wasTty = process.stderr.isTTY;
    process.stderr.isTTY = tty;
    try {
      return { printed: await cli.slm('sync', ...cli.adminOptions(s.server)), stderr: written.join('') };
    } finally {
      process.stderr.isTTY = wasTty;
      write.mockRestore();
    }
  };

  /** Nothing of a refused answer may show: no license line, the account still requested, no smart account. */
  const expectNothingApplied = async () => {
    expect(await s.licenseLines('ACME')).toEqual([]);
    expect(await s.must('GET', '/api/v1/accounts/ACME')).toMatchObject({ status: 'REQUESTED', smartAccount: null });
  };

  test('When no vendor key is installed, then a network sync is refused with 409 SYNC_UPSTREAM_KEY_MISSING and nothing is sent', async () => {
    const res = await s.api('POST', '/api/v1/sync');
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('SYNC_UPSTREAM_KEY_MISSING');
    expect(upstream.received).toHaveLength(0);
    expect((await s.must('GET', '/api/v1/sync/status')).upstreamKey).toBeNull();
  });

  test('When an admin installs a key that is not a key, or an operator tries to, then it is refused; the admin installs the vendor key and the status shows it', async () => {
    const bad = await s.api('PUT', '/api/v1/sync/upstream-key', { pem: '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('SYNC_UPSTREAM_KEY_INVALID');
    await s.must('POST', '/api/v1/users', { username: 'olga', password: 'operator-pass', role: 'operator' });
    const operator = (await s.api('POST', '/api/v1/auth/login', { username: 'olga', password: 'operator-pass' })).body.token;
    expect((await s.api('PUT', '/api/v1/sync/upstream-key', { pem: upstream.signingPublicKeyPem }, operator)).status).toBe(403);

    const installed = await s.must('PUT', '/api/v1/sync/upstream-key', { pem: upstream.signingPublicKeyPem });
    expect(installed).toMatchObject({ algorithm: 'ES256', installedBy: 'admin', certificateSubject: null, fingerprintSha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect((await s.must('GET', '/api/v1/sync/status')).upstreamKey).toEqual(installed);
    const events = await s.must('GET', '/api/v1/events?action=sync.upstream-key.install');
    expect(events.events[0]).toMatchObject({ actor: 'admin', objectId: installed.fingerprintSha256 });
  });

  test('When the upstream answers with a redirect, then it is not followed: 502 SYNC_UPSTREAM_REDIRECT_REFUSED, the other host receives nothing and nothing is applied', async () => {
    upstream.overrideNext = () => ({ status: 307, headers: { location: attackerServed.url }, body: {} });
    const res = await s.api('POST', '/api/v1/sync');
    expect(res.status).toBe(502);
    expect(res.body.error.code).toBe('SYNC_UPSTREAM_REDIRECT_REFUSED');
    expect(attacker.received).toHaveLength(0);
    await expectNothingApplied();
  });

  test.each([
    ['unsigned', 'SYNC_RESPONSE_UNSIGNED', (request: { requestId: string }) => hostileDocument(request)],
    ['signed by another key', 'SYNC_RESPONSE_SIGNATURE_INVALID', (request: { requestId: string }) => attacker.sign(hostileDocument(request))],
    ['signed by the vendor, then changed', 'SYNC_RESPONSE_SIGNATURE_INVALID', (request: { requestId: string }) => ({ ...upstream.answer(request), payload: Buffer.from(JSON.stringify(hostileDocument(request))).toString('base64url') })],
  ])('When the network answer is %s, then it is refused with 502 %s and nothing is applied', async (_label, code, answer) => {
    upstream.overrideNext = (request) => ({ status: 200, body: answer(request as { requestId: string }) });
    const res = await s.api('POST', '/api/v1/sync');
    expect(res.status).toBe(502);
    expect(res.body.error.code).toBe(code);
    await expectNothingApplied();
    expect((await s.must('GET', '/api/v1/sync/status')).lastError.error).toMatch(new RegExp(`^${code}: `));
  });

  test('When the upstream answers an error with its own text, then the operator sees our code and the HTTP status, not that text', async () => {
    upstream.overrideNext = () => ({ status: 400, body: { error: { code: 'X', message: 'call +1-555-0100 <script>alert(1)</script> to renew' } } });
    const res = await s.api('POST', '/api/v1/sync');
    expect(res.status).toBe(502);
    expect(res.body.error).toEqual({ code: 'SYNC_UPSTREAM_ERROR', message: 'the upstream answered HTTP 400' });
    expect((await s.must('GET', '/api/v1/sync/status')).lastError.error).toBe('SYNC_UPSTREAM_ERROR: the upstream answered HTTP 400');
  });

  test('When the upstream certificate is not issued by the configured CA, then TLS fails with SYNC_UPSTREAM_TLS_FAILED and nothing is sent', async () => {
    const { db, settings, hcn, pki, events, clock } = s.server.ctx;
    const misconfigured = new SyncService(db, settings, hcn, pki, events, clock, { upstreamUrl: served.url, upstreamCa: attacker.caCertificatePem, logger: createLogger('silent'), attempts: 3, backoffMs: 10 });
    const received = upstream.received.length;
    await expect(misconfigured.runNetworkSync('admin')).rejects.toMatchObject({ code: 'SYNC_UPSTREAM_TLS_FAILED', status: 502, message: expect.stringContaining('SLM_UPSTREAM_CA') });
    expect(upstream.received).toHaveLength(received);
    await expectNothingApplied();
  });

  test.each([
    ['unsigned', 'SYNC_RESPONSE_UNSIGNED', (request: { requestId: string }) => hostileDocument(request)],
    ['signed by another key', 'SYNC_RESPONSE_SIGNATURE_INVALID', (request: { requestId: string }) => attacker.sign(hostileDocument(request))],
  ])('When a response file is %s, then importing it is refused with 400 %s and nothing is applied', async (_label, code, answer) => {
    const request = await s.must('POST', '/api/v1/sync/request-file');
    const res = await s.api('POST', '/api/v1/sync/response-file', answer(request));
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe(code);
    await expectNothingApplied();
  });

  test('When the vendor key is replaced, then a file signed with the old key is refused (slm sync import)', async () => {
    const request = await s.must('POST', '/api/v1/sync/request-file');
    writeFileSync(path.join(dir, 'old-key-answer.json'), JSON.stringify(upstream.answer(request)));
    const replacement = generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey.export({ type: 'spki', format: 'pem' }) as string;
    expect((await s.must('PUT', '/api/v1/sync/upstream-key', { pem: replacement })).algorithm).toBe('ES384');
    await expect(cli.slm('sync', 'import', path.join(dir, 'old-key-answer.json'), ...cli.adminOptions(s.server))).rejects.toThrow('exit 1');
    expect(cli.printed()).toMatch(/^SYNC_RESPONSE_SIGNATURE_INVALID: .*names another key/);
    await expectNothingApplied();
    await s.must('PUT', '/api/v1/sync/upstream-key', { pem: upstream.signingPublicKeyPem });
  });

  test('When the upstream fails twice, then slm sync on a terminal shows each failed attempt and the wait, and the sync succeeds', async () => {
    upstream.failNext = 2;
    const { printed, stderr } = await slmSyncWithStderr(true);
    expect(printed).toMatch(/Accounts approved\s+ACME/);
    expect(stderr).toMatch(/attempt 1 of 4 failed \(SYNC_UPSTREAM_ERROR: the upstream answered HTTP 503\); next attempt in \d s/);
    expect(stderr).toMatch(/attempt 2 of 4 failed/);
    expect(await cli.slm('sync', ...cli.adminOptions(s.server))).toMatch(/Sync required\s+no$/m);
  });

  test('When slm sync output is piped, then it prints no progress even while retrying', async () => {
    upstream.failNext = 1;
    const { printed, stderr } = await slmSyncWithStderr(false);
    expect(printed).toMatch(/Outcome\s+applied/);
    expect(stderr).toBe('');
  });
});
