import { spawn, type ChildProcess } from 'node:child_process';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { ProductSimulator } from '../src/products/simulator';
import { decodeJws, verifyServerResponse } from '../src/transport/jws';
import { readdirSync } from 'node:fs';
import { cpuSecondsOf, fmt, rssOf, topStatements, machineCpu, measure, percentile, pgCpuSecondsOf, profileArgs, request, seedAccount, startBenchEnv, TRANSPORT_PATH, type BenchEnv } from './common';

/**
 * Transport throughput and latency: registrations and authorizations per second and p50/p99 at
 * 1, 16 and 64 concurrent products, against the built server as a child process on a throwaway
 * PostgreSQL. Keys, CSRs and signed messages are made before timing; answers are not verified
 * while timing (a sample is, afterwards), so the figures are the server's.
 */

const TAGS = Array.from({ length: 5 }, (_, i) => ({ tag: `regid.bench.TAG_${i}`, quantity: 1_000_000 }));
// BENCH_LEVELS=64 runs one level; BENCH_SCALE=0.25 sends a quarter of the messages (short runs on a shared machine).
const SCALE = Number(process.env.BENCH_SCALE ?? 1);
const LEVELS = [
  { concurrency: 1, registrations: 100, authorizations: 400 },
  { concurrency: 16, registrations: 600, authorizations: 2400 },
  { concurrency: 64, registrations: 1000, authorizations: 4000 },
]
  .filter((l) => !process.env.BENCH_LEVELS || process.env.BENCH_LEVELS.split(',').map(Number).includes(l.concurrency))
  .map((l) => ({ ...l, registrations: Math.ceil(l.registrations * SCALE), authorizations: Math.ceil(l.authorizations * SCALE) }));

/**
 * Each level's phases start with a warm-up that is not counted, for ours and the baseline alike: the
 * level's new connections (TLS handshakes) and code the previous level did not run hot enough yet
 * otherwise land in the first requests' latencies, and the figures are for a server in steady state.
 */
const warmUp = (level: { concurrency: number; registrations: number }) => Math.max(level.concurrency * 2, Math.ceil(level.registrations * 0.05));

// Ours and the baseline take turns in this many slices of each level's authorizations (BENCH_ROUNDS).
const ROUNDS = Math.max(2, Number(process.env.BENCH_ROUNDS ?? 6));

// A soak after the levels: authorizes at 16 concurrent for BENCH_SOAK_SECONDS (default 600 x BENCH_SCALE).
const SOAK_SECONDS = Number(process.env.BENCH_SOAK_SECONDS ?? Math.round(600 * SCALE));

/** Authorizes for `seconds` while sampling the server's RSS and open file descriptors ten times. */
async function soak(pid: number, sims: ProductSimulator[], post: (message: string) => Promise<unknown>, seconds: number): Promise<string> {
  const sample = () => ({ rss: rssOf(pid) / 1024 / 1024, fds: readdirSync(`/proc/${pid}/fd`).length });
  const samples = [sample()];
  const timer = setInterval(() => samples.push(sample()), (seconds * 1000) / 10);
  const deadline = Date.now() + seconds * 1000;
  let sent = 0;
  await Promise.all(Array.from({ length: 16 }, async () => {
    while (Date.now() < deadline) {
      const sim = sims[sent++ % sims.length];
      await post(sim.authorizeMessage(TAGS.slice(0, 1 + (sent % TAGS.length)).map(({ tag }) => ({ tag, count: sent % 7 }))));
    }
  }));
  clearInterval(timer);
  samples.push(sample());
  return `soak: ${sent} authorizes in ${seconds} s at 16 concurrent\n` +
    `  server RSS MiB: ${samples.map((x) => x.rss.toFixed(0)).join(' ')}\n` +
    `  open fds:       ${samples.map((x) => x.fds).join(' ')}\n` +
    `  from the 2nd sample to the last: RSS ${(samples.at(-1)!.rss - samples[1].rss).toFixed(1)} MiB, fds ${samples.at(-1)!.fds - samples[1].fds}`;
}

type Phase = Awaited<ReturnType<typeof measure>> & { serverCpu: number; pgCpu: number; machineBusy: number };

