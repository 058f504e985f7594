import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { generateKeyPairSync } from 'node:crypto';
import pino from 'pino';
import { JwtService } from '../auth/jwt-service';
import type { AppContext } from '../app-context';
import { StandaloneHa } from '../ha/ha-view';
import { createStandbyApp } from '../ha/standby-app';
import { metricsRoutes } from './metrics-routes';
import { ServerMetrics } from './metrics';
import { unreadableSources } from '../../tests/support/unreadable-metric-sources';

class Standby extends StandaloneHa {
  role() {
    return 'Standby' as const;
  }
  vipAddress() {
    return '192.0.2.10';
  }
}

async function get(app: http.RequestListener, path: string): Promise<{ status: number; text: string }> {
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  try {
    const { port } = server.address() as AddressInfo;
    return await new Promise((resolve, reject) => {
      http.get({ host: '127.0.0.1', port, path }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode!, text: Buffer.concat(chunks).toString('utf8') }));
      }).on('error', reject);
    });
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
}

test('When a Standby is scraped from loopback, then /metrics answers with its role instead of NOT_ACTIVE_NODE', async () => {
  const ha = new Standby('/tmp');
  const metrics = new ServerMetrics(unreadableSources({ ha }));
  const ctx = { config: { metricsAccess: 'loopback' }, metrics } as unknown as AppContext;
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const app = createStandbyApp({ jwt: new JwtService(privateKey, publicKey), ha, logger: pino({ level: 'silent' }), validateResponses: true, metrics: metricsRoutes(ctx) });
  const scraped = await get(app, '/metrics');
  expect(scraped.status).toBe(200);
  expect(scraped.text).toContain('slm_ha_role{role="standby"} 1');
  expect((await get(app, '/api/v1/accounts')).status).toBe(503);
});
