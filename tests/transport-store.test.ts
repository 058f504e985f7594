import { startTestServer, ADMIN_PASSWORD, type TestServer } from './support/test-server';
import { spawnServer, type ServerProcess } from './support/spawn-server';
import { postMessage, transportFixtures } from './transport-helpers';

/**
 * The product-message transaction runs on Store.transaction: node-postgres directly on PostgreSQL,
 * a Prisma transaction on the embedded store (PGlite, which only loads in a real process). Both
 * must give the same protocol results; everything here goes through the HTTPS API.
 */
const TAG = 'regid.store.TAG';

type Api = Pick<TestServer, 'url' | 'ca' | 'http'>;

async function onPostgres(): Promise<{ api: Api; stop(): Promise<unknown> }> {
  const server = await startTestServer();
  return { api: server, stop: () => server.close() };
}

async function onEmbedded(): Promise<{ api: Api; stop(): Promise<unknown> }> {
  const proc: ServerProcess = await spawnServer({ SLM_ADMIN_PASSWORD: ADMIN_PASSWORD });
  return { api: proc, stop: () => proc.stop() };
}

describe.each([
  ['PostgreSQL', onPostgres],
  ['the embedded store', onEmbedded],
])('Transport on %s', (_name, start) => {
  let stop: () => Promise<unknown>;
  let api: Api;
  let admin: string;
  let fx: ReturnType<typeof transportFixtures>;
  let access: string;

  beforeAll(async () => {
    ({ api, stop } = await start());
    admin = (await api.http().post('/api/v1/auth/login').send({ username: 'admin', password: ADMIN_PASSWORD })).body.token;
    // The fixtures only use the HTTPS API here.
    fx = transportFixtures(api as TestServer, () => admin);
    await fx.account('Acme');
    expect((await fx.importLicenses([fx.licenseLine('Acme', TAG, 3)])).status).toBe(200);
    access = await fx.accessToken('Acme');
  }, 120_000);
  afterAll(() => stop());

  const inUse = async () => {
    const res = await api.http().post('/api/v1/accounts/Acme/licenses').auth(access, { type: 'bearer' }).send({ limit: -1 });
    return (res.body.licenses as { tag: string; inUse: number }[]).find((l) => l.tag === TAG)?.inUse;
  };
  const tokenUses = async (id: string) => {
    const res = await api.http().get('/api/v1/accounts/Acme/virtual-accounts/Default/tokens').auth(admin, { type: 'bearer' });
    return (res.body.tokens as { id: string; uses: number }[]).find((t) => t.id === id)?.uses;
  };

  test('When a product registers, authorizes, renews and deregisters, then usage, token uses and events follow and a resent message gets the stored answer', async () => {
    const token = await fx.token('Acme', { maxUses: 5 });
    const sim = fx.product();
    await sim.register(token.token);
    expect(await tokenUses(token.id)).toBe(1);

    const message = sim.authorizeMessage([{ tag: TAG, count: 2 }]);
    const first = await postMessage(api as TestServer, message);
    const again = await postMessage(api as TestServer, message);
    expect(first.status).toBe(200);
    expect(again.body).toEqual(first.body);
    expect(await inUse()).toBe(2);
    expect((await sim.authorize([{ tag: TAG, count: 4 }])).overall).toBe('OUT_OF_COMPLIANCE');
    expect(await inUse()).toBe(4);

    await sim.renew();
    await sim.deregister();
    expect(await inUse()).toBe(0);
    const events = await api.http().get('/api/v1/events?pageSize=100').auth(admin, { type: 'bearer' });
    const actions = (events.body.events as { action: string; objectId: string }[]).filter((e) => e.objectId === sim.instanceId).map((e) => e.action);
    expect(actions.sort()).toEqual(['product.deregister', 'product.register', 'product.renew']);
  });

  test('When a message is refused inside its transaction, then nothing of it is kept and the same message is refused again', async () => {
    const token = await fx.token('Acme', { maxUses: 1 });
    await fx.product().register(token.token);
    const second = fx.product();
    const refused = second.registerMessage(token.token);
    expect((await postMessage(api as TestServer, refused)).body.error.code).toBe('TOKEN_EXHAUSTED');
    // Had the claim of its jti been kept, the resend would get a stored answer instead of a new refusal.
    expect((await postMessage(api as TestServer, refused)).body.error.code).toBe('TOKEN_EXHAUSTED');
    expect(await tokenUses(token.id)).toBe(1);
  });
});

describe('Store.transaction on PostgreSQL', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server.close());

  test('When the connection of an open transaction is killed, then the transaction fails, the process lives on and the next transaction works', async () => {
    const killed = server.ctx.store.transaction(async (tx) => {
      const [{ pid }] = await tx.$queryRaw<{ pid: number }[]>`SELECT pg_backend_pid() AS pid`;
      await server.ctx.db.$queryRaw`SELECT pg_terminate_backend(${pid}::int)`;
      // The lost connection reports itself as an 'error' event while no query is in flight.
      await new Promise((resolve) => setTimeout(resolve, 200));
      return tx.$queryRaw`SELECT 1`;
    });
    await expect(killed).rejects.toThrow();
    await expect(server.ctx.store.transaction((tx) => tx.$queryRaw<{ one: number }[]>`SELECT 1 AS one`)).resolves.toEqual([{ one: 1 }]);
  });
});
