import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { PROJECT_ROOT } from '../src/config/paths';
import { openPglite } from '../src/store/embedded';
import { spawnServer, type ServerProcess } from '../tests/support/spawn-server';
import { ADMIN_PASSWORD, request, seedAccount, startBenchEnv } from './common';
import { seedScaleInstances } from './seed';

/**
 * Backup and restore at the scale benchmark's size (100,000 product instances with two usage rows
 * each, seeded as bench/scale.ts does), on PostgreSQL and on the embedded store: `slm backup`
 * against the running server and `slm restore` onto a fresh database or data directory, each
 * run as its own process, repeated. The machine may be shared: compare within one run.
 */

const INSTANCES = Number(process.env.BENCH_INSTANCES ?? 100_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const LICENSES = 50;
const TAGS = Array.from({ length: LICENSES }, (_, i) => ({ tag: `regid.scale.TAG_${String(i).padStart(2, '0')}`, quantity: 12_000 }));
const ENTRY = path.join(PROJECT_ROOT, 'dist', 'src', 'cli', 'index.js');

/** Runs the CLI to its end and returns its wall time in seconds. */
async function timed(env: Record<string, string>, ...args: string[]): Promise<number> {
  const t0 = performance.now();
  await promisify(execFile)(process.execPath, [ENTRY, ...args], { env: { ...process.env, ...env }, timeout: 1_800_000, maxBuffer: 1 << 24 });
  return (performance.now() - t0) / 1000;
}

const spread = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return `${s[Math.floor(s.length / 2)].toFixed(1)} s (${s[0].toFixed(1)}-${s[s.length - 1].toFixed(1)})`;
};

async function backups(server: ServerProcess, work: string, name: string): Promise<{ files: string[]; seconds: number[] }> {
  const files: string[] = [];
  const seconds: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const file = path.join(work, `${name}-${r}.gz`);
    seconds.push(await timed({ SLM_URL: server.url, SLM_ADMIN_PASSWORD: ADMIN_PASSWORD }, 'backup', file, '--ca', path.join(server.dataDir, 'certs', 'ca.pem')));
    files.push(file);
  }
  return { files, seconds };
}

function line(store: string, rows: number, files: string[], backup: number[], restore: number[]) {
  const mib = statSync(files[0]).size / 1024 / 1024;
  console.log(`${store.padEnd(11)} ${String(rows).padStart(8)} rows  file ${mib.toFixed(1).padStart(6)} MiB  backup ${spread(backup).padEnd(18)} restore ${spread(restore)}`);
}

async function postgresql(work: string): Promise<() => void> {
  const env = await startBenchEnv();
  try {
    await seedAccount(env, 'Scale', TAGS, 1);
    const db = new Client({ connectionString: env.databaseUrl });
    await db.connect();
    const { rows: [va] } = await db.query(`SELECT v.id FROM virtual_account v JOIN local_account a ON a.id = v.account_id WHERE a.name = 'Scale' AND v.name = 'Default'`);
    await seedScaleInstances((sql, params) => db.query(sql, params), va.id, INSTANCES, LICENSES);
    const { rows: [{ n: rows }] } = await db.query(`SELECT (SELECT count(*) FROM product_instance) + (SELECT count(*) FROM usage) AS n`);
    const taken = await backups(env.server, work, 'pg');
    const restored: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      await db.query(`CREATE DATABASE restore_${r}`);
      restored.push(await timed({ DATABASE_URL: env.pg.url(`restore_${r}`), SLM_DATA_DIR: env.server.dataDir }, 'restore', taken.files[r]));
    }
    await db.end();
    const target = new Client({ connectionString: env.pg.url('restore_0') });
    await target.connect();
    const { rows: [{ n }] } = await target.query('SELECT count(*)::int AS n FROM product_instance');
    await target.end();
    if (n !== INSTANCES) throw new Error(`restored ${n} instances, expected ${INSTANCES}`);
    return () => line('postgresql', Number(rows), taken.files, taken.seconds, restored);
  } finally {
    await env.stop();
  }
}

async function embedded(work: string): Promise<() => void> {
  const dataDir = path.join(work, 'embedded');
  const env = { SLM_DATA_DIR: dataDir, SLM_CERTS_DIR: path.join(dataDir, 'certs'), SLM_ADMIN_PASSWORD: ADMIN_PASSWORD };
  let server = await spawnServer(env);
  const agent = new https.Agent({ ca: server.ca });
  try {
    const login = await request<{ token: string }>(agent, server.url, 'POST', '/api/v1/auth/login', { username: 'admin', password: ADMIN_PASSWORD });
    await request(agent, server.url, 'POST', '/api/v1/accounts', { name: 'Scale' }, login.body.token);
    await request(agent, server.url, 'POST', '/api/v1/accounts/Scale/approve', {}, login.body.token);
  } finally {
    agent.destroy();
    await server.stop();
  }
  // The embedded store admits one process: seeded while the server is stopped.
  const store = await openPglite(dataDir);
  const query = (sql: string, params?: unknown[]) => store.lite.query(sql, params);
  const { rows: [va] } = await store.lite.query<{ id: string }>(`SELECT v.id FROM virtual_account v JOIN local_account a ON a.id = v.account_id WHERE a.name = 'Scale'`);
  await seedScaleInstances(query, va.id, INSTANCES, LICENSES);
  const { rows: [{ n: rows }] } = await store.lite.query<{ n: number }>(`SELECT ((SELECT count(*) FROM product_instance) + (SELECT count(*) FROM usage))::int AS n`);
  await store.close();
  server = await spawnServer(env);
  let taken: { files: string[]; seconds: number[] };
  try {
    taken = await backups(server, work, 'embedded');
  } finally {
    await server.stop();
  }
  const restored: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const fresh = path.join(work, `embedded-restore-${r}`);
    mkdirSync(fresh, { mode: 0o700 });
    copyFileSync(path.join(dataDir, 'kek'), path.join(fresh, 'kek'));
    restored.push(await timed({ SLM_DATA_DIR: fresh }, 'restore', taken.files[r]));
  }
  return () => line('embedded', rows, taken.files, taken.seconds, restored);
}

async function main() {
  const work = mkdtempSync(path.join(os.tmpdir(), 'slm-bench-backup-'));
  try {
    const results = [await postgresql(work), await embedded(work)];
    console.log(`\nbackup (slm backup, server running, idle) and restore (slm restore, fresh store) of ${INSTANCES} instances, ${ROUNDS} rounds each; median (min-max); load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}, ${os.cpus().length} cores`);
    for (const print of results) print();
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
