import { startTestServer, ADMIN_PASSWORD, type TestServer } from './support/test-server';
import { transportFixtures } from './transport-helpers';
import { fillPath, listOperations, rawClient, sample, type Known, type Operation, type RawRequest } from './support/openapi-operations';
import type { ProductSimulator } from '../src/products/simulator';

/**
 * Every operation of openapi.yaml (read at test time) × six callers. Expectations:
 *   OK   authorization passed: any answer but 401/403 (and never 5xx); the handler's own 4xx are fine
 *   401  refused as unauthenticated     403  refused as not allowed
 *   DENY refused (401 or 403)           BAD  refused as a bad message (any 4xx: the transport's JWS is the credential)
 *   ANY  public operation whose credentials are in the body (any answer but 5xx)
 * Operations missing from the table get the expectation their security schemes and method imply
 * (session: GET for operators, the rest for admins; apiAccessToken: the account's own clients;
 * public with a body: credentials in the body, ANY).
 */
const CALLERS = ['none', 'operator', 'admin', 'clientOwn', 'clientOther', 'product'] as const;
type Caller = (typeof CALLERS)[number];
type Expect = 'OK' | 200 | 401 | 403 | 'DENY' | 'BAD' | 'ANY';
const OPERATOR: Expect[] = [401, 'OK', 'OK', 401, 401, 401];
const ADMIN: Expect[] = [401, 403, 'OK', 401, 401, 401];
// API Toolkit paths (docs/api-toolkit.md): a session there is 403 CREDENTIALS_NOT_ACCEPTED.
const TOOLKIT: Expect[] = [401, 403, 403, 'OK', 403, 401];
// Operations shared by sessions and API clients: another account's client 403 ACCOUNT_FORBIDDEN; the
// matrix's own client has the default read permission, so a change is 403 API_CLIENT_PERMISSION_DENIED.
const CLIENT_READ: Expect[] = [401, 'OK', 'OK', 'OK', 403, 401];
const CLIENT_MANAGE: Expect[] = [401, 403, 'OK', 403, 403, 401];
const PUBLIC: Expect[] = ['OK', 'OK', 'OK', 'OK', 'OK', 'OK'];
const TRANSPORT: Expect[] = ['BAD', 'BAD', 'BAD', 'BAD', 'BAD', 200];

//                                   none  operator admin clientOwn clientOther product
const TABLE: Record<string, Expect[]> = {
  health: PUBLIC,
  login: ['ANY', 'ANY', 'ANY', 'ANY', 'ANY', 'ANY'],
  logout: PUBLIC,
  getSession: OPERATOR,
  changeOwnPassword: OPERATOR,
  listUsers: ADMIN,
  createUser: ADMIN,
  setUserRole: ADMIN,
  deleteUser: ADMIN,
  resetUserPassword: ADMIN,
  listEvents: OPERATOR,
  listAccounts: OPERATOR,
  requestAccount: ADMIN,
  getAccount: OPERATOR,
  approveAccount: ADMIN,
  deactivateAccount: ADMIN,
  listVirtualAccounts: CLIENT_READ,
  createVirtualAccount: CLIENT_MANAGE,
  listRegistrationTokens: CLIENT_READ,
  createRegistrationToken: CLIENT_MANAGE,
  revokeRegistrationToken: CLIENT_MANAGE,
  listApiClients: OPERATOR,
  createApiClient: ADMIN,
  deleteApiClient: ADMIN,
  rotateApiClientSecret: ADMIN,
  oauthToken: ['ANY', 'ANY', 'ANY', 'ANY', 'ANY', 'ANY'],
  listAccountLicenses: OPERATOR,
  toolkitLicenses: TOOLKIT,
  toolkitAlerts: TOOLKIT,
  importEntitlements: ADMIN,
  getHostCommonName: OPERATOR,
  setHostCommonName: ADMIN,
  transportDeviceRequestHandler: TRANSPORT,
  smartTransport: TRANSPORT,
  listProductInstances: CLIENT_READ,
  getProductInstance: OPERATOR,
  removeProductInstance: ADMIN,
  getHaRole: PUBLIC,
  getHaStatus: OPERATOR,
  getSystemInfo: OPERATOR,
  runSync: ADMIN,
  getSyncStatus: OPERATOR,
  createSyncRequestFile: ADMIN,
  importSyncResponseFile: ADMIN,
  installUpstreamKey: ADMIN,
  getBackup: ADMIN,
};

/** Changes that would take the fixtures away from later operations (rotating or deleting the client revokes its token) run after everything else. */
const RUN_LAST = new Set(['deactivateAccount', 'setHostCommonName', 'removeProductInstance', 'deleteUser', 'rotateApiClientSecret', 'deleteApiClient']);

function derived(op: Operation): Expect[] {
  if (op.security.length === 0) return op.body ? ['ANY', 'ANY', 'ANY', 'ANY', 'ANY', 'ANY'] : PUBLIC;
  const session = op.security.includes('session');
  const client = op.security.includes('apiAccessToken');
  return [401, session ? (op.method === 'GET' ? 'OK' : 403) : 401, session ? 'OK' : 401, client ? 'OK' : 401, client ? 'DENY' : 401, 401];
}

