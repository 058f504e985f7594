import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { startPostgres } from '../tests/support/postgres';
import { spawnServer } from '../tests/support/spawn-server';
import { PROJECT_ROOT } from '../src/config/paths';
import { PGLITE_TEMPLATE_DIR } from '../src/store/embedded';

/**
 * Start-up: seconds from spawning `slm serve` until it logs "listening" (its HTTPS port accepts),
 * cold (new data directory or database) and warm (the same again), for both stores, repeated;
 * plus `npm start` warm (its build check included) and a first embedded start without the
 * build's initdb template. Each line: median, min-max, and the server's own split
 * (load = node and modules, store = open + migrations, prepare = keys, certificates, listen),
 * and when the first login (the first request through the API validator) was answered.
 * The machine may be shared: compare figures within one run.
 */

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const ADMIN_PASSWORD = 'bench-admin-password';

type Sample = { seconds: number; split: Record<string, number> };

async function serveOnce(env: Record<string, string>): Promise<Sample> {
  const t0 = performance.now();
  const server = await spawnServer({ SLM_ADMIN_PASSWORD: ADMIN_PASSWORD, ...env });
  const seconds = (performance.now() - t0) / 1000;
  // The request validator loads the API description on its first request: a login pays it.
  const login = await server.http().post('/api/v1/auth/login').send({ username: 'admin', password: ADMIN_PASSWORD });
  if (login.status !== 200) throw new Error(`login answered ${login.status}`);
  const firstAnswer = performance.now() - t0;
  const split = { ...JSON.parse(/\{[^\n]*slm-onprem listening[^\n]*\}/.exec(server.output())![0]).startupMs, 'first login answered': firstAnswer };
  await server.stop();
  return { seconds, split };
}

/** `npm start` as an operator runs it, until the listening line. */
async function npmStartOnce(env: Record<string, string>): Promise<Sample> {
  const t0 = performance.now();
  const child = spawn('npm', ['start'], { cwd: PROJECT_ROOT, env: { ...process.env, SLM_PORT: '0', SLM_BIND: '127.0.0.1', ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  const line = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /\{[^\n]*slm-onprem listening[^\n]*\}/.exec(out);
      if (m) resolve(m[0]);
    });
    child.once('exit', (code) => reject(new Error(`npm start exited ${code}: ${out}`)));
  });
  const seconds = (performance.now() - t0) / 1000;
  process.kill(-child.pid!, 'SIGTERM');
  await new Promise((r) => child.once('exit', r));
  return { seconds, split: JSON.parse(line).startupMs };
}

function report(name: string, samples: Sample[]): void {
  const s = samples.map((x) => x.seconds).sort((a, b) => a - b);
  const median = s[Math.floor(s.length / 2)];
  const keys = Object.keys(samples[0].split);
  const split = keys.map((k) => {
    const v = samples.map((x) => x.split[k]).sort((a, b) => a - b);
    return `${k} ${(v[Math.floor(v.length / 2)] / 1000).toFixed(2)}`;
  });
  console.log(`${name.padEnd(34)} median ${median.toFixed(2)} s  min ${s[0].toFixed(2)}  max ${s[s.length - 1].toFixed(2)}  (n=${s.length}; server split s: ${split.join(', ')})`);
}

async function main() {
  const pg = await startPostgres();
  const work = mkdtempSync(path.join(os.tmpdir(), 'slm-bench-startup-'));
  const results: Record<string, Sample[]> = { 'embedded cold': [], 'embedded warm': [], 'postgresql cold': [], 'postgresql warm': [], 'npm start warm (postgresql)': [], 'embedded cold, no template': [] };
  try {
    const admin = new Client({ connectionString: pg.url() });
    await admin.connect();
    const withoutTemplate = async (dataDir: string) => {
      const aside = `${PGLITE_TEMPLATE_DIR}.bench-aside`;
      renameSync(PGLITE_TEMPLATE_DIR, aside);
      try {
        return await serveOnce({ SLM_DATA_DIR: dataDir, SLM_CERTS_DIR: path.join(dataDir, 'certs') });
      } finally {
        renameSync(aside, PGLITE_TEMPLATE_DIR);
      }
    };
    const ratios: number[] = [];
    // The cases interleave within each round, so a busy moment of a shared machine hits them all.
    for (let round = 0; round < ROUNDS; round++) {
      const dataDir = path.join(work, `embedded-${round}`);
      const env = { SLM_DATA_DIR: dataDir, SLM_CERTS_DIR: path.join(dataDir, 'certs') };
      const cold = await serveOnce(env);
      results['embedded cold'].push(cold);
      // Without the template a first start runs initdb (and the migrations) in WASM.
      if (existsSync(PGLITE_TEMPLATE_DIR)) {
        const initdb = await withoutTemplate(path.join(work, `initdb-${round}`));
        results['embedded cold, no template'].push(initdb);
        ratios.push(cold.seconds / initdb.seconds);
      }
      results['embedded warm'].push(await serveOnce(env));
      await admin.query(`CREATE DATABASE bench_${round}`);
      const pgDir = path.join(work, `pg-${round}`);
      const pgEnv = { DATABASE_URL: pg.url(`bench_${round}`), SLM_DATA_DIR: pgDir, SLM_CERTS_DIR: path.join(pgDir, 'certs') };
      results['postgresql cold'].push(await serveOnce(pgEnv));
      results['postgresql warm'].push(await serveOnce(pgEnv));
      results['npm start warm (postgresql)'].push(await npmStartOnce(pgEnv));
      console.log(`round ${round + 1}/${ROUNDS} done`);
    }
    await admin.end();
    console.log(`\nstart-up until listening, ${ROUNDS} rounds (load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}, ${os.cpus().length} cores)`);
    for (const [name, samples] of Object.entries(results)) if (samples.length) report(name, samples);
    if (ratios.length) {
      const sorted = ratios.sort((a, b) => a - b);
      console.log(`first embedded start with the template / without it, same round: median ${sorted[Math.floor(sorted.length / 2)].toFixed(2)}x (${sorted[0].toFixed(2)}-${sorted[sorted.length - 1].toFixed(2)})`);
    }
  } finally {
    pg.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
