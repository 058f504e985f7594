import { startTestServer, ADMIN_PASSWORD, type TestServer } from './support/test-server';
import { licenseFixtures } from './support/license-fixtures';
import { fillPath, listOperations, rawClient, resolve, sample, type Known, type Operation, type RawRequest, type Schema } from './support/openapi-operations';

/**
 * A bounded fuzzer generated from openapi.yaml at test time: for every operation, malformed,
 * boundary and hostile values in each path parameter, query parameter and body field, hostile
 * bodies, wrong content types and credentials. Must hold: no 5xx, no hang, every status either
 * documented on the operation or one of the statuses any operation may answer (listed in
 * openapi.yaml's description), error bodies in the documented shape, no stack trace.
 */

/** Statuses the framework may answer on any operation (openapi.yaml, info.description). */
const ANY_OPERATION = new Set(['400', '404', '405', '413', '415', '429']);
const DEADLINE_MS = 15_000;
const CONCURRENCY = 6;

const LONG = 'x'.repeat(100_000);
const BODY_VALUES: unknown[] = [null, -1, 0, 2 ** 31, 2 ** 63, 1e308, -1e308, 1.5, '', 'a\u0000b', LONG, '\ud800', '\u202e💥'.repeat(50), true, [], {}, [[[[[]]]]], { $ne: 1 }, '99999999999999999999'];
const PATH_VALUES = ['%00', 'a%00b', 'x'.repeat(3000), '%2e%2e%2f%2e%2e', '%ZZ', '%C0%AF', "'%20OR%201=1--", '99999999999999999999', '-1', '00000000-0000-0000-0000-000000000000', '%F0%9F%98%80', '%20'];
const QUERY_VALUES = ['99999999999999999999', '-1', '0', '1.5', '1e308', 'NaN', 'abc', '%00', 'x'.repeat(3000), '', '%ZZ', 'true'];
const RAW_BODIES = ['{', 'null', '[]', '"s"', '1e999', `${'['.repeat(5000)}${']'.repeat(5000)}`, JSON.stringify(Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`k${i}`, i]))), '', '\u0000', '{"__proto__":{"admin":true}}'];
const CONTENT_TYPES = ['text/plain', 'application/xml', 'application/x-www-form-urlencoded', 'application/json; charset=utf-16', 'multipart/form-data; boundary=x', 'application/octet-stream'];

type Finding = { op: string; req: string; status: number | 'HANG'; why: string };

function caseList(op: Operation, known: Known, auth: Record<string, string>): RawRequest[] {
  const pathValues = Object.fromEntries(op.parameters.filter((p) => p.in === 'path').map((p) => [p.name, String(sample(p.schema, p.name, known))]));
  const requiredQuery = op.parameters.filter((p) => p.in === 'query' && p.required);
  const query = (extra: [string, string][] = [], skip?: string) => {
    const pairs: [string, string][] = [...requiredQuery.filter((p) => p.name !== skip).map((p): [string, string] => [p.name, encodeURIComponent(String(sample(p.schema, p.name, known)))]), ...extra];
    return pairs.length ? `?${pairs.map(([k, v]) => `${k}=${v}`).join('&')}` : '';
  };
  const url = fillPath(op.path, pathValues);
  const isForm = op.body?.contentType === 'application/x-www-form-urlencoded';
  const validBody = op.body ? sample(op.body.schema, '', known) : undefined;
  const encode = (value: unknown) => (isForm ? new URLSearchParams(Object.entries(value as object).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)])).toString() : JSON.stringify(value));
  const contentType = { 'content-type': op.body?.contentType ?? 'application/json' };
  const base = (over: Partial<RawRequest> = {}): RawRequest => ({
    method: op.method,
    path: url + query(),
    headers: { ...auth, ...(validBody !== undefined ? contentType : {}) },
    body: validBody !== undefined ? encode(validBody) : undefined,
    ...over,
  });
  const cases: RawRequest[] = [base()];

  // Credentials.
  for (const a of [{}, { authorization: 'Bearer garbage' }, { authorization: `Bearer ${'a'.repeat(8000)}` }, { authorization: 'Basic %00' }, { cookie: 'slm_session=garbage; slm_csrf=x' }]) {
    cases.push(base({ headers: { ...a, ...(validBody !== undefined ? contentType : {}) } }));
  }
  // Path parameters, already URL-encoded.
  for (const p of Object.keys(pathValues)) {
    for (const v of PATH_VALUES) cases.push(base({ path: fillPath(op.path, { ...Object.fromEntries(Object.entries(pathValues).map(([k, x]) => [k, encodeURIComponent(x)])), [p]: v }, true) + query() }));
  }
  // Query parameters, each alone with hostile values, repeated, missing, and an unknown one.
  for (const p of op.parameters.filter((x) => x.in === 'query')) {
    for (const v of QUERY_VALUES) cases.push(base({ path: url + query([[p.name, v]], p.name) }));
    cases.push(base({ path: url + query([[p.name, '1'], [p.name, '2']], p.name) }));
    if (p.required) cases.push(base({ path: url + query([], p.name) }));
  }
  cases.push(base({ path: url + query([['zzz', '1']]) }));
  // Body fields: each property with each hostile value, each required one missing, one extra.
  if (op.body) {
    const schema = resolve<Schema>(op.body.schema);
    const props = Object.keys(schema.properties ?? {});
    const obj = (validBody && typeof validBody === 'object' && !Array.isArray(validBody) ? validBody : {}) as Record<string, unknown>;
    for (const k of props) {
      for (const v of BODY_VALUES) cases.push(base({ body: encode({ ...obj, [k]: v }) }));
      const { [k]: _dropped, ...rest } = obj;
      cases.push(base({ body: encode(rest) }));
    }
    cases.push(base({ body: encode({ ...obj, unexpectedField: 1 }) }));
    if (isForm) cases.push(base({ body: Array.from({ length: 1500 }, (_, i) => `f${i}=1`).join('&') }));
  }
  for (const raw of RAW_BODIES) cases.push(base({ headers: { ...auth, ...contentType }, body: raw }));
  for (const ct of CONTENT_TYPES) cases.push(base({ headers: { ...auth, 'content-type': ct }, body: ct.includes('form') ? 'a=1&b=%00' : '{"a":1}' }));
  cases.push(base({ headers: { ...auth, ...contentType, 'content-encoding': 'gzip' }, body: 'not gzip' }));
  cases.push(base({ headers: { ...auth, ...contentType, 'content-encoding': 'x-unknown' }, body: '{}' }));
  // A method the path does not have.
  cases.push(base({ method: op.method === 'GET' ? 'PATCH' : 'OPTIONS' }));
  return cases;
}

