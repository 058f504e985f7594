import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { generateKeyPairSync } from 'node:crypto';
import pino from 'pino';
import { JwtService } from '../auth/jwt-service';
import { SessionService } from '../auth/session-service';
import type { Db } from '../store/database';
import { StandaloneHa } from './ha-view';
import { createStandbyApp, NOT_ACTIVE_RETRY_AFTER_SECONDS } from './standby-app';

/** A Standby whose VIP is `vip`; the test server listens on 127.0.0.1, so vip 127.0.0.1 means "reached through the VIP". */
class StandbyWithVip extends StandaloneHa {
  constructor(private readonly vip: string) {
    super('/tmp');
  }
  vipAddress() {
    return this.vip;
  }
}

async function postTransport(vip: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: { error: { code: string } } }> {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const app = createStandbyApp({ sessions: new SessionService({} as Db, new JwtService(privateKey, publicKey), () => new Date(), 3600), ha: new StandbyWithVip(vip), logger: pino({ level: 'silent' }), validateResponses: true });
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  // A kept-alive connection, as products use: only the VIP case should close it.
  const agent = new http.Agent({ keepAlive: true });
  try {
    const { port } = server.address() as AddressInfo;
    return await new Promise((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/Transportgateway/services/DeviceRequestHandler', headers: { 'content-type': 'application/json' }, agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) }));
      });
      req.on('error', reject);
      req.end('{"message":"x"}');
    });
  } finally {
    agent.destroy();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

describe('Standby app: NOT_ACTIVE_NODE retry hint', () => {
  test('When a product reaches the Standby on its own address, then it gets 503 NOT_ACTIVE_NODE with Retry-After: 1', async () => {
    const r = await postTransport('127.0.0.14');
    expect(r.status).toBe(503);
    expect(r.body.error.code).toBe('NOT_ACTIVE_NODE');
    expect(r.headers['retry-after']).toBe(String(NOT_ACTIVE_RETRY_AFTER_SECONDS));
    expect(r.headers.connection).not.toBe('close');
  });

  test('When a product still reaches the node through the VIP it just let go, then it is told to reconnect at once (Retry-After: 0, connection closed)', async () => {
    const r = await postTransport('127.0.0.1');
    expect(r.status).toBe(503);
    expect(r.body.error.code).toBe('NOT_ACTIVE_NODE');
    expect(r.headers['retry-after']).toBe('0');
    expect(r.headers.connection).toBe('close');
  });
});
