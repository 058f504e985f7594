import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { randomBytes, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import tls from 'node:tls';
import { ADMIN_PASSWORD, startTestServer, type TestServer } from './support/test-server';
import { createTestDatabase } from './support/postgres';
import { callAs, newConnectionCertificate } from './support/tls-client';
import { inProcessCli } from './support/in-process-cli';

const execFileAsync = promisify(execFile);

/** What an admin sees with openssl on a new connection (async: the server runs in this process). */
async function opensslView(server: TestServer, servername: string): Promise<string> {
  const { stdout } = await execFileAsync('sh', ['-c',
    `openssl s_client -connect 127.0.0.1:${server.address.port} -servername ${servername} </dev/null 2>/dev/null | openssl x509 -noout -subject -ext subjectAltName`]);
  return stdout;
}

describe('Host Common Name', () => {
  let server: TestServer;
  let admin: string;
  // Admin calls check the server's identity against the name in force, as a product would.
  let hcn = '127.0.0.1';

  beforeAll(async () => {
    server = await startTestServer();
    admin = await server.login();
  });
  afterAll(() => server.close());

  const put = async (name: unknown, token = admin) => {
    const res = await callAs(server, hcn, 'PUT', '/api/v1/settings/host-common-name', { token, body: { name } });
    if (res.status === 200) hcn = res.body.name;
    return res;
  };
  const get = () => callAs(server, hcn, 'GET', '/api/v1/settings/host-common-name', { token: admin });

  test('When the server starts, then the Host Common Name is the configured one and its certificate carries it', async () => {
    const res = await get();
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ name: '127.0.0.1', syncRequired: false, changedAt: null });
    expect(res.body.certificate).toMatchObject({ subject: 'CN=127.0.0.1', subjectAltNames: ['127.0.0.1'] });
    expect(res.body.certificate.issuer).toContain('slm-onprem Root CA');
    expect(Date.parse(res.body.certificate.notAfter)).toBeGreaterThan(Date.now() + 300 * 86_400_000);
  });

  test.each([
    ['empty', '', 'INVALID_HOST_COMMON_NAME', 'EMPTY'],
    ['a wildcard', '*.example.com', 'INVALID_HOST_COMMON_NAME', 'WILDCARD'],
    ['254 characters long', 'x'.repeat(254), 'INVALID_HOST_COMMON_NAME', 'TOO_LONG'],
    ['a name with an underscore', 'slm_1.example.com', 'INVALID_HOST_COMMON_NAME', 'MALFORMED'],
    ['an IPv4 address out of range', '300.1.1.1', 'INVALID_HOST_COMMON_NAME', 'MALFORMED'],
    ['a single label', 'slm', 'INVALID_HOST_COMMON_NAME', 'NOT_FULLY_QUALIFIED'],
    ['the unspecified address', '0.0.0.0', 'INVALID_HOST_COMMON_NAME', 'UNUSABLE_ADDRESS'],
  ])('When the new name is %s, then it is refused with 400 %s (%s) and nothing changes', async (_label, name, code, reason) => {
    const res = await put(name);
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code, details: { reason } });
    expect((await get()).body.name).toBe('127.0.0.1');
  });

  test('When the body has no name or a non-string name, then it answers 400 VALIDATION_FAILED', async () => {
    expect((await callAs(server, hcn, 'PUT', '/api/v1/settings/host-common-name', { token: admin, body: {} })).body.error.code).toBe('VALIDATION_FAILED');
    expect((await put(42)).body.error.code).toBe('VALIDATION_FAILED');
  });

  test('When an operator tries to change it, then it answers 403 FORBIDDEN; without a session 401', async () => {
    await server.http().post('/api/v1/users').auth(admin, { type: 'bearer' }).send({ username: 'op', password: 'operator-pass', role: 'operator' });
    const operator = await server.login('op', 'operator-pass');
    expect((await put('slm.example.com', operator)).status).toBe(403);
    expect((await callAs(server, hcn, 'GET', '/api/v1/settings/host-common-name', { token: operator })).status).toBe(200);
    expect((await callAs(server, hcn, 'GET', '/api/v1/settings/host-common-name')).status).toBe(401);
  });

  test('When the name changes, then new TLS connections get the new certificate and an open keep-alive connection keeps working', async () => {
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const before = await callAs(server, hcn, 'GET', '/healthz', { agent });
      expect(before).toMatchObject({ status: 200, reused: false });

      const res = await put('SLM.Example.TEST.');
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ name: 'slm.example.test', syncRequired: true });
      expect(res.body.certificate).toMatchObject({ subject: 'CN=slm.example.test', subjectAltNames: ['slm.example.test'] });

      const fresh = await newConnectionCertificate(server, 'slm.example.test');
      expect(fresh.subject.CN).toBe('slm.example.test');
      expect(fresh.subjectaltname).toBe('DNS:slm.example.test');
      expect(fresh.fingerprint256).toBe(res.body.certificate.fingerprintSha256);
      expect(tls.checkServerIdentity('127.0.0.1', fresh)).toMatchObject({ code: 'ERR_TLS_CERT_ALTNAME_INVALID' });

      const openssl = await opensslView(server, 'slm.example.test');
      expect(openssl).toMatch(/subject=CN\s?=\s?slm\.example\.test/);
      expect(openssl).toContain('DNS:slm.example.test');

      const after = await callAs(server, '127.0.0.1', 'GET', '/healthz', { agent });
      expect(after).toMatchObject({ status: 200, reused: true, fingerprint: before.fingerprint });
      expect(after.fingerprint).not.toBe(fresh.fingerprint256);

      const written = new X509Certificate(readFileSync(path.join(server.dataDir, 'certs', 'server.pem')));
      expect(written.fingerprint256).toBe(fresh.fingerprint256);
      const events = await callAs(server, hcn, 'GET', '/api/v1/events?action=hcn.change', { token: admin });
      expect(events.body.events[0]).toMatchObject({ actor: 'admin', outcome: 'success', details: { from: '127.0.0.1', to: 'slm.example.test' } });
      expect(await server.ctx.hcn.isSyncRequired()).toBe(true);
    } finally {
      agent.destroy();
    }
  });

  test('When the same name is set again, then the certificate is not regenerated', async () => {
    const before = (await get()).body.certificate.fingerprintSha256;
    const res = await put('slm.example.test');
    expect(res.status).toBe(200);
    expect(res.body.certificate.fingerprintSha256).toBe(before);
  });

  test('When the name is an IPv6 address, then it is stored canonical and the certificate has an IP SAN that TLS clients accept', async () => {
    const res = await put('FD00:0:0:0::10');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ name: 'fd00::10', certificate: { subject: 'CN=fd00::10', subjectAltNames: ['fd00::10'] } });
    const fresh = await newConnectionCertificate(server, 'fd00::10');
    expect(fresh.subjectaltname).toBe('IP Address:FD00:0:0:0:0:0:0:10');
    const openssl = await opensslView(server, 'anything.example');
    expect(openssl).toContain('IP Address:FD00:0:0:0:0:0:0:10');
    // Restart-free: the stored certificate already matches, so the next start does not reissue it.
    const stored = await server.ctx.pki.tlsCredential('fd00::10');
    expect(new X509Certificate(stored.certPem).fingerprint256).toBe(res.body.certificate.fingerprintSha256);
  });

  test('When the name is an IPv4 address, then the certificate has an IPv4 SAN', async () => {
    const res = await put('127.0.0.1');
    expect(res.body.certificate.subjectAltNames).toEqual(['127.0.0.1']);
    expect((await newConnectionCertificate(server, '127.0.0.1')).subjectaltname).toBe('IP Address:127.0.0.1');
  });
});