/** One phase's figures from several runs of it (counts add up; percentiles over all latencies). */
function merge(parts: Phase[]): Phase {
  const count = parts.reduce((n, p) => n + p.count, 0);
  const w = (f: (p: Phase) => number) => parts.reduce((sum, p) => sum + f(p) * p.count, 0) / count;
  const latencies = parts.flatMap((p) => p.latencies).sort((a, b) => a - b);
  return {
    count,
    perSecond: count / parts.reduce((sec, p) => sec + p.count / p.perSecond, 0),
    p50: percentile(latencies, 50), p99: percentile(latencies, 99), latencies,
    serverCpu: w((p) => p.serverCpu), pgCpu: w((p) => p.pgCpu), machineBusy: w((p) => p.machineBusy),
  };
}

async function timed(env: BenchEnv, run: () => ReturnType<typeof measure>, pid = env.server.child.pid!): Promise<Phase> {
  const cpu0 = cpuSecondsOf(pid);
  const pg0 = pgCpuSecondsOf(env.pg);
  const m0 = machineCpu();
  const result = await run();
  const m1 = machineCpu();
  return {
    ...result,
    serverCpu: (cpuSecondsOf(pid) - cpu0) / result.count,
    pgCpu: (pgCpuSecondsOf(env.pg) - pg0) / result.count,
    machineBusy: (m1.busy - m0.busy) / (m1.total - m0.total),
  };
}

/** bench/baseline-server.ts as a child process on the same database (its own CPU, as our server has). */
async function startBaseline(env: BenchEnv): Promise<{ child: ChildProcess; url: string; agent: https.Agent }> {
  const child = spawn(process.execPath, [...profileArgs(), path.join(__dirname, 'baseline-server.js')], { env: { ...process.env, DATABASE_URL: env.databaseUrl }, stdio: ['ignore', 'pipe', 'inherit'] });
  const { port, ca } = await new Promise<{ port: number; ca: string }>((resolve, reject) => {
    child.stdout!.once('data', (d: Buffer) => resolve(JSON.parse(d.toString())));
    child.once('exit', (code) => reject(new Error(`baseline server exited with ${code}`)));
  });
  return { child, url: `https://127.0.0.1:${port}`, agent: new https.Agent({ keepAlive: true, maxSockets: 256, ca }) };
}

