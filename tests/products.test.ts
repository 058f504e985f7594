import { randomUUID } from 'node:crypto';
import { startTestServer, type TestServer } from './support/test-server';
import { transportFixtures } from './transport-helpers';
import type { ProductSimulator } from '../src/products/simulator';

const DAY_MS = 86_400_000;
const TAG = 'regid.2016-07.com.cisco.UCM_Basic,12.0_pi';

describe('Product instances admin API', () => {
  let server: TestServer;
  let admin: string;
  let operator: string;
  let clockOffsetMs = 0;
  let fx: ReturnType<typeof transportFixtures>;
  const sims: ProductSimulator[] = [];
  const listPath = (query = '') => `/api/v1/accounts/Acme/virtual-accounts/Default/product-instances${query}`;
  const get = (path: string, token = operator) => server.http().get(path).auth(token, { type: 'bearer' });

  beforeAll(async () => {
    server = await startTestServer({ clock: () => new Date(Date.now() + clockOffsetMs) });
    admin = await server.login();
    await server.http().post('/api/v1/users').auth(admin, { type: 'bearer' }).send({ username: 'olga', password: 'operator-pass', role: 'operator' });
    operator = await server.login('olga', 'operator-pass');
    fx = transportFixtures(server, () => admin);
    await fx.account('Acme');
    await fx.importLicenses([fx.licenseLine('Acme', TAG, 100)]);
    const token = await fx.token('Acme');
    for (let i = 1; i <= 5; i++) {
      const sim = fx.product({ udi: { pid: i % 2 ? 'CUCM' : 'PI', sn: `SN-${i}` }, hostname: `host-${i}`, productType: i % 2 ? 'UCL' : 'SDNMGMT' });
      await sim.register(token.token);
      await sim.authorize([{ tag: TAG, count: i }]);
      sims.push(sim);
    }
  });
  afterAll(() => server.close());
  afterEach(() => {
    clockOffsetMs = 0;
  });

  test('When an operator lists instances, then they come by name with UDI, status, contact, certificate expiry, reported licenses and no alerts', async () => {
    const res = await get(listPath());
    expect(res.status).toBe(200);
    expect(res.body.total).toBe(5);
    expect(res.body.productInstances.map((p: { name: string }) => p.name)).toEqual(['host-1', 'host-2', 'host-3', 'host-4', 'host-5']);
    expect(res.body.productInstances[1]).toEqual({
      id: sims[1].instanceId,
      name: 'host-2',
      productType: 'SDNMGMT',
      udi: { pid: 'PI', sn: 'SN-2' },
      status: 'REGISTERED',
      lastContactAt: expect.any(String),
      certificateExpires: expect.any(String),
      alerts: [],
      licenses: [{ tag: TAG, count: 2 }],
    });
    expect(Date.parse(res.body.productInstances[1].certificateExpires)).toBeGreaterThan(Date.now() + 364 * DAY_MS);
  });

  test('When the list is paged or searched by name or UDI, then only matching instances of that page come back', async () => {
    const page = await get(listPath('?page=2&pageSize=2'));
    expect(page.body).toMatchObject({ page: 2, pageSize: 2, total: 5 });
    expect(page.body.productInstances.map((p: { name: string }) => p.name)).toEqual(['host-3', 'host-4']);
    const byPid = await get(listPath('?search=pi'));
    expect(byPid.body.productInstances.map((p: { name: string }) => p.name)).toEqual(['host-2', 'host-4']);
    const bySn = await get(listPath('?search=SN-5'));
    expect(bySn.body.productInstances.map((p: { name: string }) => p.name)).toEqual(['host-5']);
    const byName = await get(listPath('?search=HOST-3'));
    expect(byName.body.total).toBe(1);
    const bad = await get(listPath('?pageSize=0'));
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('VALIDATION_FAILED');
  });

  test('When no instance reported for over 30 days and certificates near expiry, then the list shows both alerts', async () => {
    clockOffsetMs = 340 * DAY_MS;
    const res = await get(listPath('?search=host-1'));
    expect(res.body.productInstances[0].alerts.map((a: { messageType: string }) => a.messageType).sort()).toEqual([
      'Product Instance Failed to Connect',
      'Product Instance Failed to Renew',
    ]);
  });

  test('When an unknown account or virtual account is listed, then it answers 404', async () => {
    expect((await get('/api/v1/accounts/Nope/virtual-accounts/Default/product-instances')).body.error.code).toBe('ACCOUNT_NOT_FOUND');
    expect((await get('/api/v1/accounts/Acme/virtual-accounts/Nope/product-instances')).body.error.code).toBe('VIRTUAL_ACCOUNT_NOT_FOUND');
  });

  test('When an operator opens one instance, then it shows account, certificate and the current usage', async () => {
    const res = await get(`/api/v1/product-instances/${sims[2].instanceId}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      id: sims[2].instanceId, name: 'host-3', account: 'Acme', virtualAccount: 'Default', status: 'REGISTERED',
      exportControlled: false, deregisteredAt: null, usage: [{ tag: TAG, count: 3 }],
    });
    const row = await server.ctx.db.productInstance.findUniqueOrThrow({ where: { id: sims[2].instanceId } });
    expect(res.body.certificateSerial).toBe(row.certSerial);
    expect((await get(`/api/v1/product-instances/${randomUUID()}`)).body.error.code).toBe('PRODUCT_INSTANCE_NOT_FOUND');
    expect((await get('/api/v1/product-instances/not-a-uuid')).status).toBe(400);
  });

  test('When an operator tries to remove an instance, then it answers 403 FORBIDDEN', async () => {
    const res = await server.http().delete(`/api/v1/product-instances/${sims[0].instanceId}`).auth(operator, { type: 'bearer' });
    expect(res.status).toBe(403);
  });

  test('When an admin removes an instance, then its usage is released, the event is logged and its next message gets 410', async () => {
    const vaId = await fx.virtualAccountId('Acme');
    const before = await server.ctx.db.usageTotal.findUniqueOrThrow({ where: { virtualAccountId_tag: { virtualAccountId: vaId, tag: TAG } } });
    const res = await server.http().delete(`/api/v1/product-instances/${sims[3].instanceId}`).auth(admin, { type: 'bearer' });
    expect(res.status).toBe(204);
    const after = await server.ctx.db.usageTotal.findUniqueOrThrow({ where: { virtualAccountId_tag: { virtualAccountId: vaId, tag: TAG } } });
    expect(after.inUse).toBe(before.inUse - 4);
    const detail = await get(`/api/v1/product-instances/${sims[3].instanceId}`);
    expect(detail.body).toMatchObject({ status: 'DEREGISTERED', usage: [], alerts: [] });
    expect(detail.body.deregisteredAt).not.toBeNull();
    await expect(sims[3].authorize([{ tag: TAG, count: 1 }])).rejects.toMatchObject({ code: 'PRODUCT_INSTANCE_DEREGISTERED', status: 410 });
    const events = await get('/api/v1/events?action=product.remove', admin);
    expect(events.body.events[0]).toMatchObject({ actor: 'admin', objectId: sims[3].instanceId, outcome: 'success' });
    const again = await server.http().delete(`/api/v1/product-instances/${sims[3].instanceId}`).auth(admin, { type: 'bearer' });
    expect(again.status).toBe(410);
    expect(again.body.error.code).toBe('PRODUCT_INSTANCE_DEREGISTERED');
    const unknown = await server.http().delete(`/api/v1/product-instances/${randomUUID()}`).auth(admin, { type: 'bearer' });
    expect(unknown.body.error.code).toBe('PRODUCT_INSTANCE_NOT_FOUND');
    const filtered = await get(listPath('?status=DEREGISTERED'));
    expect(filtered.body.productInstances.map((p: { id: string }) => p.id)).toEqual([sims[3].instanceId]);
  });
});
