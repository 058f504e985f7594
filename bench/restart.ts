/**
 * npm run bench:restart [-- --rounds N] [--store postgresql|embedded]
 *
 * Warm restart of a stand-alone server: `slm serve` is started, answers GET /healthz over HTTPS,
 * is stopped (SIGTERM) and started again on the same data; prints the first start and each warm
 * start (spawn -> first 200). The cluster figure (a crashed Active server -> VIP serving again,
 * with and without the supervisor's spare) is `npm run bench:failover -- --modes server`.
 */
import { spawn } from 'node:child_process';
import https from 'node:https';
import { mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { PROJECT_ROOT } from '../src/config/paths';
import { asPostgres, freePort, PG_BIN, startPostgres, type PgInstance } from '../tests/support/postgres';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const ROUNDS = Number(arg('--rounds', '5'));
const STORE = arg('--store', 'postgresql');
const ENTRY = path.join(PROJECT_ROOT, 'dist', 'src', 'cli', 'index.js');

const healthy = (port: number) =>
  new Promise<boolean>((resolve) => {
    const req = https.get({ host: '127.0.0.1', port, path: '/healthz', rejectUnauthorized: false, agent: false, timeout: 500 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });

async function main() {
  const dir = mkdtempSync('/tmp/slm-restart-');
  let pg: PgInstance | undefined;
  try {
    const port = await freePort();
    const env: NodeJS.ProcessEnv = { ...process.env, SLM_DATA_DIR: path.join(dir, 'data'), SLM_CERTS_DIR: path.join(dir, 'certs'), SLM_PORT: String(port), SLM_BIND: '127.0.0.1', SLM_ADMIN_PASSWORD: 'restart-bench-password', SLM_LOG_LEVEL: 'warn' };
    if (STORE === 'postgresql') {
      pg = await startPostgres();
      asPostgres(path.join(PG_BIN, 'psql'), ['-d', pg.url('postgres'), '-c', 'CREATE DATABASE restart']);
      env.DATABASE_URL = pg.url('restart');
    }
    const times: number[] = [];
    for (let i = 0; i <= ROUNDS; i++) {
      const t0 = Date.now();
      const child = spawn(process.execPath, [ENTRY, 'serve'], { env, stdio: 'ignore' });
      while (!(await healthy(port))) {
        if (child.exitCode !== null) throw new Error(`the server exited with ${child.exitCode}`);
        await sleep(25);
      }
      times.push(Date.now() - t0);
      console.log(`${i === 0 ? 'first start' : `warm restart ${i}/${ROUNDS}`} (${STORE}): serving after ${((Date.now() - t0) / 1000).toFixed(2)} s`);
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    const warm = times.slice(1).sort((a, b) => a - b);
    const median = warm.length % 2 ? warm[(warm.length - 1) / 2] : (warm[warm.length / 2 - 1] + warm[warm.length / 2]) / 2;
    console.log(`\n${STORE}: first start ${(times[0] / 1000).toFixed(2)} s; warm restart median ${(median / 1000).toFixed(2)} s, worst ${(warm[warm.length - 1] / 1000).toFixed(2)} s (target <= 3 s on PostgreSQL)`);
  } finally {
    pg?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