async function main() {
  console.log(`bench:transport on ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? 'unknown'}), node ${process.version}`);
  const env = await startBenchEnv();
  const url = `${env.server.url}${TRANSPORT_PATH}`;
  const post = async (message: string) => {
    const res = await request<{ response?: string; error?: { code: string } }>(env.agent, env.server.url, 'POST', TRANSPORT_PATH, { message });
    if (res.status !== 200) throw new Error(`transport answered ${res.status} ${JSON.stringify(res.body)}`);
    return res.body.response!;
  };
  const baseline = await startBaseline(env);
  const postBaseline = async (message: string) => {
    const res = await request<{ response?: string }>(baseline.agent, baseline.url, 'POST', TRANSPORT_PATH, { message });
    if (res.status !== 200) throw new Error(`baseline answered ${res.status} ${JSON.stringify(res.body)}`);
  };
  try {
    const tokens = await seedAccount(env, 'Bench', TAGS, 64);
    const rows: string[] = [];
    const ratios: string[] = [];
    let lastSims: ProductSimulator[] = [];
    for (const level of LEVELS) {
      const sims = Array.from({ length: level.registrations }, (_, i) => {
        const sim = ProductSimulator.create({ url, udi: { pid: 'BENCH', sn: `C${level.concurrency}-${i}` }, hostname: `bench-${i}`, productType: 'UCL', trustedCa: env.server.ca });
        sim.csr();
        return sim;
      });
      // One token per concurrent product: uses of one token serialize on its row (measured apart below).
      const registerMessages = sims.map((sim, i) => ({ sim, message: sim.registerMessage(tokens[i % level.concurrency]) }));
      const answers: string[] = [];
      const register = async ({ sim, message }: (typeof registerMessages)[number]) => {
        const response = await post(message);
        sim.state.instanceId = (decodeJws(response).claims.productInstance as { id: string }).id;
        if (answers.length < 5) answers.push(response);
      };
      await measure(registerMessages.splice(0, warmUp(level)), level.concurrency, register);
      const reg = await timed(env, () => measure(registerMessages, level.concurrency, register));
      for (const a of answers) verifyServerResponse(a, env.server.ca);
      lastSims = sims;

      let seed = level.concurrency;
      const random = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
      const makeAuthorizes = () => Array.from({ length: level.authorizations }, (_, i) =>
        sims[i % sims.length].authorizeMessage(TAGS.filter(() => random() < 0.6).map(({ tag }) => ({ tag, count: Math.floor(random() * 20) }))));
      const authorizeMessages = makeAuthorizes();
      const baselineMessages = makeAuthorizes();
      await measure(authorizeMessages.splice(0, warmUp(level)), level.concurrency, async (message) => post(message).then(() => undefined));
      await measure(baselineMessages.splice(0, warmUp(level)), level.concurrency, postBaseline);
      // Ours and the baseline alternate in ROUNDS slices, the one that goes first swapped each round,
      // so a change in the host's load (or a checkpoint, an autovacuum) hits both alike.
      const size = Math.ceil(authorizeMessages.length / ROUNDS);
      const slice = (list: string[], round: number) => list.slice(round * size, (round + 1) * size);
      const auth: Phase[] = [];
      const base: Phase[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        const ours = () => timed(env, () => measure(slice(authorizeMessages, round), level.concurrency, async (message) => post(message).then(() => undefined)));
        const bare = () => timed(env, () => measure(slice(baselineMessages, round), level.concurrency, postBaseline), baseline.child.pid);
        if (round % 2 === 0) {
          auth.push(await ours());
          base.push(await bare());
        } else {
          base.push(await bare());
          auth.push(await ours());
        }
      }
      for (const [name, r] of [['register', reg], ['authorize', merge(auth)], ['baseline', merge(base)]] as const) {
        rows.push(`${name.padEnd(10)} ${String(level.concurrency).padStart(4)} ${String(r.count).padStart(6)} ${fmt(r.perSecond)} ${fmt(r.p50, 2)} ${fmt(r.p99, 2)} ${fmt(r.serverCpu * 1000, 2)} ${fmt(r.pgCpu * 1000, 2)} ${fmt(r.machineBusy * 100, 0)}%`);
      }
      const perRound = auth.map((a, i) => a.perSecond / base[i].perSecond).sort((x, y) => x - y);
      ratios.push(`authorize at ${level.concurrency}: ${(merge(auth).perSecond / merge(base).perSecond).toFixed(2)}x the baseline ` +
        `(${ROUNDS} rounds: median ${perRound[Math.floor(ROUNDS / 2)].toFixed(2)}, ${perRound[0].toFixed(2)}-${perRound.at(-1)!.toFixed(2)})`);
    }

    // All 64 products on one token: the token row lock serializes the registrations.
    const sims = Array.from({ length: Math.ceil(400 * SCALE) }, (_, i) => {
      const sim = ProductSimulator.create({ url, udi: { pid: 'BENCH', sn: `ONE-${i}` }, hostname: `one-${i}`, productType: 'UCL' });
      return sim.registerMessage(tokens[0]);
    });
    const single = await timed(env, () => measure(sims, 64, async (message) => {
      await post(message);
    }));
    rows.push(`${'reg 1 token'.padEnd(10)} ${String(64).padStart(4)} ${String(single.count).padStart(6)} ${fmt(single.perSecond)} ${fmt(single.p50, 2)} ${fmt(single.p99, 2)} ${fmt(single.serverCpu * 1000, 2)} ${fmt(single.pgCpu * 1000, 2)} ${fmt(single.machineBusy * 100, 0)}%`);

    console.log('\nmessage    conc  count    msg/s  p50 ms  p99 ms  srv CPU  PG CPU (ms/msg)  host busy');
    for (const r of rows) console.log(r);
    console.log(`\n${ratios.join('\n')}`);
    if (SOAK_SECONDS > 0 && lastSims.length) console.log(`\n${await soak(env.server.child.pid!, lastSims, post, SOAK_SECONDS)}`);
    const top = await topStatements(env);
    if (top.length) console.log(`\nPostgreSQL, top statements by total time (pg_stat_statements):\n${top.join('\n')}`);
    console.log('\ntargets: authorize at 64 >= 0.8x the baseline and PG CPU <= 1 ms/msg; register at 64 >= 450/s (one token too); p99 at 16 <= 50 ms');
  } finally {
    baseline.agent.destroy();
    baseline.child.kill('SIGTERM');
    await env.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
