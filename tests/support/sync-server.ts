import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ReferenceUpstream } from '../../src/sync/reference-upstream';
import { startTestServer } from './test-server';
import { callAs } from './tls-client';

/** The server settings that point at a reference upstream: its URL and the CA of its HTTPS certificate. */
export function upstreamEnv(upstream: ReferenceUpstream, url: string): Record<string, string> {
  const caFile = path.join(mkdtempSync(path.join(os.tmpdir(), 'slm-upstream-ca-')), 'ca.pem');
  writeFileSync(caFile, upstream.caCertificatePem);
  return { SLM_UPSTREAM_URL: url, SLM_UPSTREAM_CA: caFile };
}

/**
 * A test server plus helpers that call its admin API as the admin (identity checked against the
 * current Host Common Name); with `upstream`, the admin has installed that upstream's signing key.
 */
export async function syncServer(env: Record<string, string>, upstream?: ReferenceUpstream) {
  const server = await startTestServer({ env: { SLM_SYNC_INTERVAL_SECONDS: '0', ...env } });
  const admin = await server.login();
  const state = { hcn: '127.0.0.1' };
  const api = (method: string, route: string, body?: unknown, token = admin) => callAs(server, state.hcn, method, route, { token, body });
  const must = async (method: string, route: string, body?: unknown) => {
    const res = await api(method, route, body);
    if (res.status >= 300) throw new Error(`${method} ${route}: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  };
  if (upstream) await must('PUT', '/api/v1/sync/upstream-key', { pem: upstream.signingPublicKeyPem });
  const licenseLines = (account: string) =>
    server.ctx.db.license.findMany({ where: { virtualAccount: { account: { name: account } } }, orderBy: [{ source: 'asc' }, { virtualAccount: { name: 'asc' } }, { tag: 'asc' }], select: { tag: true, quantity: true, source: true, virtualAccount: { select: { name: true } } } });
  return { server, admin, state, api, must, licenseLines };
}

