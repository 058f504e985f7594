import { startTestServer, type TestServer } from './support/test-server';
import { postMessage, TRANSPORT_PATH, transportFixtures } from './transport-helpers';

const TAG = 'regid.2016-07.com.cisco.UCM_Basic,12.0_hard';

/**
 * Product messages of the plain kind (a POST of JSON to a transport path as spelled) are answered
 * by their own lane in front of express; everything else, and every refusal, by the app. These
 * check that a product cannot tell the two apart, and that nothing is counted twice.
 */
describe('Product-message lane', () => {
  let server: TestServer;
  let admin: string;
  let fx: ReturnType<typeof transportFixtures>;

  beforeAll(async () => {
    server = await startTestServer({ env: { SLM_TRANSPORT_FAILURE_LIMIT: '5' } });
    admin = await server.login();
    fx = transportFixtures(server, () => admin);
    await fx.account('Lane');
    expect((await fx.importLicenses([fx.licenseLine('Lane', TAG, 10)])).status).toBe(200);
  });
  afterAll(() => server.close());

  test('When a product registers and authorizes, then the answers carry the headers the app gives (request id, security headers, rate limit, JSON type)', async () => {
    const sim = fx.product();
    await sim.register((await fx.token('Lane')).token);
    const res = await server.http().post(TRANSPORT_PATH).set('x-request-id', 'product-7').send({ message: sim.authorizeMessage([{ tag: TAG, count: 2 }]) });
    expect(res.status).toBe(200);
    expect(res.headers['x-request-id']).toBe('product-7');
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['strict-transport-security']).toBeDefined();
    expect(res.headers.ratelimit).toMatch(/limit=\d+, remaining=\d+/);
    expect(typeof res.body.response).toBe('string');
  });

  test('When the same message comes in another spelling of the path or with a query, then the app answers it as the lane would', async () => {
    const sim = fx.product();
    await sim.register((await fx.token('Lane')).token);
    const message = sim.authorizeMessage([{ tag: TAG, count: 1 }]);
    const plain = await postMessage(server, message);
    const variant = await postMessage(server, message, TRANSPORT_PATH.toLowerCase());
    const query = await postMessage(server, message, `${TRANSPORT_PATH}?x=1`);
    expect([plain.status, variant.status, query.status]).toEqual([200, 200, 200]);
    // A resend of one message: the same stored answer whichever way it came.
    expect(variant.body.response).toBe(plain.body.response);
    expect(query.body.response).toBe(plain.body.response);
  });

  test('When refused messages come through the lane, then each uses the failure budget once and the 429 comes after exactly the limit', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) statuses.push((await postMessage(server, `junk-${i}`)).status);
    expect(statuses).toEqual([400, 400, 400, 400, 400, 429, 429]);
    const limited = await postMessage(server, 'junk');
    expect(limited.body.error.code).toBe('RATE_LIMITED');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    const metrics = (await server.http().get('/metrics')).text;
    expect(metrics).toMatch(/slm_product_messages_total\{type="invalid",outcome="INVALID_MESSAGE"\} 5\n/);
    expect(metrics).toMatch(/slm_product_messages_total\{type="invalid",outcome="RATE_LIMITED"\} 3\n/);
    expect(metrics).toMatch(/slm_http_request_duration_seconds_count\{method="POST",route="\/Transportgateway\/services\/DeviceRequestHandler",status="400"\} 5\n/);
  });
});