function matches(expected: Expect, status: number): boolean {
  if (status >= 500 || status === 0) return false;
  switch (expected) {
    case 'OK': return status !== 401 && status !== 403;
    case 'DENY': return status === 401 || status === 403;
    case 'BAD': return status >= 400;
    case 'ANY': return true;
    default: return status === expected;
  }
}

const order = (op: Operation) => (RUN_LAST.has(op.operationId) ? 4 : ({ GET: 0, POST: 1, PUT: 2, PATCH: 2, DELETE: 3 } as Record<string, number>)[op.method] ?? 1);

describe('Authorization matrix: every operation × {none, operator, admin, API client of the account, of another account, product} (issue 9)', () => {
  let server: TestServer;
  let admin: string;
  let tokens: { clientOwn: string; clientOther: string };
  let product: ProductSimulator;
  let known: Known;

  beforeAll(async () => {
    server = await startTestServer({ env: { SLM_LOGIN_MAX_FAILURES: '100000', SLM_LOGIN_MAX_FAILURES_PER_ADDRESS: '100000', SLM_OAUTH_MAX_FAILURES: '100000' } });
    admin = await server.login();
    const fx = transportFixtures(server, () => admin);
    await fx.account('MatrixCo');
    await fx.account('OtherCo');
    tokens = { clientOwn: await fx.accessToken('MatrixCo', 'own'), clientOther: await fx.accessToken('OtherCo', 'other') };
    const token = await fx.token('MatrixCo');
    product = fx.product();
    await product.register(token.token);
    // The operator shares the admin's password so that "change own password" passes its check for both.
    await server.http().post('/api/v1/users').auth(admin, { type: 'bearer' }).send({ username: 'matrix-operator', password: ADMIN_PASSWORD, role: 'operator' });
    await server.http().post('/api/v1/users').auth(admin, { type: 'bearer' }).send({ username: 'matrix-victim', password: 'victim-password', role: 'operator' });
    const clients = await server.http().get('/api/v1/accounts/MatrixCo/api-clients').auth(admin, { type: 'bearer' });
    known = {
      account: 'MatrixCo', virtualAccount: 'Default', tokenId: token.id, id: product.instanceId!, username: 'matrix-victim',
      clientId: clients.body.apiClients?.[0]?.clientId ?? 'none', currentPassword: ADMIN_PASSWORD, newPassword: ADMIN_PASSWORD,
    };
  });
  afterAll(() => server.close());

  test('When each caller calls each operation, then the answer is the one the table expects', async () => {
    const client = rawClient(server.url, server.ca, 15_000);
    const mismatches: string[] = [];
    const notInTable: string[] = [];
    const rows: string[] = [];
    const operations = listOperations().sort((a, b) => order(a) - order(b));
    try {
      for (const op of operations) {
        if (!TABLE[op.operationId]) notInTable.push(op.operationId);
        const expected = TABLE[op.operationId] ?? derived(op);
        const transport = expected === TRANSPORT;
        // Fresh sessions per operation: logout and password changes end the caller's sessions.
        const sessions = {
          operator: (await server.ctx.users.login('matrix-operator', ADMIN_PASSWORD, 'matrix')).token,
          admin: (await server.ctx.users.login('admin', ADMIN_PASSWORD, 'matrix')).token,
        };
        const observed: number[] = [];
        rows.push(`${op.operationId.padEnd(30)} ${observed.join(' ')}`);
        for (const [i, caller] of CALLERS.entries()) {
          const credential: Record<Caller, string | undefined> = {
            none: undefined, operator: sessions.operator, admin: sessions.admin, clientOwn: tokens.clientOwn, clientOther: tokens.clientOther,
            product: product.authorizeMessage([]),
          };
          const pathValues = Object.fromEntries(op.parameters.filter((p) => p.in === 'path').map((p) => [p.name, String(sample(p.schema, p.name, known))]));
          const query = op.parameters.filter((p) => p.in === 'query' && p.required).map((p) => `${p.name}=${encodeURIComponent(String(sample(p.schema, p.name, known)))}`);
          let body = op.body ? sample(op.body.schema, '', known) : undefined;
          // On the transport paths the signed message is the credential; others send what they hold.
          if (transport) body = { message: credential[caller] ?? 'none' };
          const bearer = !transport && credential[caller] ? { authorization: `Bearer ${credential[caller]}` } : {};
          const req: RawRequest = {
            method: op.method,
            path: fillPath(op.path, pathValues) + (query.length ? `?${query.join('&')}` : ''),
            headers: { ...bearer, ...(body !== undefined ? { 'content-type': op.body!.contentType } : {}) },
            body: body === undefined ? undefined : op.body!.contentType.includes('form') ? new URLSearchParams(body as Record<string, string>).toString() : JSON.stringify(body),
          };
          const res = await client.send(req);
          observed.push(res.status);
          if (!matches(expected[i], res.status)) mismatches.push(`${op.operationId} × ${caller}: expected ${expected[i]}, got ${res.status} ${res.body.slice(0, 160)}`);
        }
        rows[rows.length - 1] = `${op.operationId.padEnd(30)} ${observed.join(' ')}`;
      }
    } finally {
      client.close();
    }
    console.log(`authorization matrix (${CALLERS.join(' ')}):\n${rows.join('\n')}`);
    if (notInTable.length) console.log(`authorization matrix: not in the table (expectation derived from openapi.yaml): ${notInTable.join(', ')}`);
    expect(mismatches).toEqual([]);
  }, 240_000);
});
