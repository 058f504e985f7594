import { randomUUID } from 'node:crypto';
import type { TestServer } from './support/test-server';
import { licenseFixtures, licenseLine } from './support/license-fixtures';
import { ProductSimulator, type SimulatorOptions } from '../src/products/simulator';

export const TRANSPORT_PATH = '/Transportgateway/services/DeviceRequestHandler';

/** Accounts, tokens, licenses and simulated products on a test server, all through the real APIs. */
export function transportFixtures(server: TestServer, adminToken: () => string) {
  const fx = licenseFixtures(server, adminToken);
  return {
    ...fx,
    licenseLine,
    async token(account: string, body: Record<string, unknown> = {}, virtualAccount = 'Default'): Promise<{ id: string; token: string }> {
      const res = await server.http()
        .post(`/api/v1/accounts/${encodeURIComponent(account)}/virtual-accounts/${encodeURIComponent(virtualAccount)}/tokens`)
        .auth(adminToken(), { type: 'bearer' })
        .send({ description: 'products', expiresInDays: 30, maxUses: 100, ...body });
      if (res.status !== 201) throw new Error(`token create failed: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body;
    },
    product(opts: Partial<SimulatorOptions> = {}): ProductSimulator {
      const sim = ProductSimulator.create({
        url: `${server.url}${TRANSPORT_PATH}`,
        udi: { pid: 'C9300-24T', sn: `FOC${randomUUID().slice(0, 8)}` },
        hostname: 'router-1',
        productType: 'UCL',
        trustedCa: server.ca,
        ...opts,
      });
      sim.retry = { attempts: 1, baseDelayMs: 10, maxDelayMs: 10, timeoutMs: 10_000 };
      return sim;
    },
  };
}

/** Sends a raw message body and returns status and JSON, bypassing any client logic. */
export async function postMessage(server: TestServer, message: unknown, path = TRANSPORT_PATH) {
  const res = await server.http().post(path).send({ message });
  return { status: res.status, body: res.body, headers: res.headers };
}
