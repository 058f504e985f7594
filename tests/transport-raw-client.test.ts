import { execFileSync } from 'node:child_process';
import { X509Certificate, createPrivateKey, randomUUID, sign, verify, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startTestServer, type TestServer } from './support/test-server';
import { transportFixtures } from './transport-helpers';

/**
 * A product written from transport-protocol.md alone: openssl makes the key and the CSR, node's
 * crypto signs and verifies compact JWS by hand. No code of the server or of its simulator is used.
 */
const b64url = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

function jws(header: object, claims: object, key: KeyObject): string {
  const input = `${b64url(header)}.${b64url(claims)}`;
  const signature = key.asymmetricKeyType === 'ec'
    ? sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' })
    : sign('sha256', Buffer.from(input), key);
  return `${input}.${signature.toString('base64url')}`;
}

/** Verifies a server answer: x5c chain up to the CA we trust, then the ES256/RS256 signature. */
function verifyAnswer(token: string, caPem: string): Record<string, unknown> {
  const [h, p, s] = token.split('.');
  const header = JSON.parse(Buffer.from(h, 'base64url').toString());
  const chain = (header.x5c as string[]).map((der) => new X509Certificate(Buffer.from(der, 'base64')));
  const ca = new X509Certificate(caPem);
  chain.forEach((cert, i) => {
    const issuer = chain[i + 1] ?? ca;
    if (!cert.verify(issuer.publicKey)) throw new Error(`x5c[${i}] is not signed by its issuer`);
  });
  if (!chain[chain.length - 1].verify(ca.publicKey)) throw new Error('chain does not end at the trusted CA');
  const key = chain[0].publicKey;
  const ok = header.alg === 'ES256'
    ? verify('sha256', Buffer.from(`${h}.${p}`), { key, dsaEncoding: 'ieee-p1363' }, Buffer.from(s, 'base64url'))
    : verify('sha256', Buffer.from(`${h}.${p}`), key, Buffer.from(s, 'base64url'));
  if (!ok) throw new Error('answer signature does not verify');
  return JSON.parse(Buffer.from(p, 'base64url').toString());
}

describe('A client written from the protocol page alone', () => {
  let server: TestServer;
  let admin: string;
  let fx: ReturnType<typeof transportFixtures>;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'slm-raw-'));
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

  beforeAll(async () => {
    server = await startTestServer();
    admin = await server.login();
    fx = transportFixtures(server, () => admin);
    await fx.account('Acme');
    await fx.importLicenses([fx.licenseLine('Acme', 'regid.raw.TAG', 5)]);
  });
  afterAll(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test.each([
    ['ES256', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'ec.key'], 'ec.key'],
    ['RS256', ['genrsa', '-out', 'rsa.key', '2048'], 'rsa.key'],
  ])('When a %s product registers, authorizes, renews and deregisters, then every answer verifies against the CA it received', async (alg, keygen, keyFile) => {
    openssl(...keygen);
    const csrFile = `${keyFile}.csr`;
    openssl('req', '-new', '-key', keyFile, '-subj', '/CN=raw-product', '-out', csrFile);
    const key = createPrivateKey(readFileSync(path.join(dir, keyFile)));
    const csr = readFileSync(path.join(dir, csrFile), 'utf8');
    const { token } = await fx.token('Acme');
    const send = async (message: string) => {
      const res = await server.http().post('/Transportgateway/services/DeviceRequestHandler').set('content-type', 'application/json').send(JSON.stringify({ message }));
      return res;
    };
    const common = () => ({ jti: randomUUID(), iat: Math.floor(Date.now() / 1000), aud: '127.0.0.1' });
    const sn = `RAW-${alg}`;

    const reg = await send(jws({ alg }, { typ: 'register', ...common(), idToken: token, udi: { pid: 'RAW', sn }, productType: 'UCL', hostname: `raw-${alg}`, csr }, key));
    expect(reg.status).toBe(200);
    // First contact: trust the CA the test harness wrote (certs/ca.pem), as an admin would configure it.
    const registered = verifyAnswer(reg.body.response, server.ca);
    expect(registered).toMatchObject({ typ: 'register', status: 'REGISTERED', productInstance: { udi: { pid: 'RAW', sn } } });
    const caPem = (registered.caChain as string[])[0];
    const id = (registered.productInstance as { id: string }).id;
    expect(new X509Certificate(registered.idCertificate as string).verify(new X509Certificate(caPem).publicKey)).toBe(true);

    const authMessage = jws({ alg, kid: id }, { typ: 'authorize', ...common(), entitlements: [{ tag: 'regid.raw.TAG', count: 2 }] }, key);
    const auth = await send(authMessage);
    expect(auth.status).toBe(200);
    const authorized = verifyAnswer(auth.body.response, caPem);
    expect(authorized).toMatchObject({ typ: 'authorize', overall: 'AUTHORIZED', entitlements: [{ tag: 'regid.raw.TAG', count: 2, status: 'AUTHORIZED' }] });
    expect(authorized.requestJti).toBe(JSON.parse(Buffer.from(authMessage.split('.')[1], 'base64url').toString()).jti);

    const renewed = verifyAnswer((await send(jws({ alg, kid: id }, { typ: 'renew', ...common() }, key))).body.response, caPem);
    expect(new X509Certificate(renewed.idCertificate as string).subject).toBe(`CN=UDI_PID:RAW UDI_SN:${sn}`);

    const gone = verifyAnswer((await send(jws({ alg, kid: id }, { typ: 'deregister', ...common() }, key))).body.response, caPem);
    expect(gone).toMatchObject({ typ: 'deregister', status: 'DEREGISTERED' });
    const after = await send(jws({ alg, kid: id }, { typ: 'authorize', ...common(), entitlements: [] }, key));
    expect(after.status).toBe(410);
    expect(after.body).toEqual({ error: { code: 'PRODUCT_INSTANCE_DEREGISTERED', message: expect.any(String) } });
  });
});

describe('Transport rate limit', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ env: { SLM_TRANSPORT_RATE_LIMIT: '5' } });
  });
  afterAll(() => server.close());

  test('When one address sends more messages than the limit, then it gets 429 RATE_LIMITED with Retry-After', async () => {
    const statuses: number[] = [];
    let last;
    for (let i = 0; i < 6; i++) {
      last = await server.http().post('/SmartTransport').send({ message: 'not.a.jws' });
      statuses.push(last.status);
    }
    expect(statuses).toEqual([400, 400, 400, 400, 400, 429]);
    expect(last!.body.error.code).toBe('RATE_LIMITED');
    expect(Number(last!.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(Number(last!.headers['retry-after'])).toBeLessThanOrEqual(60);
  });
});
