import os from 'node:os';
import { ProductSimulator } from '../src/products/simulator';
import { decodeJws, verifyServerResponse } from '../src/transport/jws';
import { cpuSecondsOf, fmt, topStatements, machineCpu, measure, pgCpuSecondsOf, request, seedAccount, startBenchEnv, TRANSPORT_PATH, type BenchEnv } from './common';

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

type Phase = Awaited<ReturnType<typeof measure>> & { serverCpu: number; pgCpu: number; machineBusy: number };

async function timed(env: BenchEnv, run: () => ReturnType<typeof measure>): Promise<Phase> {
  const cpu0 = cpuSecondsOf(env.server.child.pid!);
  const pg0 = pgCpuSecondsOf(env.pg);
  const m0 = machineCpu();
  const result = await run();
  const m1 = machineCpu();
  return {
    ...result,
    serverCpu: (cpuSecondsOf(env.server.child.pid!) - cpu0) / result.count,
    pgCpu: (pgCpuSecondsOf(env.pg) - pg0) / result.count,
    machineBusy: (m1.busy - m0.busy) / (m1.total - m0.total),
  };
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
  try {
    const tokens = await seedAccount(env, 'Bench', TAGS, 64);
    const rows: string[] = [];
    for (const level of LEVELS) {
      const sims = Array.from({ length: level.registrations }, (_, i) => {
        const sim = ProductSimulator.create({ url, udi: { pid: 'BENCH', sn: `C${level.concurrency}-${i}` }, hostname: `bench-${i}`, productType: 'UCL', trustedCa: env.server.ca });
        sim.csr();
        return sim;
      });
      // One token per concurrent product: uses of one token serialize on its row (measured apart below).
      const registerMessages = sims.map((sim, i) => ({ sim, message: sim.registerMessage(tokens[i % level.concurrency]) }));
      const answers: string[] = [];
      const reg = await timed(env, () => measure(registerMessages, level.concurrency, async ({ sim, message }) => {
        const response = await post(message);
        sim.state.instanceId = (decodeJws(response).claims.productInstance as { id: string }).id;
        if (answers.length < 5) answers.push(response);
      }));
      for (const a of answers) verifyServerResponse(a, env.server.ca);

      let seed = level.concurrency;
      const random = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
      const authorizeMessages = Array.from({ length: level.authorizations }, (_, i) =>
        sims[i % sims.length].authorizeMessage(TAGS.filter(() => random() < 0.6).map(({ tag }) => ({ tag, count: Math.floor(random() * 20) }))));
      const auth = await timed(env, () => measure(authorizeMessages, level.concurrency, async (message) => {
        await post(message);
      }));
      for (const [name, r] of [['register', reg], ['authorize', auth]] as const) {
        rows.push(`${name.padEnd(10)} ${String(level.concurrency).padStart(4)} ${String(r.count).padStart(6)} ${fmt(r.perSecond)} ${fmt(r.p50, 2)} ${fmt(r.p99, 2)} ${fmt(r.serverCpu * 1000, 2)} ${fmt(r.pgCpu * 1000, 2)} ${fmt(r.machineBusy * 100, 0)}%`);
      }
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
    const top = await topStatements(env);
    if (top.length) console.log(`\nPostgreSQL, top statements by total time (pg_stat_statements):\n${top.join('\n')}`);
    console.log('\ntargets: >= 1000 reg/s, >= 3000 auth/s, p99 < 100 ms at 64 concurrent products');
  } finally {
    await env.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
