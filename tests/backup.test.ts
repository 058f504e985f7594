import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { Client } from 'pg';
import { PROJECT_ROOT } from '../src/config/paths';
import { ADMIN_PASSWORD, startTestServer, type TestServer } from './support/test-server';
import { createTestDatabase } from './support/postgres';
import { spawnServer } from './support/spawn-server';
import { transportFixtures } from './transport-helpers';
import type { ProductSimulator } from '../src/products/simulator';

const ENTRY = path.join(PROJECT_ROOT, 'dist', 'src', 'cli', 'index.js');
const TAGS = ['regid.2016-07.com.cisco.UCM_Basic,12.0_aaaa', 'regid.2016-07.com.cisco.UCM_Enhanced,12.0_bbbb'];

/** Runs the built CLI as its own process; resolves with exit code and output. */
async function slm(env: Record<string, string>, ...args: string[]): Promise<{ code: number; out: string }> {
  try {
    const r = await promisify(execFile)(process.execPath, [ENTRY, ...args], { env: { ...process.env, ...env }, timeout: 120_000 });
    return { code: 0, out: r.stdout + r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: e.stdout + e.stderr };
  }
}

/** Every table's rows as row_to_json text, sorted: equal maps mean equal stores. */
async function tableRows(url: string): Promise<Record<string, string[]>> {
  const db = new Client({ connectionString: url });
  await db.connect();
  try {
    const { rows: tables } = await db.query(`SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> '_prisma_migrations' ORDER BY 1`);
    const out: Record<string, string[]> = {};
    for (const { tablename } of tables) {
      const { rows } = await db.query(`SELECT row_to_json(t)::text AS r FROM "${tablename}" t`);
      out[tablename] = rows.map((r) => r.r).sort();
    }
    return out;
  } finally {
    await db.end();
  }
}

/** The rows of each table as the backup file holds them, sorted. */
function fileRows(file: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  let current = '';
  for (const line of gunzipSync(readFileSync(file)).toString('utf8').split('\n')) {
    if (line.startsWith('{"table":')) out[(current = JSON.parse(line).table)] = [];
    else if (line.startsWith('[')) out[current].push(line.slice(1, -1));
  }
  for (const rows of Object.values(out)) rows.sort();
  return out;
}

const summary = (rows: Record<string, string[]>) => Object.fromEntries(Object.entries(rows).map(([t, r]) => [t, r.length]));

