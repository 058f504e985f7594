import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { startTestServer, type TestServer } from './support/test-server';
import { TRANSPORT_PATH, transportFixtures } from './transport-helpers';
import { exportKey } from '../src/server';
import { ProductSimulator } from '../src/products/simulator';
import { ResponseVerificationError } from '../src/transport/jws';

type Behaviour = 'reset' | 'drop-response' | '503' | 'tamper' | 'pass';

/**
 * A front in place of a cluster VIP, with the server's own TLS certificate: it misbehaves as
 * scripted (one behaviour per request, then passes) and records every request body.
 */
async function flakyFront(server: TestServer, script: Behaviour[]) {
  const tls = await server.ctx.pki.tlsCredential('127.0.0.1');
  const bodies: string[] = [];
  const front = https.createServer({ key: exportKey(tls.key), cert: tls.certPem }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      bodies.push(body);
      const behaviour = script.shift() ?? 'pass';
      if (behaviour === 'reset') return req.socket.destroy();
      if (behaviour === '503') {
        res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '1' });
        return res.end(JSON.stringify({ error: { code: 'NOT_ACTIVE_NODE', message: 'standby' } }));
      }
      const upstream = https.request(`${server.url}${req.url}`, { method: 'POST', ca: server.ca, headers: { 'content-type': 'application/json' } }, (up) => {
        const out: Buffer[] = [];
        up.on('data', (c: Buffer) => out.push(c));
        up.on('end', () => {
          if (behaviour === 'drop-response') return req.socket.destroy();
          let text = Buffer.concat(out).toString();
          if (behaviour === 'tamper') {
            const json = JSON.parse(text);
            const [h, p, s] = (json.response as string).split('.');
            const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
            text = JSON.stringify({ response: `${h}.${Buffer.from(JSON.stringify({ ...claims, overall: 'AUTHORIZED', entitlements: [] })).toString('base64url')}.${s}` });
          }
          res.writeHead(up.statusCode ?? 500, { 'content-type': 'application/json' });
          res.end(text);
        });
      });
      upstream.end(body);
    });
  });
  await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
  const url = `https://127.0.0.1:${(front.address() as AddressInfo).port}${TRANSPORT_PATH}`;
  return { url, bodies, close: () => new Promise<void>((resolve) => front.close(() => resolve())) };
}

