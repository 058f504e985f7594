import { execFileSync } from 'node:child_process';
import { X509Certificate, createPrivateKey, createPublicKey, generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import jwt from 'jsonwebtoken';
import { startTestServer, type TestServer } from './support/test-server';
import { postMessage, transportFixtures } from './transport-helpers';
import { TransportError, type ProductSimulator } from '../src/products/simulator';
import { signJws } from '../src/transport/jws';
import { SYNC_REQUIRED_KEY } from '../src/hcn/host-common-name';

const DAY_MS = 86_400_000;
const TAG_A = 'regid.2016-07.com.cisco.UCM_Basic,12.0_aaaa';
const TAG_B = 'regid.2016-07.com.cisco.UCM_Enhanced,12.0_bbbb';

describe('Transport Gateway protocol', () => {
  let server: TestServer;
  let admin: string;
  let clockOffsetMs = 0;
  let fx: ReturnType<typeof transportFixtures>;
  let token: { id: string; token: string };
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'slm-transport-'));

  const expectError = async (promise: Promise<unknown>, code: string, status: number) => {
    await expect(promise).rejects.toMatchObject({ code, status });
  };
  const registered = async (opts: Parameters<typeof fx.product>[0] = {}) => {
    const sim = fx.product(opts);
    await sim.register(token.token);
    return sim;
  };
  const tokenUses = async (id: string) => (await server.ctx.db.registrationToken.findUniqueOrThrow({ where: { id } })).uses;
  const totals = async (account = 'Acme') => {
    const rows = await server.ctx.db.usageTotal.findMany({ where: { virtualAccountId: await fx.virtualAccountId(account) } });
    return Object.fromEntries(rows.filter((r) => r.inUse !== 0).map((r) => [r.tag, r.inUse]));
  };

  beforeAll(async () => {
    server = await startTestServer({ clock: () => new Date(Date.now() + clockOffsetMs) });
    admin = await server.login();
    fx = transportFixtures(server, () => admin);
    await fx.account('Acme', ['Lab']);
    const imported = await fx.importLicenses([fx.licenseLine('Acme', TAG_A, 10), fx.licenseLine('Acme', TAG_B, 2)]);
    expect(imported.status).toBe(200);
    token = await fx.token('Acme', { maxUses: 1000, exportControlled: true });
  });
  afterAll(async () => {
    await server.close();
    rmSync(tmp, { recursive: true, force: true });
  });
  afterEach(async () => {
    clockOffsetMs = 0;
    await server.ctx.settings.set(SYNC_REQUIRED_KEY, false);
  });

  describe('register', () => {
    test('When a P-256 product registers, then it gets a CA-signed ID certificate that openssl verifies and the token is used once', async () => {
      const before = await tokenUses(token.id);
      const sim = fx.product({ udi: { pid: 'C9300-24T', sn: 'FOC0001' }, hostname: 'core-sw-1', softwareVersion: '17.9' });
      const claims = await sim.register(token.token);

      expect(claims).toMatchObject({
        typ: 'register',
        status: 'REGISTERED',
        productInstance: { name: 'core-sw-1', udi: { pid: 'C9300-24T', sn: 'FOC0001' }, smartAccount: null, virtualAccount: 'Default' },
        exportControlled: true,
      });
      expect(await tokenUses(token.id)).toBe(before + 1);
      const cert = new X509Certificate(claims.idCertificate as string);
      expect(cert.subject).toBe('CN=UDI_PID:C9300-24T UDI_SN:FOC0001');
      expect(cert.checkIssued(new X509Certificate(server.ca))).toBe(true);
      expect(cert.publicKey.export({ type: 'spki', format: 'pem' })).toBe(createPublicKey(sim.state.privateKeyPem).export({ type: 'spki', format: 'pem' }));
      const days = (Date.parse(cert.validTo) - Date.now()) / DAY_MS;
      expect(days).toBeGreaterThan(364);
      expect(days).toBeLessThanOrEqual(366);
      expect(cert.keyUsage).toEqual(['1.3.6.1.5.5.7.3.2']);
      expect(claims.caChain).toEqual([server.ca]);
      const renewAfter = Date.parse(claims.renewAfter as string);
      expect(renewAfter - Date.now()).toBeGreaterThan(180 * DAY_MS);
      expect(renewAfter - Date.now()).toBeLessThan(186 * DAY_MS);

      writeFileSync(path.join(tmp, 'ca.pem'), server.ca);
      writeFileSync(path.join(tmp, 'id.pem'), claims.idCertificate as string);
      const text = execFileSync('openssl', ['x509', '-in', path.join(tmp, 'id.pem'), '-noout', '-text'], { encoding: 'utf8' });
      expect(text).toMatch(/Digital Signature/);
      expect(text).toMatch(/TLS Web Client Authentication/);
      const verify = execFileSync('openssl', ['verify', '-CAfile', path.join(tmp, 'ca.pem'), path.join(tmp, 'id.pem')], { encoding: 'utf8' });
      expect(verify.trim()).toBe(`${path.join(tmp, 'id.pem')}: OK`);

      const row = await server.ctx.db.productInstance.findUniqueOrThrow({ where: { id: sim.instanceId } });
      expect(row).toMatchObject({ status: 'REGISTERED', productType: 'UCL', softwareVersion: '17.9', tokenId: token.id, exportControlled: true });
      const events = await server.http().get('/api/v1/events?action=product.register').auth(admin, { type: 'bearer' });
      expect(events.body.events[0]).toMatchObject({ objectId: sim.instanceId, actor: 'UDI_PID:C9300-24T UDI_SN:FOC0001' });
    });

    test('When an RSA product registers on /SmartTransport, then RS256 messages work end to end', async () => {
      const sim = fx.product({ keyType: 'rsa', url: `${server.url}/SmartTransport` });
      await sim.register(token.token);
      const auth = await sim.authorize([{ tag: TAG_A, count: 1 }]);
      expect(auth.overall).toBe('AUTHORIZED');
      expect(new X509Certificate(sim.state.idCertificate!).publicKey.asymmetricKeyType).toBe('rsa');
    });

    test('When the same UDI registers again, then it keeps its id and usage, gets a new key and certificate, and uses the token again', async () => {
      const first = await registered({ udi: { pid: 'CUCM', sn: 'again-1' } });
      await first.authorize([{ tag: TAG_A, count: 2 }]);
      const firstCert = await server.ctx.db.productInstance.findUniqueOrThrow({ where: { id: first.instanceId } });
      const before = await tokenUses(token.id);

      const second = fx.product({ udi: { pid: 'CUCM', sn: 'again-1' }, hostname: 'renamed' });
      const claims = await second.register(token.token);
      expect(second.instanceId).toBe(first.instanceId);
      expect(claims.productInstance).toMatchObject({ id: first.instanceId, name: 'renamed' });
      expect(await tokenUses(token.id)).toBe(before + 1);
      const row = await server.ctx.db.productInstance.findUniqueOrThrow({ where: { id: first.instanceId }, include: { usages: true } });
      expect(row.certSerial).not.toBe(firstCert.certSerial);
      expect(row.publicKeyPem).not.toBe(firstCert.publicKeyPem);
      expect(row.registeredAt).toEqual(firstCert.registeredAt);
      expect(row.usages).toEqual([expect.objectContaining({ tag: TAG_A, count: 2 })]);
      // The old key no longer speaks for the instance.
      await expectError(first.authorize([]), 'BAD_SIGNATURE', 401);
      const events = await server.http().get('/api/v1/events?action=product.reregister').auth(admin, { type: 'bearer' });
      expect(events.body.events[0]).toMatchObject({ objectId: first.instanceId });
    });

    test('When a registered UDI registers with a token of another virtual account, then it moves there and its usage leaves the old one', async () => {
      const sim = await registered();
      await sim.authorize([{ tag: TAG_B, count: 1 }]);
      const before = (await totals())[TAG_B] ?? 0;
      const labToken = await fx.token('Acme', {}, 'Lab');
      const moved = await sim.register(labToken.token);
      expect(moved.productInstance).toMatchObject({ id: sim.instanceId, virtualAccount: 'Lab' });
      expect((await totals())[TAG_B] ?? 0).toBe(before - 1);
      expect(await server.ctx.db.usage.count({ where: { productInstanceId: sim.instanceId } })).toBe(0);
    });

    test('When the Host Common Name changed and was not synchronized, then register answers 409 SYNC_REQUIRED and uses no token', async () => {
      await server.ctx.settings.set(SYNC_REQUIRED_KEY, true);
      const before = await tokenUses(token.id);
      await expectError(fx.product().register(token.token), 'SYNC_REQUIRED', 409);
      expect(await tokenUses(token.id)).toBe(before);
      // Registered products keep working meanwhile.
      const sim = await (async () => {
        await server.ctx.settings.set(SYNC_REQUIRED_KEY, false);
        const s = await registered();
        await server.ctx.settings.set(SYNC_REQUIRED_KEY, true);
        return s;
      })();
      expect((await sim.authorize([])).overall).toBe('AUTHORIZED');
    });
  });

  describe('token errors', () => {
    test('When the token is forged, then register answers 401 TOKEN_INVALID', async () => {
      const forged = jwt.sign({ va: randomUUID() }, 'secret', { algorithm: 'HS256', jwtid: token.id, expiresIn: 3600 });
      await expectError(fx.product().register(forged), 'TOKEN_INVALID', 401);
      await expectError(fx.product().register('not-a-token'), 'TOKEN_INVALID', 401);
    });

    test('When the token is expired, then register answers 401 TOKEN_EXPIRED', async () => {
      const short = await fx.token('Acme', { expiresInDays: 1 });
      clockOffsetMs = 2 * DAY_MS;
      const sim = fx.product();
      sim.clock = () => new Date(Date.now() + clockOffsetMs);
      await expectError(sim.register(short.token), 'TOKEN_EXPIRED', 401);
    });

    test('When the token is revoked, then register answers 401 TOKEN_REVOKED', async () => {
      const revoked = await fx.token('Acme');
      await server.http().post(`/api/v1/tokens/${revoked.id}/revoke`).auth(admin, { type: 'bearer' }).expect(200);
      await expectError(fx.product().register(revoked.token), 'TOKEN_REVOKED', 401);
    });

    test('When the account is deactivated, then register answers 403 ACCOUNT_INACTIVE', async () => {
      await fx.account('Gone');
      const goneToken = await fx.token('Gone');
      await server.http().post('/api/v1/accounts/Gone/deactivate').auth(admin, { type: 'bearer' }).expect(200);
      await expectError(fx.product().register(goneToken.token), 'ACCOUNT_INACTIVE', 403);
    });

    test('When 10 products register at once with a 3-use token, then exactly 3 succeed and 7 get TOKEN_EXHAUSTED', async () => {
      const scarce = await fx.token('Acme', { maxUses: 3 });
      const results = await Promise.allSettled(Array.from({ length: 10 }, () => fx.product().register(scarce.token)));
      const ok = results.filter((r) => r.status === 'fulfilled');
      const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(ok).toHaveLength(3);
      expect(failed.map((f) => (f.reason as TransportError).code)).toEqual(Array(7).fill('TOKEN_EXHAUSTED'));
      expect(await tokenUses(scarce.id)).toBe(3);
      expect(await server.ctx.db.productInstance.count({ where: { tokenId: scarce.id } })).toBe(3);
    });
  });

  describe('authorize', () => {
    test('When a product reports within the purchase, then it is AUTHORIZED and the usage totals follow each report', async () => {
      const sim = await registered();
      const base = await totals();
      const first = await sim.authorize([{ tag: TAG_A, count: 3 }]);
      expect(first).toMatchObject({ typ: 'authorize', overall: 'AUTHORIZED', entitlements: [{ tag: TAG_A, count: 3, status: 'AUTHORIZED' }] });
      expect(Date.parse(first.authorizationExpires as string) - Date.now()).toBeGreaterThan(89 * DAY_MS);
      expect(Date.parse(first.nextAuthorization as string) - Date.now()).toBeGreaterThan(29 * DAY_MS);
      expect(Date.parse(first.nextAuthorization as string) - Date.now()).toBeLessThanOrEqual(30 * DAY_MS);
      expect((await totals())[TAG_A]).toBe((base[TAG_A] ?? 0) + 3);

      await sim.authorize([{ tag: TAG_A, count: 1 }]);
      expect((await totals())[TAG_A]).toBe((base[TAG_A] ?? 0) + 1);
      const row = await server.ctx.db.productInstance.findUniqueOrThrow({ where: { id: sim.instanceId } });
      expect(Date.now() - row.lastContactAt.getTime()).toBeLessThan(10_000);
    });

    test('When a report exceeds the purchase or names an unknown tag, then the entry says so and overall is OUT_OF_COMPLIANCE', async () => {
      const sim = await registered();
      const over = await sim.authorize([{ tag: TAG_B, count: 50 }]);
      expect(over).toMatchObject({ overall: 'OUT_OF_COMPLIANCE', entitlements: [{ tag: TAG_B, count: 50, status: 'OUT_OF_COMPLIANCE' }] });
      const unknown = await sim.authorize([{ tag: 'regid.never.bought', count: 1 }, { tag: TAG_A, count: 0 }]);
      expect(unknown).toMatchObject({
        overall: 'OUT_OF_COMPLIANCE',
        entitlements: [{ tag: 'regid.never.bought', count: 1, status: 'INVALID_TAG' }, { tag: TAG_A, count: 0, status: 'AUTHORIZED' }],
      });
      const zero = await sim.authorize([{ tag: 'regid.never.bought', count: 0 }]);
      expect(zero).toMatchObject({ overall: 'AUTHORIZED', entitlements: [{ status: 'INVALID_TAG' }] });
    });

    test('When a report lists a tag twice or a negative count, then it answers 400 INVALID_MESSAGE', async () => {
      const sim = await registered();
      await expectError(sim.authorize([{ tag: TAG_A, count: 1 }, { tag: TAG_A, count: 2 }]), 'INVALID_MESSAGE', 400);
      await expectError(sim.authorize([{ tag: TAG_A, count: -1 }]), 'INVALID_MESSAGE', 400);
      await expectError(sim.authorize([{ tag: TAG_A, count: 1.5 }]), 'INVALID_MESSAGE', 400);
    });
  });

  describe('renew and certificates', () => {
    test('When a product renews without a CSR, then it gets a new certificate for the same key', async () => {
      const sim = await registered();
      const old = sim.state.idCertificate!;
      const claims = await sim.renew();
      const cert = new X509Certificate(claims.idCertificate as string);
      expect(cert.serialNumber).not.toBe(new X509Certificate(old).serialNumber);
      expect(cert.publicKey.export({ type: 'spki', format: 'pem' })).toBe(new X509Certificate(old).publicKey.export({ type: 'spki', format: 'pem' }));
      expect(claims.typ).toBe('renew');
      expect(Date.parse(claims.renewAfter as string)).toBeGreaterThan(Date.now() + 180 * DAY_MS);
    });

    test('When a product renews with a new key, then later messages must be signed by the new key', async () => {
      const sim = await registered();
      const oldKey = sim.state.privateKeyPem;
      await sim.renew({ newKey: true });
      expect(sim.state.privateKeyPem).not.toBe(oldKey);
      expect((await sim.authorize([])).overall).toBe('AUTHORIZED');
      const stale = signJws({ typ: 'authorize', jti: randomUUID(), iat: Math.floor(Date.now() / 1000), aud: '127.0.0.1', entitlements: [] },
        createPrivateKey(oldKey), { kid: sim.instanceId });
      expect((await postMessage(server, stale)).body.error.code).toBe('BAD_SIGNATURE');
    });

    test('When the ID certificate has expired, then renew and authorize answer 401 CERTIFICATE_EXPIRED and register works again', async () => {
      const sim = await registered();
      clockOffsetMs = 300 * DAY_MS;
      const later = await fx.token('Acme', { expiresInDays: 365 });
      clockOffsetMs = 366 * DAY_MS;
      sim.clock = () => new Date(Date.now() + clockOffsetMs);
      await expectError(sim.authorize([]), 'CERTIFICATE_EXPIRED', 401);
      await expectError(sim.renew(), 'CERTIFICATE_EXPIRED', 401);
      const again = fx.product({ udi: sim.state.udi });
      again.clock = sim.clock;
      await again.register(later.token);
      expect(again.instanceId).toBe(sim.instanceId);
      expect((await again.authorize([])).overall).toBe('AUTHORIZED');
    });
  });

  describe('deregister', () => {
    test('When a product deregisters, then its usage is released, later messages get 410 and the same UDI can register again', async () => {
      const sim = await registered();
      await sim.authorize([{ tag: TAG_A, count: 4 }]);
      const before = (await totals())[TAG_A];
      const claims = await sim.deregister();
      expect(claims).toMatchObject({ typ: 'deregister', status: 'DEREGISTERED' });
      expect((await totals())[TAG_A] ?? 0).toBe(before - 4);
      await expectError(sim.authorize([{ tag: TAG_A, count: 1 }]), 'PRODUCT_INSTANCE_DEREGISTERED', 410);
      await expectError(sim.deregister(), 'PRODUCT_INSTANCE_DEREGISTERED', 410);
      const row = await server.ctx.db.productInstance.findUniqueOrThrow({ where: { id: sim.instanceId } });
      expect(row.status).toBe('DEREGISTERED');
      expect(row.deregisteredAt).not.toBeNull();

      await sim.register(token.token);
      expect((await sim.authorize([{ tag: TAG_A, count: 1 }])).overall).toBe('AUTHORIZED');
      expect((await totals())[TAG_A]).toBe(before - 4 + 1);
    });
  });

  describe('idempotency', () => {
    test('When the same register message arrives twice, then the second gets the same answer and nothing is applied again', async () => {
      const sim = fx.product();
      const message = sim.registerMessage(token.token);
      const before = await tokenUses(token.id);
      const first = await postMessage(server, message);
      const second = await postMessage(server, message);
      expect(first.status).toBe(200);
      expect(second.status).toBe(200);
      expect(second.body).toEqual(first.body);
      expect(await tokenUses(token.id)).toBe(before + 1);
      expect(await server.ctx.db.productInstance.count({ where: { udiSn: sim.state.udi.sn } })).toBe(1);
    });

    test('When 8 copies of one register message arrive at once, then all get one answer, one certificate and one token use', async () => {
      const sim = fx.product();
      const message = sim.registerMessage(token.token);
      const before = await tokenUses(token.id);
      const answers = await Promise.all(Array.from({ length: 8 }, () => postMessage(server, message)));
      expect(answers.map((a) => a.status)).toEqual(Array(8).fill(200));
      expect(new Set(answers.map((a) => a.body.response)).size).toBe(1);
      expect(await tokenUses(token.id)).toBe(before + 1);
    });

    test('When an authorize is resent (even later than the clock-skew window), then usage is counted once and the answer is the same', async () => {
      const sim = await registered();
      const base = (await totals())[TAG_A] ?? 0;
      await sim.authorize([{ tag: TAG_A, count: 2 }]);
      const message = sim.authorizeMessage([{ tag: TAG_A, count: 5 }]);
      const copies = await Promise.all(Array.from({ length: 6 }, () => postMessage(server, message)));
      expect(new Set(copies.map((c) => c.body.response)).size).toBe(1);
      expect((await totals())[TAG_A]).toBe(base + 5);
      clockOffsetMs = 10 * 60_000;
      const late = await postMessage(server, message);
      expect(late.body).toEqual(copies[0].body);
    });

    test('When a jti is reused with a different body, then it answers 409 REPLAYED_MESSAGE and applies nothing', async () => {
      const sim = await registered();
      const jti = randomUUID();
      await sim.send(sim.message('authorize', { entitlements: [{ tag: TAG_A, count: 1 }] }, { jti }));
      const base = (await totals())[TAG_A];
      const reused = sim.message('authorize', { entitlements: [{ tag: TAG_A, count: 9 }] }, { jti });
      await expectError(sim.send(reused), 'REPLAYED_MESSAGE', 409);
      expect((await totals())[TAG_A]).toBe(base);
    });

    test('When old answers are purged, then records past the retention period are deleted and recent ones kept', async () => {
      const sim = await registered();
      await sim.authorize([]);
      clockOffsetMs = 8 * DAY_MS;
      const purged = await server.ctx.idempotency.purge();
      expect(purged).toBeGreaterThan(0);
      expect(await server.ctx.db.idempotencyRecord.count({ where: { sender: sim.instanceId } })).toBe(0);
    });
  });

  describe('message errors', () => {
    let sim: ProductSimulator;
    beforeAll(async () => {
      sim = await registered();
    });
    const codeOf = async (message: unknown) => {
      const res = await postMessage(server, message);
      return `${res.status} ${res.body.error?.code}`;
    };
    const now = () => Math.floor(Date.now() / 1000);

    test('When the body or the JWS is malformed, then it answers 400 INVALID_MESSAGE', async () => {
      expect(await codeOf(undefined)).toBe('400 INVALID_MESSAGE');
      expect(await codeOf(42)).toBe('400 INVALID_MESSAGE');
      expect(await codeOf('')).toBe('400 INVALID_MESSAGE');
      expect(await codeOf('abc')).toBe('400 INVALID_MESSAGE');
      expect(await codeOf('a.b.c')).toBe('400 INVALID_MESSAGE');
      expect(await codeOf(`${Buffer.from('[1]').toString('base64url')}.e30.AA`)).toBe('400 INVALID_MESSAGE');
      const raw = await server.http().post('/SmartTransport').set('content-type', 'application/json').send('{"message":');
      expect(raw.status).toBe(400);
      expect(raw.body.error.code).toBe('INVALID_MESSAGE');
    });

    test('When a claim is missing or of the wrong type, then it answers 400 INVALID_MESSAGE', async () => {
      expect(await codeOf(sim.message('authorize', {}))).toBe('400 INVALID_MESSAGE');
      expect(await codeOf(sim.message('authorize', { entitlements: [] }, { iat: 'yesterday' }))).toBe('400 INVALID_MESSAGE');
      expect(await codeOf(sim.message('authorize', { entitlements: [] }, { jti: undefined }))).toBe('400 INVALID_MESSAGE');
      expect(await codeOf(sim.message('bogus', {}))).toBe('400 INVALID_MESSAGE');
      const reg = fx.product();
      expect(await codeOf(reg.message('register', { idToken: token.token, udi: { pid: 'X' }, productType: 'UCL', hostname: 'h', csr: reg.csr() })))
        .toBe('400 INVALID_MESSAGE');
      expect(await codeOf(reg.message('register', { idToken: token.token, udi: { pid: 'X', sn: 'Y' }, productType: 'UCL', hostname: 'h', csr: 'nope' })))
        .toBe('400 INVALID_MESSAGE');
      const noKid = signJws({ typ: 'deregister', jti: randomUUID(), iat: now(), aud: '127.0.0.1' }, createPrivateKey(sim.state.privateKeyPem));
      expect(await codeOf(noKid)).toBe('400 INVALID_MESSAGE');
    });

    test('When the signature is tampered with, forged, alg none or HS256, then it answers 401 BAD_SIGNATURE', async () => {
      const good = sim.message('authorize', { entitlements: [] });
      const [h, p, s] = good.split('.');
      const otherPayload = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p, 'base64url').toString()), entitlements: [{ tag: TAG_A, count: 1000 }] })).toString('base64url');
      expect(await codeOf(`${h}.${otherPayload}.${s}`)).toBe('401 BAD_SIGNATURE');
      const flipped = Buffer.from(s, 'base64url');
      flipped[5] ^= 0xff;
      expect(await codeOf(`${h}.${p}.${flipped.toString('base64url')}`)).toBe('401 BAD_SIGNATURE');
      const stranger = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
      expect(await codeOf(signJws({ typ: 'authorize', jti: randomUUID(), iat: now(), aud: '127.0.0.1', entitlements: [] }, stranger, { kid: sim.instanceId })))
        .toBe('401 BAD_SIGNATURE');
      const none = `${Buffer.from(JSON.stringify({ alg: 'none', kid: sim.instanceId })).toString('base64url')}.${p}.AA`;
      expect(await codeOf(none)).toBe('400 INVALID_MESSAGE');
      const hs = jwt.sign({ typ: 'authorize', jti: randomUUID(), aud: '127.0.0.1', entitlements: [] }, createPublicKey(sim.state.privateKeyPem).export({ type: 'spki', format: 'pem' }) as string, {
        algorithm: 'HS256', keyid: sim.instanceId, allowInsecureKeySizes: true,
      } as jwt.SignOptions);
      expect(await codeOf(hs)).toBe('400 INVALID_MESSAGE');
      const rs = signJws({ typ: 'authorize', jti: randomUUID(), iat: now(), aud: '127.0.0.1', entitlements: [] }, createPrivateKey(sim.state.privateKeyPem), { kid: sim.instanceId });
      const asRs = `${Buffer.from(JSON.stringify({ alg: 'RS256', kid: sim.instanceId })).toString('base64url')}.${rs.split('.')[1]}.${rs.split('.')[2]}`;
      expect(await codeOf(asRs)).toBe('401 BAD_SIGNATURE');
    });

    test('When a register JWS is not signed by the key of its CSR, then it answers 401 BAD_SIGNATURE', async () => {
      const reg = fx.product();
      const other = fx.product();
      const message = signJws(
        { typ: 'register', jti: randomUUID(), iat: now(), aud: '127.0.0.1', idToken: token.token, udi: reg.state.udi, productType: 'UCL', hostname: 'h', csr: reg.csr() },
        createPrivateKey(other.state.privateKeyPem),
      );
      expect(await codeOf(message)).toBe('401 BAD_SIGNATURE');
    });

    test('When iat is more than 5 minutes from server time, then it answers 401 STALE_MESSAGE', async () => {
      expect(await codeOf(sim.message('authorize', { entitlements: [] }, { iat: now() - 301 }))).toBe('401 STALE_MESSAGE');
      expect(await codeOf(sim.message('authorize', { entitlements: [] }, { iat: now() + 400 }))).toBe('401 STALE_MESSAGE');
      expect(await codeOf(sim.message('authorize', { entitlements: [] }, { iat: now() - 240 }))).toBe('200 undefined');
    });

    test('When aud is not the Host Common Name, then it answers 421 HOST_COMMON_NAME_MISMATCH', async () => {
      const res = await postMessage(server, sim.message('authorize', { entitlements: [] }, { aud: 'slm.old.example' }));
      expect(res.status).toBe(421);
      expect(res.body.error).toMatchObject({ code: 'HOST_COMMON_NAME_MISMATCH', details: { hostCommonName: '127.0.0.1' } });
    });

    test('When kid is unknown or not an id, then it answers 404 UNKNOWN_PRODUCT_INSTANCE', async () => {
      const key = createPrivateKey(sim.state.privateKeyPem);
      for (const kid of [randomUUID(), 'not-a-uuid']) {
        const message = signJws({ typ: 'authorize', jti: randomUUID(), iat: now(), aud: '127.0.0.1', entitlements: [] }, key, { kid });
        expect(await codeOf(message)).toBe('404 UNKNOWN_PRODUCT_INSTANCE');
      }
    });

    test('When the kid names another instance, then the signature does not verify: 401 BAD_SIGNATURE', async () => {
      const other = await registered();
      const message = signJws({ typ: 'authorize', jti: randomUUID(), iat: now(), aud: '127.0.0.1', entitlements: [] },
        createPrivateKey(sim.state.privateKeyPem), { kid: other.instanceId });
      expect(await codeOf(message)).toBe('401 BAD_SIGNATURE');
    });
  });
});