describe('Backup and restore (slm backup / slm restore, real processes)', () => {
  const kek = randomBytes(32).toString('base64');
  const work = mkdtempSync(path.join(os.tmpdir(), 'slm-backup-'));
  const file = path.join(work, 'store.gz');
  let source: TestServer;
  let restored: TestServer | undefined;
  let products: ProductSimulator[];
  let fx: ReturnType<typeof transportFixtures>;

  beforeAll(async () => {
    source = await startTestServer({ env: { SLM_KEK: kek } });
    const admin = await source.login();
    fx = transportFixtures(source, () => admin);
    await fx.account('Acme', ['Lab']);
    await fx.importLicenses([fx.licenseLine('Acme', TAGS[0], 100), fx.licenseLine('Acme', TAGS[1], 5)]);
    await fx.accessToken('Acme');
    const token = await fx.token('Acme', { maxUses: 100 });
    products = Array.from({ length: 6 }, (_, i) => fx.product({ hostname: `router-${i}` }));
    for (const p of products) await p.register(token.token);
  }, 120_000);
  afterAll(async () => {
    await restored?.close();
    await source.close();
    rmSync(work, { recursive: true, force: true });
  });

  test('When a backup is taken while products authorize, then a restore on a fresh database holds the same rows as the file, consistent totals, and serves them', async () => {
    let stop = false;
    let authorized = 0;
    const load = products.map(async (p, i) => {
      for (let n = 0; !stop; n++) {
        await p.authorize([{ tag: TAGS[0], count: 1 + ((n + i) % 7) }, { tag: TAGS[1], count: (n * i) % 3 }]);
        authorized++;
      }
    });
    const env = { SLM_URL: source.url, SLM_ADMIN_PASSWORD: ADMIN_PASSWORD };
    while (authorized < 20) await new Promise((r) => setTimeout(r, 50));
    const before = authorized;
    const backup = await slm(env, 'backup', file, '--ca', path.join(source.dataDir, 'certs', 'ca.pem'));
    const during = authorized - before;
    stop = true;
    await Promise.all(load);
    expect(backup).toMatchObject({ code: 0 });
    expect(backup.out).toContain('slm-onprem-backup v1');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(during).toBeGreaterThan(0);

    const databaseUrl = await createTestDatabase();
    const target = { DATABASE_URL: databaseUrl, SLM_KEK: kek, SLM_DATA_DIR: path.join(work, 'target') };
    const done = await slm(target, 'restore', file);
    expect(done).toMatchObject({ code: 0 });

    const inFile = fileRows(file);
    const inStore = await tableRows(databaseUrl);
    console.log(`backup under load (${during} authorizations during it): ${JSON.stringify(summary(inFile))}`);
    expect(Object.keys(inStore).sort()).toEqual(Object.keys(inFile).sort());
    for (const table of Object.keys(inFile)) expect([table, inStore[table]]).toEqual([table, inFile[table]]);
    expect(inFile.product_instance).toHaveLength(6);
    expect(inFile.usage.length).toBeGreaterThan(0);

    // One snapshot: the stored totals equal the sum of the usage rows they summarize.
    const db = new Client({ connectionString: databaseUrl });
    await db.connect();
    const { rows: drift } = await db.query(`
      SELECT t.tag, t.in_use, COALESCE(SUM(u.count), 0)::int AS summed FROM usage_total t
      LEFT JOIN product_instance p ON p.virtual_account_id = t.virtual_account_id AND p.status = 'REGISTERED'
      LEFT JOIN usage u ON u.product_instance_id = p.id AND u.tag = t.tag
      GROUP BY t.tag, t.in_use HAVING t.in_use <> COALESCE(SUM(u.count), 0)`);
    await db.end();
    expect(drift).toEqual([]);

    // A second restore onto the same database is refused unless forced.
    const again = await slm(target, 'restore', file);
    expect(again.code).toBe(1);
    expect(again.out).toContain('not empty');

    // The restored store serves: same CA, same admin, and a product keeps authorizing with its key and certificate.
    restored = await startTestServer({ databaseUrl, env: { SLM_KEK: kek } });
    expect(restored.ca).toBe(source.ca);
    await restored.login();
    products[0].state.url = `${restored.url}${new URL(products[0].state.url).pathname}`;
    const claims = await products[0].authorize([{ tag: TAGS[0], count: 2 }]);
    expect(claims).toMatchObject({ typ: 'authorize', overall: 'AUTHORIZED' });
  }, 240_000);

  test('When the KEK differs from the one that sealed the keys, then restore refuses before writing anything', async () => {
    const databaseUrl = await createTestDatabase();
    const wrong = await slm({ DATABASE_URL: databaseUrl, SLM_KEK: randomBytes(32).toString('base64'), SLM_DATA_DIR: path.join(work, 'wrong') }, 'restore', file);
    expect(wrong.code).toBe(1);
    expect(wrong.out).toContain('another key-encryption key');
    expect(await tableRows(databaseUrl)).toEqual({});
  }, 60_000);

  test('When the file is cut short, then restore refuses it and leaves no data', async () => {
    const cut = path.join(work, 'cut.gz');
    const whole = readFileSync(file);
    writeFileSync(cut, whole.subarray(0, Math.floor(whole.length / 2)));
    const databaseUrl = await createTestDatabase();
    const res = await slm({ DATABASE_URL: databaseUrl, SLM_KEK: kek, SLM_DATA_DIR: path.join(work, 'cut') }, 'restore', cut);
    expect(res.code).toBe(1);
    const rows = await tableRows(databaseUrl);
    expect(Object.values(rows).every((r) => r.length === 0)).toBe(true);
  }, 60_000);
});

describe('Backup and restore of the embedded store (real processes)', () => {
  const work = mkdtempSync(path.join(os.tmpdir(), 'slm-backup-embedded-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  test('When the embedded server runs, then slm backup reads it through the server, restore refuses its busy store, and a fresh data directory restores and serves', async () => {
    const source = await spawnServer({ SLM_ADMIN_PASSWORD: ADMIN_PASSWORD });
    const file = path.join(work, 'embedded.gz');
    try {
      const login = await source.http().post('/api/v1/auth/login').send({ username: 'admin', password: ADMIN_PASSWORD });
      expect((await source.http().post('/api/v1/accounts').auth(login.body.token, { type: 'bearer' }).send({ name: 'Edge' })).status).toBe(201);
      const backup = await slm({ SLM_URL: source.url, SLM_ADMIN_PASSWORD: ADMIN_PASSWORD }, 'backup', file, '--ca', path.join(source.dataDir, 'certs', 'ca.pem'));
      expect(backup).toMatchObject({ code: 0 });
      expect(backup.out).toContain('from the embedded store');
      const busy = await slm({ SLM_DATA_DIR: source.dataDir }, 'restore', file, '--force');
      expect(busy.code).toBe(1);
      expect(busy.out).toContain(`in use by process ${source.child.pid}`);
    } finally {
      await source.stop();
    }
    const fresh = path.join(work, 'fresh');
    mkdirSync(fresh, { mode: 0o700 });
    copyFileSync(path.join(source.dataDir, 'kek'), path.join(fresh, 'kek'));
    expect(await slm({ SLM_DATA_DIR: fresh }, 'restore', file)).toMatchObject({ code: 0 });
    const restored = await spawnServer({ SLM_DATA_DIR: fresh, SLM_CERTS_DIR: path.join(fresh, 'certs') });
    try {
      expect(restored.ca).toBe(source.ca);
      const login = await restored.http().post('/api/v1/auth/login').send({ username: 'admin', password: ADMIN_PASSWORD });
      expect(login.status).toBe(200);
      const accounts = await restored.http().get('/api/v1/accounts').auth(login.body.token, { type: 'bearer' });
      expect(accounts.body.accounts.map((a: { name: string }) => a.name)).toContain('Edge');
    } finally {
      await restored.stop();
    }
  }, 180_000);
});
