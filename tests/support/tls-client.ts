import https from 'node:https';
import tls from 'node:tls';
import { isIP } from 'node:net';
import type { TestServer } from './test-server';

/**
 * TLS as a product sees it: connect to the server's address but check the certificate against the
 * Host Common Name (SNI for names; IP addresses are checked against the IP SANs).
 */
export function identityOptions(server: TestServer, hostCommonName: string) {
  return {
    host: '127.0.0.1',
    port: server.address.port,
    ca: server.ca,
    servername: isIP(hostCommonName) ? undefined : hostCommonName,
    checkServerIdentity: (_host: string, cert: tls.PeerCertificate) => tls.checkServerIdentity(hostCommonName, cert),
  };
}

/** Opens a new TLS connection, checks the server's identity against `hostCommonName` and returns its certificate. */
export function newConnectionCertificate(server: TestServer, hostCommonName: string): Promise<tls.PeerCertificate> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect(identityOptions(server, hostCommonName));
    socket.once('secureConnect', () => {
      const cert = socket.getPeerCertificate();
      socket.end();
      resolve(cert);
    });
    socket.once('error', reject);
  });
}

export type JsonResponse = { status: number; body: any; reused: boolean; fingerprint: string };

/** One admin API call over a connection whose certificate must match `hostCommonName`. */
export function callAs(
  server: TestServer,
  hostCommonName: string,
  method: string,
  route: string,
  opts: { token?: string; body?: unknown; agent?: https.Agent } = {},
): Promise<JsonResponse> {
  const payload = opts.body === undefined ? undefined : JSON.stringify(opts.body);
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        ...identityOptions(server, hostCommonName),
        method,
        path: route,
        agent: opts.agent ?? false,
        headers: {
          ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
          ...(payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const cert = (req.socket as tls.TLSSocket).getPeerCertificate();
          resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : undefined, reused: req.reusedSocket, fingerprint: cert.fingerprint256 });
        });
      },
    );
    req.once('error', reject);
    if (payload) req.write(payload);
    req.end();
  });
}