describe('Host Common Name in dual-stack mode', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ env: { SLM_DUAL_STACK: 'true', SLM_HOST_COMMON_NAME: 'slm.dual.example' } });
  });
  afterAll(() => server.close());

  test('When the deployment is dual-stack, then an IP address is refused with FQDN_REQUIRED_IN_DUAL_STACK and an FQDN is accepted', async () => {
    const login = await callAs(server, 'slm.dual.example', 'POST', '/api/v1/auth/login', { body: { username: 'admin', password: ADMIN_PASSWORD } });
    const admin = login.body.token;
    const put = (name: string) => callAs(server, 'slm.dual.example', 'PUT', '/api/v1/settings/host-common-name', { token: admin, body: { name } });
    for (const name of ['10.0.0.5', 'fd00::5']) {
      const res = await put(name);
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('FQDN_REQUIRED_IN_DUAL_STACK');
    }
    const ok = await put('slm2.dual.example');
    expect(ok.status).toBe(200);
    expect(ok.body.name).toBe('slm2.dual.example');
  });
});

describe('Host Common Name across the two nodes of a cluster (one shared database)', () => {
  let nodeA: TestServer;
  let nodeB: TestServer;
  beforeAll(async () => {
    const databaseUrl = await createTestDatabase();
    const env = { SLM_KEK: randomBytes(32).toString('base64') };
    nodeA = await startTestServer({ databaseUrl, env });
    nodeB = await startTestServer({ databaseUrl, env });
  });
  afterAll(async () => {
    await nodeA?.close();
    await nodeB?.close();
  });

  test('When one node changes the name, then the other node serves the new certificate to new connections within seconds', async () => {
    const admin = await nodeA.login();
    const res = await callAs(nodeA, '127.0.0.1', 'PUT', '/api/v1/settings/host-common-name', { token: admin, body: { name: 'vip.cluster.example' } });
    expect(res.status).toBe(200);
    const started = Date.now();
    let seen = '';
    while (Date.now() - started < 8000) {
      seen = (await newConnectionCertificate(nodeB, 'vip.cluster.example').catch(() => ({ fingerprint256: '' }))).fingerprint256;
      if (seen === res.body.certificate.fingerprintSha256) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(seen).toBe(res.body.certificate.fingerprintSha256);
    const written = new X509Certificate(readFileSync(path.join(nodeB.dataDir, 'certs', 'server.pem')));
    expect(written.fingerprint256).toBe(seen);
    const fromB = await callAs(nodeB, 'vip.cluster.example', 'GET', '/api/v1/settings/host-common-name', { token: admin });
    expect(fromB.body).toMatchObject({ name: 'vip.cluster.example', syncRequired: true });
  });
});

describe('slm hcn (CLI through the API)', () => {
  let server: TestServer;
  const cli = inProcessCli();
  const slm = (...args: string[]) => cli.slm('hcn', ...args, ...cli.adminOptions(server));

  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server.close());

  test('When the admin runs slm hcn show, then it prints the name, the certificate and the sync flag', async () => {
    const shown = await slm('show');
    expect(shown).toMatch(/Host Common Name\s+127\.0\.0\.1/);
    expect(shown).toMatch(/Sync required\s+no/);
    expect(shown).toMatch(/Subject alt names\s+127\.0\.0\.1/);
  });

  test('When the admin sets a wildcard, then the CLI prints INVALID_HOST_COMMON_NAME and exits 1', async () => {
    await expect(slm('set', '*.example.com')).rejects.toThrow('exit 1');
    expect(cli.printed()).toMatch(/^INVALID_HOST_COMMON_NAME: /);
  });

  test('When the admin sets a new name, then the CLI prints it with its new certificate and sync required', async () => {
    const json = JSON.parse(await slm('set', 'FD00::20', '--json'));
    expect(json).toMatchObject({ name: 'fd00::20', syncRequired: true, certificate: { subjectAltNames: ['fd00::20'] } });
    expect((await newConnectionCertificate(server, 'fd00::20')).subject.CN).toBe('fd00::20');
  });
});
