import { generateKeyPairSync, randomUUID } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { startTestServer, type TestServer } from './support/test-server';
import { postMessage, transportFixtures } from './transport-helpers';
import { createCsr } from '../src/products/csr';
import { MAX_UNKNOWN_TAGS } from '../src/transport/transport-statements';
import { MAX_STORED_ANSWER_CHARS } from '../src/transport/idempotency';
import { MAX_PAYLOAD_CHARS } from '../src/transport/messages';

const TAG = 'regid.2016-07.com.cisco.UCM_Basic,12.0_hard';

describe('Transport hardening', () => {
  let server: TestServer;
  let admin: string;
  let fx: ReturnType<typeof transportFixtures>;
  let token: { id: string; token: string };

  beforeAll(async () => {
    server = await startTestServer({ env: { SLM_TRANSPORT_FAILURE_LIMIT: '40' } });
    admin = await server.login();
    fx = transportFixtures(server, () => admin);
    await fx.account('Owner');
    await fx.account('Intruder');
    expect((await fx.importLicenses([fx.licenseLine('Owner', TAG, 10)])).status).toBe(200);
    token = await fx.token('Owner');
  });
  afterAll(() => server.close());

  const tokenUses = async (id: string) => (await server.ctx.db.registrationToken.findUniqueOrThrow({ where: { id } })).uses;

  describe('cheap checks before expensive ones (finding 3)', () => {
    test('When a register carries a forged or revoked token, then it is refused for the token even though its CSR is garbage', async () => {
      const sim = fx.product();
      const forged = jwt.sign({ va: randomUUID() }, 'secret', { algorithm: 'HS256', jwtid: randomUUID(), expiresIn: 3600 });
      const garbage = (idToken: string) => sim.message('register', { idToken, udi: sim.state.udi, productType: 'UCL', hostname: 'h', csr: 'not a csr' });
      expect((await postMessage(server, garbage(forged))).body.error.code).toBe('TOKEN_INVALID');
      const revoked = await fx.token('Owner');
      await server.http().post(`/api/v1/tokens/${revoked.id}/revoke`).auth(admin, { type: 'bearer' }).expect(200);
      expect((await postMessage(server, garbage(revoked.token))).body.error.code).toBe('TOKEN_REVOKED');
      // With a usable token the same message reaches the CSR check.
      expect((await postMessage(server, garbage(token.token))).body.error.code).toBe('INVALID_MESSAGE');
    });

    test('When a token that registered a product is revoked, then the next registration with it is refused although its signature was already verified', async () => {
      const used = await fx.token('Owner');
      await fx.product().register(used.token);
      await server.http().post(`/api/v1/tokens/${used.id}/revoke`).auth(admin, { type: 'bearer' }).expect(200);
      await expect(fx.product().register(used.token)).rejects.toThrow(/TOKEN_REVOKED/);
    });

    test('When a registration is resent after it used up its token, then it gets its stored answer, not TOKEN_EXHAUSTED', async () => {
      const single = await fx.token('Owner', { maxUses: 1 });
      const message = fx.product().registerMessage(single.token);
      const first = await postMessage(server, message);
      expect(first.status).toBe(200);
      const again = await postMessage(server, message);
      expect([again.status, again.body.response]).toEqual([200, first.body.response]);
      expect((await postMessage(server, fx.product().registerMessage(single.token))).body.error.code).toBe('TOKEN_EXHAUSTED');
    });

    test('When an RSA CSR key has e = 3, then register answers 400 INVALID_MESSAGE and uses no token', async () => {
      const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent: 3 });
      const sim = fx.product({ privateKey });
      const before = await tokenUses(token.id);
      const message = sim.message('register', {
        idToken: token.token, udi: sim.state.udi, productType: 'UCL', hostname: 'h',
        csr: createCsr(privateKey, `UDI_PID:${sim.state.udi.pid} UDI_SN:${sim.state.udi.sn}`, publicKey),
      });
      const res = await postMessage(server, message);
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('INVALID_MESSAGE');
      expect(await tokenUses(token.id)).toBe(before);
    });
  });

  describe('re-registration of a known UDI (finding 4)', () => {
    test('When a UDI of one account registers with another account\'s token and a new key, then 409 UDI_REGISTERED_ELSEWHERE and the real product keeps working', async () => {
      const real = fx.product();
      await real.register(token.token);
      await real.authorize([{ tag: TAG, count: 2 }]);
      const intruderToken = await fx.token('Intruder');
      const intruder = fx.product({ udi: real.state.udi });
      await expect(intruder.register(intruderToken.token)).rejects.toMatchObject({ code: 'UDI_REGISTERED_ELSEWHERE', status: 409 });
      expect(await tokenUses(intruderToken.id)).toBe(0);
      const row = await server.ctx.db.productInstance.findUniqueOrThrow({ where: { id: real.instanceId }, include: { virtualAccount: { include: { account: true } } } });
      expect(row.virtualAccount.account.name).toBe('Owner');
      expect((await real.authorize([{ tag: TAG, count: 2 }])).overall).toBe('AUTHORIZED');
    });

    test('When an admin removed the instance first, then another account may register the UDI', async () => {
      const real = fx.product();
      await real.register(token.token);
      await server.http().delete(`/api/v1/product-instances/${real.instanceId}`).auth(admin, { type: 'bearer' }).expect(204);
      const next = fx.product({ udi: real.state.udi });
      const claims = await next.register((await fx.token('Intruder')).token);
      expect(claims.productInstance).toMatchObject({ id: real.instanceId });
      const row = await server.ctx.db.productInstance.findUniqueOrThrow({ where: { id: real.instanceId }, include: { virtualAccount: { include: { account: true } } } });
      expect(row.virtualAccount.account.name).toBe('Intruder');
    });

    test('When the product itself moves with its current key, then it moves to the other account', async () => {
      const real = fx.product();
      await real.register(token.token);
      const moved = await real.register((await fx.token('Intruder')).token);
      expect(moved.productInstance).toMatchObject({ id: real.instanceId });
      const row = await server.ctx.db.productInstance.findUniqueOrThrow({ where: { id: real.instanceId }, include: { virtualAccount: { include: { account: true } } } });
      expect(row.virtualAccount.account.name).toBe('Intruder');
    });
  });

  describe('bounded growth from one product (finding 11)', () => {
    const vaRows = async (account: string) => {
      const va = await fx.virtualAccountId(account);
      return server.ctx.db.usageTotal.findMany({ where: { virtualAccountId: va }, orderBy: { tag: 'asc' } });
    };

    test('When a product reports zero counts and then drops its tags, then no zero usage or total rows remain', async () => {
      await fx.account('Zero');
      const sim = fx.product();
      await sim.register((await fx.token('Zero')).token);
      await sim.authorize([{ tag: TAG, count: 0 }, ...Array.from({ length: 50 }, (_, i) => ({ tag: `regid.zero.T${i}`, count: 0 }))]);
      expect(await vaRows('Zero')).toEqual([]);
      await sim.authorize([{ tag: TAG, count: 3 }, { tag: 'regid.zero.T1', count: 1 }]);
      expect((await vaRows('Zero')).map((r) => [r.tag, r.inUse])).toEqual([[TAG, 3], ['regid.zero.T1', 1]]);
      await sim.authorize([]);
      expect(await vaRows('Zero')).toEqual([]);
      expect(await server.ctx.db.usage.count({ where: { productInstanceId: sim.instanceId } })).toBe(0);
    });

    test('When reports would put more distinct unknown tags in use in a virtual account than the bound, then 409 TOO_MANY_UNKNOWN_TAGS and nothing is applied', async () => {
      await fx.account('Flood');
      const token = (await fx.token('Flood')).token;
      const first = fx.product();
      await first.register(token);
      const unknown = (from: number, n: number) => Array.from({ length: n }, (_, i) => ({ tag: `regid.flood.T${from + i}`, count: 1 }));
      await first.authorize(unknown(0, MAX_UNKNOWN_TAGS - 1));
      const second = fx.product();
      await second.register(token);
      await expect(second.authorize([{ tag: TAG, count: 1 }, ...unknown(1000, 2)])).rejects.toMatchObject({ code: 'TOO_MANY_UNKNOWN_TAGS', status: 409 });
      expect(await vaRows('Flood')).toHaveLength(MAX_UNKNOWN_TAGS - 1);
      // Up to the bound is fine, and a product keeps reporting the unknown tags it already has.
      await second.authorize([{ tag: TAG, count: 1 }, ...unknown(1000, 1)]);
      await first.authorize(unknown(0, MAX_UNKNOWN_TAGS - 1));
      expect(await vaRows('Flood')).toHaveLength(MAX_UNKNOWN_TAGS + 1);
    });

    test('When an authorize carries the most a message may, then its stored answer stays within the bound, and a larger payload is refused', async () => {
      const sim = fx.product();
      await sim.register(token.token);
      const longTags = Array.from({ length: 1000 }, (_, i) => ({ tag: `regid.long.${String(i).padStart(4, '0')}.${'x'.repeat(85)}`, count: 0 }));
      await sim.authorize(longTags);
      const stored = await server.ctx.db.idempotencyRecord.findFirstOrThrow({ where: { sender: sim.instanceId }, orderBy: { createdAt: 'desc' } });
      expect(JSON.stringify(stored.body).length).toBeLessThanOrEqual(MAX_STORED_ANSWER_CHARS);
      const huge = sim.message('authorize', { entitlements: [] }, { padding: 'x'.repeat(MAX_PAYLOAD_CHARS) });
      const res = await postMessage(server, huge);
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('INVALID_MESSAGE');
    });
  });

  describe('envelope, checked by the route instead of the OpenAPI validator', () => {
    test('When the body is not JSON, lacks a message string, or the method is not POST, then 415 or 400 INVALID_MESSAGE, or 405', async () => {
      const text = await server.http().post('/SmartTransport').set('content-type', 'text/plain').send('hello');
      expect([text.status, text.body.error.code]).toEqual([415, 'INVALID_MESSAGE']);
      for (const body of [{}, { message: 7 }, { message: '' }]) {
        const res = await server.http().post('/SmartTransport').send(body);
        expect([res.status, res.body.error.code]).toEqual([400, 'INVALID_MESSAGE']);
      }
      const get = await server.http().get('/Transportgateway/services/DeviceRequestHandler');
      expect([get.status, get.body.error.code]).toEqual([405, 'METHOD_NOT_ALLOWED']);
    });
  });

  test('When a jti or a tag holds a NUL character, then 400 INVALID_MESSAGE', async () => {
    const sim = fx.product();
    await sim.register(token.token);
    for (const message of [
      sim.message('authorize', { entitlements: [] }, { jti: 'a\u0000b' }),
      sim.message('authorize', { entitlements: [{ tag: 'x\u0000', count: 1 }] }),
    ]) {
      const res = await postMessage(server, message);
      expect([res.status, res.body.error.code]).toEqual([400, 'INVALID_MESSAGE']);
    }
  });

  describe('failure budget per source (finding 3)', () => {
    test('When a source sends more refused messages than SLM_TRANSPORT_FAILURE_LIMIT, then it gets 429, and successful messages never used that budget', async () => {
      const sim = fx.product();
      await sim.register(token.token);
      // 60 successes: more than the whole failure budget of 40, so counting them would already block.
      for (let i = 0; i < 60; i++) await sim.authorize([{ tag: TAG, count: 1 }]);
      // Earlier tests of this file spent part of the budget (same address): junk is refused until it is used up.
      const statuses: number[] = [];
      for (let i = 0; i <= 40 && statuses.at(-1) !== 429; i++) statuses.push((await postMessage(server, 'junk')).status);
      expect(statuses.at(-1)).toBe(429);
      expect(new Set(statuses.slice(0, -1))).toEqual(new Set([400]));
      const limited = await postMessage(server, 'junk');
      expect(limited.status).toBe(429);
      expect(limited.body.error.code).toBe('RATE_LIMITED');
      expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    });
  });
});