describe('Product simulator', () => {
  let server: TestServer;
  let admin: string;
  let fx: ReturnType<typeof transportFixtures>;
  const TAG = 'regid.sim.TAG';
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'slm-sim-'));

  beforeAll(async () => {
    server = await startTestServer();
    admin = await server.login();
    fx = transportFixtures(server, () => admin);
    await fx.account('Acme');
    await fx.importLicenses([fx.licenseLine('Acme', TAG, 100)]);
  });
  afterAll(async () => {
    await server.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  test('When the connection resets and the answer is lost, then the same register message is resent and applied once', async () => {
    const token = await fx.token('Acme', { maxUses: 5 });
    const front = await flakyFront(server, ['reset', 'drop-response']);
    try {
      const sim = fx.product({ url: front.url });
      sim.retry = { attempts: 4, baseDelayMs: 20, maxDelayMs: 50, timeoutMs: 5_000 };
      const claims = await sim.register(token.token);
      expect(claims.status).toBe('REGISTERED');
      expect(sim.lastAttempts).toBe(3);
      expect(new Set(front.bodies).size).toBe(1);
      expect(front.bodies).toHaveLength(3);
      const row = await server.ctx.db.registrationToken.findUniqueOrThrow({ where: { id: token.id } });
      expect(row.uses).toBe(1);
    } finally {
      await front.close();
    }
  });

  test('When the front answers 503 with Retry-After, then the simulator waits and resends the same message', async () => {
    const sim = fx.product();
    await sim.register((await fx.token('Acme')).token);
    const front = await flakyFront(server, ['503', '503']);
    try {
      sim.state.url = front.url;
      sim.retry = { attempts: 3, baseDelayMs: 10, maxDelayMs: 10, timeoutMs: 5_000 };
      const started = Date.now();
      const answer = await sim.authorize([{ tag: TAG, count: 1 }]);
      expect(answer.overall).toBe('AUTHORIZED');
      expect(Date.now() - started).toBeGreaterThanOrEqual(1900);
      expect(front.bodies).toHaveLength(3);
      expect(new Set(front.bodies).size).toBe(1);
    } finally {
      await front.close();
    }
  });

  test('When retries run out, then the last error is reported', async () => {
    const sim = fx.product();
    await sim.register((await fx.token('Acme')).token);
    const front = await flakyFront(server, ['503', '503', '503']);
    try {
      sim.state.url = front.url;
      sim.retry = { attempts: 2, baseDelayMs: 10, maxDelayMs: 10, timeoutMs: 5_000 };
      await expect(sim.authorize([])).rejects.toMatchObject({ code: 'NOT_ACTIVE_NODE', status: 503, retryAfterSeconds: 1 });
    } finally {
      await front.close();
    }
  });

  test('When an answer is altered on the way, then the simulator rejects it as unverifiable', async () => {
    const sim = fx.product();
    await sim.register((await fx.token('Acme')).token);
    const front = await flakyFront(server, ['tamper']);
    try {
      sim.state.url = front.url;
      await expect(sim.authorize([{ tag: TAG, count: 50 }])).rejects.toBeInstanceOf(ResponseVerificationError);
    } finally {
      await front.close();
    }
  });

  describe('slm product commands', () => {
    let printed: string[];
    const state = path.join(tmp, 'cli-product');
    const slm = async (...args: string[]) => {
      printed = [];
      const { program } = await import('../src/cli/index');
      await program.parseAsync(['node', 'slm', 'product', ...args, '--state', state]);
      return printed.join('\n');
    };
    beforeEach(() => {
      jest.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void printed.push(a.join(' ')));
      jest.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void printed.push(a.join(' ')));
      jest.spyOn(process, 'exit').mockImplementation(((code: number) => {
        throw new Error(`exit ${code}`);
      }) as never);
    });
    afterEach(() => jest.restoreAllMocks());

    test('When an admin drives a product from the command line, then register, report, status, renew and deregister work and state persists', async () => {
      const { token } = await fx.token('Acme');
      const caFile = path.join(server.dataDir, 'certs', 'ca.pem');
      const registered = JSON.parse(await slm('register', '--url', `${server.url}${TRANSPORT_PATH}`, '--token', token, '--pid', 'CLI', '--sn', 'CLI-1',
        '--hostname', 'cli-box', '--product-type', 'SDNMGMT', '--rsa', '--ca', caFile));
      expect(registered).toMatchObject({ status: 'REGISTERED', productInstance: { name: 'cli-box', udi: { pid: 'CLI', sn: 'CLI-1' } } });
      expect(statSync(path.join(state, 'state.json')).mode & 0o777).toBe(0o600);
      expect(ProductSimulator.load(state).state.keyType).toBe('rsa');

      const report = JSON.parse(await slm('report', '--entitlement', `${TAG}=2`, '--entitlement', 'regid.sim.OTHER=0'));
      expect(report).toMatchObject({ overall: 'AUTHORIZED', entitlements: [{ tag: TAG, count: 2, status: 'AUTHORIZED' }, { tag: 'regid.sim.OTHER', status: 'INVALID_TAG' }] });

      const status = JSON.parse(await slm('status'));
      expect(status).toMatchObject({ instanceId: registered.productInstance.id, status: 'REGISTERED', keyType: 'rsa', lastAuthorization: { overall: 'AUTHORIZED' } });

      const keyBefore = ProductSimulator.load(state).state.privateKeyPem;
      await slm('renew', '--new-key');
      expect(ProductSimulator.load(state).state.privateKeyPem).not.toBe(keyBefore);
      expect(JSON.parse(await slm('report'))).toMatchObject({ overall: 'AUTHORIZED', entitlements: [] });

      expect(JSON.parse(await slm('deregister'))).toMatchObject({ status: 'DEREGISTERED' });
      await expect(slm('report', '--entitlement', `${TAG}=1`)).rejects.toThrow('exit 1');
      expect(printed.join('\n')).toMatch(/^PRODUCT_INSTANCE_DEREGISTERED: /);
    });

    test('When a report is malformed or there is no state, then the command fails with a clear message', async () => {
      await expect(slm('report', '--entitlement', 'no-count')).rejects.toThrow();
      rmSync(state, { recursive: true, force: true });
      expect(existsSync(state)).toBe(false);
      await expect(slm('status')).rejects.toThrow('exit 1');
      expect(printed.join('\n')).toMatch(/no product state/);
      expect(readFileSync(path.join(server.dataDir, 'certs', 'ca.pem'), 'utf8')).toBe(server.ca);
    });
  });
});
