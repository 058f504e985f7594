import { Client } from 'pg';
import { ProductSimulator } from '../src/products/simulator';
import { verifyServerResponse } from '../src/transport/jws';
import https from 'node:https';
import { seedScaleInstances } from './seed';
import { fmt, measure, request, rssOf, seedAccount, startBenchEnv, TRANSPORT_PATH } from './common';

/**
 * Scale: 100,000 product instances of one virtual account reporting across 50 licenses. The
 * instances and their usage are seeded with set-based SQL (registering 100k real products would
 * take the benchmark's whole budget), usage_total is computed from them, then real products
 * register and authorize through the endpoint while the API Toolkit licenses call is timed.
 */

const INSTANCES = 100_000;
const LICENSES = 50;
const TAGS = Array.from({ length: LICENSES }, (_, i) => ({ tag: `regid.scale.TAG_${String(i).padStart(2, '0')}`, quantity: 12_000 }));
const SAMPLE_PRODUCTS = 200;
const SAMPLE_AUTHORIZES = 2_000;
const TOOLKIT_CALLS = 200;

async function main() {
  // Kept-alive connections, as an API client polls (request() resends once if the server closed an idle one).
  const env = await startBenchEnv();
  try {
    const [token] = await seedAccount(env, 'Scale', TAGS, 1);
    const db = new Client({ connectionString: env.databaseUrl });
    await db.connect();
    const { rows: [va] } = await db.query(`SELECT v.id FROM virtual_account v JOIN local_account a ON a.id = v.account_id WHERE a.name = 'Scale' AND v.name = 'Default'`);
    const t0 = Date.now();
    await seedScaleInstances((sql, params) => db.query(sql, params), va.id, INSTANCES, LICENSES);
    await db.query('ANALYZE');
    const { rows: [{ n: usageRows }] } = await db.query('SELECT count(*)::int AS n FROM usage');
    console.log(`seeded ${INSTANCES} instances, ${usageRows} usage rows, ${LICENSES} licenses in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

    const client = await env.call<{ clientId: string; clientSecret: string }>('POST', '/api/v1/accounts/Scale/api-clients', { name: 'bench' }, env.admin);
    const oauth = await env.call<{ access_token: string }>('POST', '/backend/oauth/token', {
      grant_type: 'client_credentials', client_id: client.body.clientId, client_secret: client.body.clientSecret,
    });
    const access = oauth.body.access_token;
    const toolkitCall = async (agent = env.agent) => {
      const res = await request<{ licenses: { inUse: number }[] }>(agent, env.server.url, 'POST', '/api/v1/accounts/Scale/licenses', { limit: -1 }, access);
      if (res.status !== 200 || res.body.licenses.length !== LICENSES) throw new Error(`toolkit answered ${res.status}`);
    };
    await toolkitCall();
    const idle = await measure(Array.from({ length: TOOLKIT_CALLS }), 1, () => toolkitCall());
    // A client that opens a new TLS connection for every call pays the handshake too.
    const fresh = new https.Agent({ keepAlive: false, ca: env.server.ca });
    const idleFresh = await measure(Array.from({ length: TOOLKIT_CALLS }), 1, () => toolkitCall(fresh));
    fresh.destroy();
    console.log(`toolkit licenses (idle): p50 ${idle.p50.toFixed(2)} ms, p99 ${idle.p99.toFixed(2)} ms; server RSS ${(rssOf(env.server.child.pid!) / 1024 / 1024).toFixed(0)} MiB`);

    const url = `${env.server.url}${TRANSPORT_PATH}`;
    const sims = Array.from({ length: SAMPLE_PRODUCTS }, (_, i) => {
      const sim = ProductSimulator.create({ url, udi: { pid: 'SAMPLE', sn: `S${i}` }, hostname: `sample-${i}`, productType: 'UCL', trustedCa: env.server.ca });
      sim.csr();
      return sim;
    });
    const post = async (message: string) => {
      const res = await request<{ response?: string }>(env.agent, env.server.url, 'POST', TRANSPORT_PATH, { message });
      if (res.status !== 200) throw new Error(`transport answered ${res.status} ${JSON.stringify(res.body)}`);
      return res.body.response!;
    };
    const registered = await measure(sims, 16, async (sim) => {
      const claims = verifyServerResponse(await post(sim.registerMessage(token)), env.server.ca);
      sim.state.instanceId = (claims.productInstance as { id: string }).id;
    });
    // Two different tags per report ((11i + 1) and i differ mod 50): a tag may appear once per report.
    const messages = Array.from({ length: SAMPLE_AUTHORIZES }, (_, i) =>
      sims[i % SAMPLE_PRODUCTS].authorizeMessage([{ tag: TAGS[i % LICENSES].tag, count: 1 + (i % 3) }, { tag: TAGS[(i * 11 + 1) % LICENSES].tag, count: 1 }]));
    // Both awaited together: a failure in either is reported, never left as an unhandled rejection.
    const [auth, loaded] = await Promise.all([
      measure(messages, 16, async (m) => {
        await post(m);
      }),
      measure(Array.from({ length: TOOLKIT_CALLS }), 1, () => toolkitCall()),
    ]);

    const { rows: check } = await db.query(`
      SELECT (SELECT COALESCE(SUM(in_use), 0) FROM usage_total WHERE virtual_account_id = $1::uuid)::bigint AS total,
             (SELECT COALESCE(SUM(u.count), 0) FROM usage u JOIN product_instance p ON p.id = u.product_instance_id
              WHERE p.virtual_account_id = $1::uuid AND p.status = 'REGISTERED')::bigint AS recount`, [va.id]);
    await db.end();

    console.log('\nphase                                 count    per s   p50 ms   p99 ms');
    console.log(`toolkit licenses (idle)              ${String(idle.count).padStart(6)} ${fmt(idle.perSecond)} ${fmt(idle.p50, 2)} ${fmt(idle.p99, 2)}`);
    console.log(`toolkit licenses (idle, new TLS each) ${String(idleFresh.count).padStart(5)} ${fmt(idleFresh.perSecond)} ${fmt(idleFresh.p50, 2)} ${fmt(idleFresh.p99, 2)}`);
    console.log(`toolkit licenses (during authorizes) ${String(loaded.count).padStart(6)} ${fmt(loaded.perSecond)} ${fmt(loaded.p50, 2)} ${fmt(loaded.p99, 2)}`);
    console.log(`register (16 concurrent)             ${String(registered.count).padStart(6)} ${fmt(registered.perSecond)} ${fmt(registered.p50, 2)} ${fmt(registered.p99, 2)}`);
    console.log(`authorize (16 concurrent)            ${String(auth.count).padStart(6)} ${fmt(auth.perSecond)} ${fmt(auth.p50, 2)} ${fmt(auth.p99, 2)}`);
    console.log(`\nserver RSS: ${(rssOf(env.server.child.pid!) / 1024 / 1024).toFixed(0)} MiB`);
    console.log(`usage_total sum ${check[0].total} = recount from usage ${check[0].recount}: ${check[0].total === check[0].recount ? 'consistent' : 'MISMATCH'}`);
    console.log('targets: toolkit licenses p50 <= 10 ms, p99 <= 50 ms');
  } catch (err) {
    console.error(`server output (last lines):\n${env.server.output().split('\n').slice(-15).join('\n')}`);
    throw err;
  } finally {
    await env.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
