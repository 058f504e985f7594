import { startTestServer, type TestServer } from './support/test-server';
import { adminSessions, type AdminSessions } from './support/admin-session';
import { transportFixtures, postMessage } from './transport-helpers';

/** The value of one series in a Prometheus text exposition, or undefined when absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*)(\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = Object.fromEntries([...(match[3] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => found[k] === v)) return Number(match[4]);
  }
  return undefined;
}

describe('Metrics and the admin alerts and events API', () => {
  let server: TestServer;
  let s: AdminSessions;
  let fx: ReturnType<typeof transportFixtures>;
  const scrape = async () => {
    const res = await server.http().get('/metrics');
    expect(res.status).toBe(200);
    return res.text;
  };

  beforeAll(async () => {
    server = await startTestServer({ env: { SLM_METRICS_MAX_ACCOUNTS: '1', SLM_METRICS_TOKEN: 'metrics-token-for-tests' } });
    s = await adminSessions(server);
    fx = transportFixtures(server, () => s.admin);
    await fx.account('Acme');
    await fx.account('Zeta');
    await fx.importLicenses([fx.licenseLine('Acme', 'UCM_Basic', 2), fx.licenseLine('Zeta', 'UCM_Basic', 1)]);
    const { token } = await fx.token('Acme');
    const product = fx.product();
    await product.register(token);
    await product.authorize([{ tag: 'UCM_Basic', count: 5 }]);
    await postMessage(server, 'not-a-jws');
  });
  afterAll(() => server.close());

  test('When /metrics is scraped from loopback, then requests, product messages, registrations, compliance, alerts, sync, HA, pool and event loop are there', async () => {
    const text = await scrape();
    expect(sample(text, 'slm_http_request_duration_seconds_count', { method: 'GET', route: '/api/v1/accounts/{account}/licenses', status: '200' })).toBeUndefined();
    expect(sample(text, 'slm_http_request_duration_seconds_count', { method: 'POST', route: '/api/v1/accounts/{account}/approve', status: '200' })).toBe(2);
    expect(sample(text, 'slm_http_request_duration_seconds_bucket', { route: '/api/v1/accounts/{account}/approve', le: '+Inf' })).toBe(2);
    expect(sample(text, 'slm_product_messages_total', { type: 'register', outcome: 'OK' })).toBe(1);
    expect(sample(text, 'slm_product_messages_total', { type: 'authorize', outcome: 'OK' })).toBe(1);
    expect(sample(text, 'slm_product_messages_total', { type: 'invalid', outcome: 'INVALID_MESSAGE' })).toBe(1);
    expect(sample(text, 'slm_product_registrations_total')).toBe(1);
    expect(sample(text, 'slm_product_instances', { status: 'REGISTERED' })).toBe(1);
    // One account named (SLM_METRICS_MAX_ACCOUNTS=1), the rest under "(other)".
    expect(sample(text, 'slm_account_licenses', { account: 'Acme', status: 'out_of_compliance' })).toBe(1);
    expect(sample(text, 'slm_account_licenses', { account: '(other)', status: 'in_compliance' })).toBe(1);
    expect(sample(text, 'slm_accounts_out_of_compliance')).toBe(1);
    expect(sample(text, 'slm_alerts', { type: 'Insufficient Licenses', severity: 'Major' })).toBe(1);
    expect(sample(text, 'slm_sync_last_outcome', { outcome: 'none' })).toBe(1);
    expect(sample(text, 'slm_sync_age_seconds')).toBeGreaterThanOrEqual(0);
    expect(sample(text, 'slm_sync_last_success_timestamp_seconds')).toBe(0);
    expect(sample(text, 'slm_ha_role', { role: 'standalone' })).toBe(1);
    expect(sample(text, 'slm_db_pool_connections', { state: 'total' })).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'slm_db_pool_max')).toBe(10);
    expect(sample(text, 'nodejs_eventloop_lag_seconds')).toBeGreaterThanOrEqual(0);
  });

  test('When an unknown URL is requested, then its route label is "unmatched", not the URL', async () => {
    await server.http().get('/no/such/thing-12345');
    const text = await scrape();
    expect(sample(text, 'slm_http_request_duration_seconds_count', { route: 'unmatched', status: '404' })).toBeGreaterThanOrEqual(1);
    expect(text).not.toContain('thing-12345');
  });

  test('When an operator reads an account\'s alerts with a session, then they carry type and what raised them; an unknown account is 404', async () => {
    const res = await s.get('/api/v1/accounts/Acme/alerts', s.operator);
    expect(res.status).toBe(200);
    expect(res.body.alerts).toContainEqual(expect.objectContaining({ type: 'Insufficient Licenses', severity: 'Major', virtualAccount: 'Default', license: expect.any(String) }));
    expect((await s.get('/api/v1/accounts/Acme/alerts?virtualAccount=Nope', s.operator)).status).toBe(404);
    expect((await s.get('/api/v1/accounts/Nobody/alerts', s.operator)).status).toBe(404);
    expect((await server.http().get('/api/v1/accounts/Acme/alerts')).status).toBe(401);
  });

  test('When the event log is filtered by actor, object and action prefix, then only matching events come back', async () => {
    const byObject = await s.get('/api/v1/events?object=Zeta&action=account.');
    expect(byObject.status).toBe(200);
    expect(byObject.body.events.length).toBeGreaterThanOrEqual(2);
    expect(byObject.body.events.every((e: { objectId: string; action: string }) => e.objectId === 'Zeta' && e.action.startsWith('account.'))).toBe(true);
    const byActor = await s.get('/api/v1/events?actor=nobody-at-all');
    expect(byActor.body).toMatchObject({ total: 0, events: [] });
    expect((await s.get('/api/v1/events?actor=')).status).toBe(400);
  });
});

describe('Metrics access from other addresses', () => {
  test('When SLM_METRICS_ACCESS=token, then /metrics needs the bearer token even on loopback', async () => {
    const server = await startTestServer({ env: { SLM_METRICS_ACCESS: 'token', SLM_METRICS_TOKEN: 'metrics-token-for-tests' } });
    try {
      expect((await server.http().get('/metrics')).status).toBe(401);
      expect((await server.http().get('/metrics').auth('wrong-token-wrong-token', { type: 'bearer' })).body.error.code).toBe('INVALID_METRICS_TOKEN');
      const ok = await server.http().get('/metrics').auth('metrics-token-for-tests', { type: 'bearer' });
      expect(ok.status).toBe(200);
      expect(ok.text).toContain('slm_http_request_duration_seconds');
    } finally {
      await server.close();
    }
  });
});
