import http from 'node:http';
import type { ProbeResult } from '../../src/ha/supervisor';

/** The supervisor's probe against a plain-HTTP stand-in server on loopback that answers `{ role }`. */
export function httpRoleProbe(port: number) {
  return (timeoutMs: number) =>
    new Promise<ProbeResult>((resolve) => {
      const req = http.get({ host: '127.0.0.1', port, path: '/ha/role', timeout: timeoutMs, agent: false }, (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve(JSON.parse(body).role));
      });
      req.on('timeout', () => req.destroy());
      req.on('error', () => resolve(undefined));
    });
}
