import jwt from 'jsonwebtoken';
import { startTestServer, type TestServer } from './support/test-server';
import { licenseFixtures, licenseLine } from './support/license-fixtures';
import { SYNC_LAST_SUCCESS_KEY } from '../src/licenses/license-service';

const DAY = 24 * 60 * 60 * 1000;
const START = new Date('2026-11-24T12:00:00Z');

describe('API Toolkit: licenses and alerts (fixed paths)', () => {
  let server: TestServer;
  let admin: string;
  let acmeToken: string;
  let globexToken: string;
  let now = START;
  let fx: ReturnType<typeof licenseFixtures>;
  const at = (days: number) => new Date(START.getTime() + days * DAY);
  const licenses = (account: string, body: object, token = acmeToken) =>
    server.http().post(`/api/v1/accounts/${encodeURIComponent(account)}/licenses`).auth(token, { type: 'bearer' }).send(body);
  const alerts = (account: string, body: object, token = acmeToken) =>
    server.http().post(`/api/v1/accounts/${encodeURIComponent(account)}/alerts`).auth(token, { type: 'bearer' }).send(body);

  beforeAll(async () => {
    server = await startTestServer({ clock: () => now });
    admin = await server.login();
    fx = licenseFixtures(server, () => admin);
    await fx.account('Acme Corp', ['Lab']);
    await fx.account('Globex');
    acmeToken = await fx.accessToken('Acme Corp');
    globexToken = await fx.accessToken('Globex');
    const ucm = (tag: string, tier: number, quantity: number, extra: object = {}) =>
      licenseLine('Acme Corp', tag, quantity, { displayName: `UCM ${tag}`, family: 'Unified CM', tier, ...extra });
    const imported = await fx.importLicenses([
      ucm('UCM_Basic', 2, 10),
      ucm('UCM_Enhanced', 3, 5),
      ucm('UCM_CUWL', 5, 2, { billingType: 'TERM', startsAt: '2026-01-01T00:00:00Z', endsAt: at(20).toISOString() }),
      licenseLine('Acme Corp', 'PI_Base', 4, { billingType: 'TERM', endsAt: at(-1).toISOString() }),
      licenseLine('Acme Corp', 'DNA_Adv', 3, { virtualAccount: 'Lab' }),
      licenseLine('Globex', 'DNA_Adv', 100),
    ]);
    expect(imported.status).toBe(200);
    await fx.setUsage('Acme Corp', 'Default', 'UCM_Basic', 14);
    await fx.setUsage('Acme Corp', 'Default', 'UCM_Enhanced', 3);
    await fx.setUsage('Acme Corp', 'Default', 'PI_Base', 2);
    await fx.setUsage('Acme Corp', 'Lab', 'DNA_Adv', 1);
    await fx.setUsage('Acme Corp', 'Lab', 'UNSOLD_Tag', 2);
  });
  afterAll(() => server.close());
  afterEach(() => {
    now = START;
  });

  test('When a client asks for all licenses of its account, then each license has one row with the fixed fields, substitution, balance and its virtual accounts', async () => {
    const res = await licenses('Acme Corp', { limit: -1 });
    expect(res.status).toBe(200);
    const byTag = Object.fromEntries(res.body.licenses.map((l: { tag: string }) => [l.tag, l]));
    expect(Object.keys(byTag).sort()).toEqual(['DNA_Adv', 'PI_Base', 'UCM_Basic', 'UCM_CUWL', 'UCM_Enhanced', 'UNSOLD_Tag']);
    // Basic is short by 4: Enhanced lends its 2 unused, then CUWL its 2.
    expect(byTag.UCM_Basic).toEqual({
      license: 'UCM UCM_Basic', status: 'In Compliance', quantity: 10, inUse: 14, available: -4, tag: 'UCM_Basic',
      billingType: 'PERPETUAL', family: 'Unified CM', tier: 2, substitution: 4, borrowed: 4, lent: 0, balance: 0,
      virtualAccount: null, endsAt: null, alerts: [],
      virtualAccounts: [{
        virtualAccount: 'Default', status: 'In Compliance', quantity: 10, inUse: 14, available: -4, substitution: 4, borrowed: 4, lent: 0, balance: 0, endsAt: null,
      }],
    });
    expect(byTag.UCM_Enhanced).toMatchObject({ substitution: -2, lent: 2, balance: 0, available: 2 });
    expect(byTag.UCM_CUWL).toMatchObject({ quantity: 2, substitution: -2, balance: 0, endsAt: at(20).toISOString() });
    expect(byTag.UCM_CUWL.alerts).toEqual([expect.objectContaining({ messageType: 'Licenses Expiring', severity: 'Minor' })]);
    expect(byTag.PI_Base).toMatchObject({ quantity: 0, inUse: 2, balance: -2, status: 'Out of Compliance' });
    expect(byTag.UNSOLD_Tag).toMatchObject({ virtualAccount: null, quantity: 0, inUse: 2, billingType: null, license: 'UNSOLD_Tag', status: 'Out of Compliance' });
    expect(byTag.UNSOLD_Tag.alerts).toEqual([expect.objectContaining({ messageType: 'Insufficient Licenses', virtualAccount: 'Lab' })]);
  });

  test('When one license is Out of Compliance in Default and unused in Lab, then a reader keying rows by license name (centreon) sees it Out of Compliance', async () => {
    await fx.account('Centreon Co', ['Lab']);
    const token = await fx.accessToken('Centreon Co');
    const line = (virtualAccount: string, quantity: number) => licenseLine('Centreon Co', 'DNA_Advantage', quantity, { virtualAccount, displayName: 'DNA Advantage' });
    expect((await fx.importLicenses([line('Default', 10), line('Lab', 20)])).status).toBe(200);
    await fx.setUsage('Centreon Co', 'Default', 'DNA_Advantage', 12);

    const res = await licenses('Centreon Co', { limit: -1 }, token);
    expect(res.status).toBe(200);
    // What centreon's licenses mode does: one entry per license name, the last row of a name wins.
    const seen = new Map<string, { status: string; inUse: number; quantity: number; available: number }>();
    for (const row of res.body.licenses) seen.set(row.license, row);
    expect([...seen.keys()]).toEqual(['DNA Advantage']);
    expect(seen.get('DNA Advantage')).toMatchObject({ status: 'Out of Compliance', quantity: 30, inUse: 12, available: 18 });
    expect(res.body.licenses[0].virtualAccounts.map((v: { virtualAccount: string; status: string; balance: number }) => [v.virtualAccount, v.status, v.balance])).toEqual([
      ['Default', 'Out of Compliance', -2],
      ['Lab', 'In Compliance', 20],
    ]);
    expect(res.body.licenses[0].alerts).toEqual([expect.objectContaining({ messageType: 'Insufficient Licenses', virtualAccount: 'Default' })]);

    const perVa = await Promise.all(['Default', 'Lab'].map((virtualAccount) => licenses('Centreon Co', { limit: -1, virtualAccount }, token)));
    expect(perVa.map((r) => r.body.licenses.map((l: { virtualAccount: string; status: string }) => [l.virtualAccount, l.status]))).toEqual([
      [['Default', 'Out of Compliance']],
      [['Lab', 'In Compliance']],
    ]);
    expect(perVa[0].body.licenses[0].virtualAccounts).toBeUndefined();
  });

  test('When limit and offset are given, then they page through the same ordered rows', async () => {
    const all = (await licenses('Acme Corp', { limit: -1 })).body.licenses.map((l: { tag: string }) => l.tag);
    const first = await licenses('Acme Corp', { limit: 2 });
    const next = await licenses('Acme Corp', { limit: 2, offset: 2 });
    const past = await licenses('Acme Corp', { limit: 5, offset: 100 });
    expect(first.body.licenses.map((l: { tag: string }) => l.tag)).toEqual(all.slice(0, 2));
    expect(next.body.licenses.map((l: { tag: string }) => l.tag)).toEqual(all.slice(2, 4));
    expect(past.body.licenses).toEqual([]);
  });

  test('When a virtualAccount is given, then only its rows are returned; an unknown one answers 404 VIRTUAL_ACCOUNT_NOT_FOUND', async () => {
    const lab = await licenses('Acme Corp', { limit: -1, virtualAccount: 'Lab' });
    expect(lab.body.licenses.map((l: { tag: string; virtualAccount: string }) => `${l.virtualAccount}/${l.tag}`)).toEqual(['Lab/DNA_Adv', 'Lab/UNSOLD_Tag']);
    const missing = await licenses('Acme Corp', { limit: -1, virtualAccount: 'Nope' });
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('VIRTUAL_ACCOUNT_NOT_FOUND');
  });

  test('When an integration sends extra body fields, then they are ignored', async () => {
    const res = await licenses('Acme Corp', { limit: 1, sortBy: 'name' });
    expect(res.status).toBe(200);
    expect(res.body.licenses).toHaveLength(1);
  });

  test("When a client reads another account, existing or not, then it answers 403 ACCOUNT_FORBIDDEN without the other's data", async () => {
    for (const account of ['Acme Corp', 'No Such Account']) {
      const res = await licenses(account, { limit: -1 }, globexToken);
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe('ACCOUNT_FORBIDDEN');
      expect(JSON.stringify(res.body)).not.toContain('UCM');
      expect((await alerts(account, { limit: -1 }, globexToken)).body.error.code).toBe('ACCOUNT_FORBIDDEN');
    }
    const own = await licenses('Globex', { limit: -1 }, globexToken);
    expect(own.body.licenses.map((l: { tag: string; quantity: number }) => [l.tag, l.quantity])).toEqual([['DNA_Adv', 100]]);
  });

  test("When the client's account was removed, then its access token is refused (401 ACCESS_TOKEN_REVOKED), also for a new account of that name", async () => {
    await fx.account('Shortlived');
    const token = await fx.accessToken('Shortlived');
    await server.ctx.db.localAccount.delete({ where: { name: 'Shortlived' } });
    const gone = await licenses('Shortlived', { limit: -1 }, token);
    expect(gone.status).toBe(401);
    expect(gone.body.error.code).toBe('ACCESS_TOKEN_REVOKED');
    await fx.account('Shortlived');
    const reborn = await alerts('Shortlived', { limit: -1 }, token);
    expect(reborn.status).toBe(401);
    expect(reborn.body.error.code).toBe('ACCESS_TOKEN_REVOKED');
  });

  test.each([
    ['no limit', {}],
    ['limit 0', { limit: 0 }],
    ['limit -2', { limit: -2 }],
    ['limit as a string', { limit: '10' }],
    ['a fractional limit', { limit: 1.5 }],
    ['a negative offset', { limit: -1, offset: -1 }],
    ['a numeric virtualAccount', { limit: -1, virtualAccount: 7 }],
    ['a virtualAccount with a slash', { limit: -1, virtualAccount: 'a/b' }],
  ])('When the body has %s, then both calls answer 400 VALIDATION_FAILED', async (_label, body) => {
    for (const call of [licenses, alerts]) {
      const res = await call('Acme Corp', body);
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('VALIDATION_FAILED');
    }
  });

  test('When the body is not JSON, then it answers 400 INVALID_JSON', async () => {
    const res = await server.http().post('/api/v1/accounts/Acme%20Corp/licenses').auth(acmeToken, { type: 'bearer' })
      .set('content-type', 'application/json').send('{"limit":');
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('INVALID_JSON');
  });

  test('When no access token is sent, then it answers 401 AUTHENTICATION_REQUIRED', async () => {
    const res = await server.http().post('/api/v1/accounts/Acme%20Corp/licenses').send({ limit: -1 });
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('AUTHENTICATION_REQUIRED');
  });

  test('When the access token is forged, alg none, HS256 or expired, then it answers 401 ACCESS_TOKEN_INVALID; a session token 403 CREDENTIALS_NOT_ACCEPTED', async () => {
    const claims = { sub: 'x', acct: 'Acme Corp', acctId: '00000000-0000-0000-0000-000000000000' };
    const [header, , signature] = acmeToken.split('.');
    const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const tokens = [
      'garbage',
      `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ ...claims, aud: 'slm:api', iss: 'slm-onprem', exp: 9999999999 })}.`,
      jwt.sign(claims, 'secret', { algorithm: 'HS256', audience: 'slm:api', issuer: 'slm-onprem' }),
      `${header}.${b64({ ...claims, acct: 'Globex', aud: 'slm:api', iss: 'slm-onprem', exp: 9999999999 })}.${signature}`,
      server.ctx.jwt.sign(claims, 'slm:api', -10),
    ];
    for (const token of tokens) {
      const res = await licenses('Acme Corp', { limit: -1 }, token);
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('ACCESS_TOKEN_INVALID');
    }
    const session = await licenses('Acme Corp', { limit: -1 }, admin);
    expect([session.status, session.body.error.code]).toEqual([403, 'CREDENTIALS_NOT_ACCEPTED']);
  });

  test('When licenses are short, expiring or expired, then the alerts call lists them with their source and virtual account, Major first', async () => {
    const res = await alerts('Acme Corp', { limit: -1 });
    expect(res.status).toBe(200);
    const list = res.body.alerts.map((a: { messageType: string; severity: string; source: string; virtualAccount: string }) =>
      [a.severity, a.messageType, a.virtualAccount, a.source]);
    expect(list).toEqual([
      ['Major', 'Insufficient Licenses', 'Default', 'PI_Base license'],
      ['Major', 'Insufficient Licenses', 'Lab', 'UNSOLD_Tag'],
      ['Major', 'Licenses Expired', 'Default', 'PI_Base license'],
      ['Minor', 'Licenses Expiring', 'Default', 'UCM UCM_CUWL'],
    ]);
    expect(res.body.alerts[0].message).toContain('2 licenses short of PI_Base license');
    const lab = await alerts('Acme Corp', { limit: -1, virtualAccount: 'Lab' });
    expect(lab.body.alerts.map((a: { source: string }) => a.source)).toEqual(['UNSOLD_Tag']);
    expect((await alerts('Acme Corp', { limit: 1, offset: 1 })).body.alerts.map((a: { source: string }) => a.source)).toEqual(['UNSOLD_Tag']);
  });

  test('When a product instance has not renewed or not called in, then Failed to Renew and Failed to Connect are raised; deregistered ones are not', async () => {
    await fx.productInstance('Globex', 'Default', 'cucm-renew', { certNotAfter: at(29), lastContactAt: at(-1) });
    await fx.productInstance('Globex', 'Default', 'cucm-silent', { certNotAfter: at(200), lastContactAt: at(-31) });
    await fx.productInstance('Globex', 'Default', 'cucm-fine', { certNotAfter: at(31), lastContactAt: at(-29) });
    await fx.productInstance('Globex', 'Default', 'cucm-gone', { certNotAfter: at(1), lastContactAt: at(-100) }, 'DEREGISTERED');
    const res = await alerts('Globex', { limit: -1 }, globexToken);
    expect(res.body.alerts.map((a: { messageType: string; source: string; severity: string }) => [a.severity, a.messageType, a.source])).toEqual([
      ['Minor', 'Product Instance Failed to Connect', 'cucm-silent'],
      ['Minor', 'Product Instance Failed to Renew', 'cucm-renew'],
    ]);
  });

  test('When there was no successful synchronization for 30 and then 90 days, then Upcoming Deadline (Minor) then Overdue (Major) is raised', async () => {
    const syncAlert = async () => (await alerts('Globex', { limit: -1 }, globexToken)).body.alerts
      .filter((a: { source: string }) => a.source === 'Synchronization')
      .map((a: { messageType: string; severity: string; virtualAccount: string | null }) => [a.severity, a.messageType, a.virtualAccount]);
    // Counted from the first start of the server (server.installedAt) until a first synchronization.
    now = at(29);
    expect(await syncAlert()).toEqual([]);
    now = at(30);
    expect(await syncAlert()).toEqual([['Minor', 'Upcoming Synchronization Deadline', null]]);
    now = at(90);
    expect(await syncAlert()).toEqual([['Major', 'Synchronization Overdue', null]]);
    await server.ctx.settings.set(SYNC_LAST_SUCCESS_KEY, at(85).toISOString());
    expect(await syncAlert()).toEqual([]);
    await server.ctx.db.setting.delete({ where: { key: SYNC_LAST_SUCCESS_KEY } });
  });
});
