import { spawnServer, type ServerProcess } from './support/spawn-server';
import type { TestServer } from './support/test-server';
import { postMessage, transportFixtures } from './transport-helpers';

const TAG = 'regid.2016-07.com.cisco.UCM_Basic,12.0_embd';
const PASSWORD = 'embedded-transport-pass';

// PGlite runs only in a real process (not in jest's VM): the server is spawned, and the fixtures
// use only its HTTPS API.
describe('Transport on the embedded store', () => {
  let proc: ServerProcess;
  let fx: ReturnType<typeof transportFixtures>;
  let server: TestServer;

  beforeAll(async () => {
    proc = await spawnServer({ SLM_ADMIN_PASSWORD: PASSWORD });
    server = { url: proc.url, ca: proc.ca, http: () => proc.http() } as unknown as TestServer;
    const admin = (await proc.http().post('/api/v1/auth/login').send({ username: 'admin', password: PASSWORD })).body.token as string;
    fx = transportFixtures(server, () => admin);
    await fx.account('Embedded');
    expect((await fx.importLicenses([fx.licenseLine('Embedded', TAG, 2)])).status).toBe(200);
  }, 120_000);
  afterAll(() => proc?.stop('SIGKILL'));

  test('When a product registers, authorizes, resends and deregisters on PGlite, then the SQL functions answer as on PostgreSQL, refusals included', async () => {
    const token = await fx.token('Embedded', { maxUses: 1 });
    const sim = fx.product();
    await sim.register(token.token);
    const message = sim.authorizeMessage([{ tag: TAG, count: 3 }]);
    const first = await postMessage(server, message);
    expect(first.status).toBe(200);
    expect((await postMessage(server, message)).body).toEqual(first.body);
    await expect(fx.product().register(token.token)).rejects.toMatchObject({ code: 'TOKEN_EXHAUSTED' });
    const wrongAud = await postMessage(server, sim.message('authorize', { entitlements: [] }, { aud: 'elsewhere.example' }));
    expect(wrongAud.body.error).toMatchObject({ code: 'HOST_COMMON_NAME_MISMATCH', details: { hostCommonName: '127.0.0.1' } });
    await sim.deregister();
    await expect(sim.authorize([])).rejects.toMatchObject({ code: 'PRODUCT_INSTANCE_DEREGISTERED', status: 410 });
  }, 60_000);
});