/** What is wrong with a response, or undefined. */
function judge(op: Operation, status: number, body: string, json: unknown): string | undefined {
  if (status >= 500) return 'server error';
  if (!op.statuses.has(String(status)) && !ANY_OPERATION.has(String(status)) && !(status === 401 && op.security.length > 0)) return `undocumented status ${status}`;
  if (/\n\s+at [^\n]+:\d+:\d+/.test(body)) return 'stack trace in body';
  if (status >= 400 && body) {
    const e = (json as { error?: unknown })?.error;
    const ok = op.path.endsWith('/oauth/token') ? typeof e === 'string' : typeof (e as { code?: unknown })?.code === 'string' && /^[A-Z][A-Z0-9_]*$/.test((e as { code: string }).code);
    if (!ok) return 'error body not in the documented shape';
  }
  return undefined;
}

describe('Fuzzing every operation of openapi.yaml (issue 9, "keep it closed")', () => {
  let server: TestServer;
  let known: Known;
  let apiToken: string;

  beforeAll(async () => {
    server = await startTestServer({
      env: { SLM_LOGIN_MAX_FAILURES: '1000000', SLM_LOGIN_MAX_FAILURES_PER_ADDRESS: '1000000', SLM_OAUTH_MAX_FAILURES: '1000000', SLM_TRANSPORT_RATE_LIMIT: '1000000' },
    });
    const admin = await server.login();
    const fx = licenseFixtures(server, () => admin);
    await fx.account('FuzzCo');
    apiToken = await fx.accessToken('FuzzCo');
    const token = await server.http().post('/api/v1/accounts/FuzzCo/virtual-accounts/Default/tokens').auth(admin, { type: 'bearer' }).send({ description: 'fuzz', expiresInDays: 1 });
    await server.http().post('/api/v1/users').auth(admin, { type: 'bearer' }).send({ username: 'fuzz-user', password: 'fuzz-password', role: 'operator' });
    known = { account: 'FuzzCo', virtualAccount: 'Default', tokenId: token.body.id, username: 'fuzz-user' };
  });
  afterAll(() => server.close());

  test('When every operation gets hostile input, then no answer is a 5xx, none hangs, and every status is documented', async () => {
    const client = rawClient(server.url, server.ca, DEADLINE_MS);
    const findings: Finding[] = [];
    let requests = 0;
    // FUZZ_ONLY=operationId,... narrows a run while investigating.
    const operations = listOperations().filter((o) => !process.env.FUZZ_ONLY || process.env.FUZZ_ONLY.split(',').includes(o.operationId));
    const statuses = new Map<number, number>();
    const started = Date.now();
    try {
      for (const op of operations) {
        // A fresh session per operation: the fuzzer may log itself out or change its own role.
        const session = (await server.ctx.users.login('admin', ADMIN_PASSWORD, 'fuzzer')).token;
        const auth = { authorization: `Bearer ${op.security.includes('apiAccessToken') ? apiToken : session}` };
        const queue = caseList(op, known, auth);
        requests += queue.length;
        const worker = async () => {
          for (let c = queue.shift(); c; c = queue.shift()) {
            const label = `${c.method} ${c.path.slice(0, 120)} ${String(c.body ?? '').slice(0, 80)}`;
            try {
              const res = await client.send(c);
              statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
              const why = judge(op, res.status, res.body, res.json);
              if (why) findings.push({ op: op.operationId, req: label, status: res.status, why: `${why}: ${res.body.slice(0, 200)}` });
            } catch (err) {
              findings.push({ op: op.operationId, req: label, status: 'HANG', why: (err as Error).message });
            }
          }
        };
        const t0 = Date.now();
        await Promise.all(Array.from({ length: CONCURRENCY }, worker));
        if (process.env.FUZZ_PROGRESS) console.log(`${op.operationId}: ${Date.now() - t0} ms`);
      }
    } finally {
      client.close();
    }
    const seconds = (Date.now() - started) / 1000;
    const fivexx = findings.filter((f) => typeof f.status === 'number' && f.status >= 500).length;
    const hangs = findings.filter((f) => f.status === 'HANG').length;
    console.log(`fuzz: ${requests} requests over ${operations.length} operations in ${seconds.toFixed(1)} s; 5xx: ${fivexx}; hangs: ${hangs}; other findings: ${findings.length - fivexx - hangs}; statuses: ${JSON.stringify(Object.fromEntries([...statuses].sort((a, b) => a[0] - b[0])))}`);
    expect(findings).toEqual([]);
  }, 300_000);
});
