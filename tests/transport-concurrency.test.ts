import { startTestServer, type TestServer } from './support/test-server';
import { transportFixtures } from './transport-helpers';
import type { ProductSimulator } from '../src/products/simulator';

const TAGS = ['regid.c.UCM_Basic', 'regid.c.UCM_Enhanced', 'regid.c.UCM_EnhancedPlus', 'regid.c.CUWL'];
const QUANTITY: Record<string, number> = { 'regid.c.UCM_Basic': 60, 'regid.c.UCM_Enhanced': 40, 'regid.c.UCM_EnhancedPlus': 20, 'regid.c.CUWL': 10 };

/** Deterministic pseudo-random numbers, so a failure can be reproduced. */
function rng(seed: number) {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    return s / 0x7fffffff;
  };
}

describe('Transport accounting under concurrency', () => {
  let server: TestServer;
  let admin: string;
  let fx: ReturnType<typeof transportFixtures>;

  beforeAll(async () => {
    server = await startTestServer();
    admin = await server.login();
    fx = transportFixtures(server, () => admin);
    await fx.account('Acme');
    const imported = await fx.importLicenses(TAGS.map((tag, tier) => fx.licenseLine('Acme', tag, QUANTITY[tag], { family: 'UCM', tier: tier + 1 })));
    expect(imported.status).toBe(200);
  });
  afterAll(() => server.close());

  test('When 40 products report random usage concurrently in 3 rounds and some deregister, then usage_total and the toolkit equal a serial recount', async () => {
    const token = await fx.token('Acme', { maxUses: 40 });
    const random = rng(42);
    const sims: ProductSimulator[] = Array.from({ length: 40 }, (_, i) => fx.product({ udi: { pid: 'CUCM', sn: `conc-${i}` }, hostname: `cucm-${i}` }));
    for (const sim of sims) sim.retry = { attempts: 1, baseDelayMs: 1, maxDelayMs: 1, timeoutMs: 60_000 };
    await Promise.all(sims.map((s) => s.register(token.token)));

    const finalAnswers = new Map<ProductSimulator, Record<string, unknown>>();
    await Promise.all(
      sims.map(async (sim, i) => {
        for (let round = 0; round < 3; round++) {
          // Each report lists the tags in a shuffled order: the server must lock usage_total rows in one order anyway.
          const report = TAGS.filter(() => random() < 0.7)
            .map((tag) => ({ tag, count: Math.floor(random() * 6) }))
            .sort(() => random() - 0.5);
          finalAnswers.set(sim, await sim.authorize(report));
        }
        if (i % 10 === 0) await sim.deregister();
      }),
    );

    const vaId = await fx.virtualAccountId('Acme');
    const recount = await server.ctx.db.$queryRaw<{ tag: string; total: bigint }[]>`
      SELECT u.tag, SUM(u.count) AS total FROM usage u JOIN product_instance p ON p.id = u.product_instance_id
      WHERE p.virtual_account_id = ${vaId}::uuid AND p.status = 'REGISTERED' GROUP BY u.tag`;
    const expected = Object.fromEntries(TAGS.map((t) => [t, 0]));
    for (const r of recount) expected[r.tag] = Number(r.total);
    const totals = await server.ctx.db.usageTotal.findMany({ where: { virtualAccountId: vaId } });
    // Totals that dropped to zero are removed, not kept at 0.
    expect(Object.fromEntries(totals.map((t) => [t.tag, t.inUse]))).toEqual(Object.fromEntries(Object.entries(expected).filter(([, n]) => n !== 0)));
    // Deregistered products hold no usage rows; every registered product's rows are its last report.
    expect(await server.ctx.db.usage.count({ where: { productInstance: { status: 'DEREGISTERED' } } })).toBe(0);
    for (const [sim, answer] of finalAnswers) {
      if (sim.state.status !== 'REGISTERED') continue;
      const rows = await server.ctx.db.usage.findMany({ where: { productInstanceId: sim.instanceId }, orderBy: { tag: 'asc' } });
      // Zero counts use nothing and are not stored.
      const reported = (answer.entitlements as { tag: string; count: number }[]).filter((e) => e.count > 0).map(({ tag, count }) => ({ tag, count }));
      expect(rows.map(({ tag, count }) => ({ tag, count }))).toEqual(reported.sort((a, b) => (a.tag < b.tag ? -1 : 1)));
    }

    const access = await fx.accessToken('Acme');
    const toolkit = await server.http().post('/api/v1/accounts/Acme/licenses').auth(access, { type: 'bearer' }).send({ limit: -1 });
    expect(toolkit.status).toBe(200);
    const inUse = Object.fromEntries(toolkit.body.licenses.map((l: { tag: string; inUse: number }) => [l.tag, l.inUse]));
    expect(inUse).toEqual(expected);
    const lines = await server.ctx.db.license.findMany({ where: { virtualAccountId: vaId }, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] });
    const serialCompliance = server.ctx.licenses.complianceOf({
      lines: lines.map((l) => ({ ...l, startsAt: l.startsAt?.toISOString() ?? null, endsAt: l.endsAt?.toISOString() ?? null })),
      inUse: Object.fromEntries(totals.map((t) => [t.tag, t.inUse])),
      sold: TAGS,
    }, TAGS, new Date());
    for (const l of toolkit.body.licenses as { tag: string; status: string }[]) {
      expect(l.status === 'In Compliance').toBe(serialCompliance.get(l.tag) === 'AUTHORIZED');
    }
  });
});
