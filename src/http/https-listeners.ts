import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { RequestListener } from 'node:http';
import type { HttpLimits } from '../config/config';

export type TlsMaterial = { key: string; cert: string };

/**
 * Mozilla "intermediate": TLS 1.2 with AEAD-only ECDHE suites (no CBC, no CCM8, no static RSA
 * or DHE), and TLS 1.3 with its default suites; the client's preference decides.
 */
export const TLS_OPTIONS = {
  minVersion: 'TLSv1.2',
  ciphers: [
    'TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256',
    'ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES128-GCM-SHA256', 'ECDHE-ECDSA-AES256-GCM-SHA384',
    'ECDHE-RSA-AES256-GCM-SHA384', 'ECDHE-ECDSA-CHACHA20-POLY1305', 'ECDHE-RSA-CHACHA20-POLY1305',
  ].join(':'),
  ecdhCurve: 'X25519:prime256v1:secp384r1',
  honorCipherOrder: false,
} as const;

/**
 * The HTTPS listeners of one server process (its own address, and in a cluster the VIP),
 * all serving one app with one certificate that can be swapped without a restart:
 * new connections get the new certificate, open ones keep theirs.
 */
export class HttpsListeners {
  private servers = new Map<string, https.Server>();

  constructor(
    private readonly app: RequestListener,
    private tls: TlsMaterial,
    private readonly limits: HttpLimits,
  ) {}

  async listen(host: string, port: number): Promise<AddressInfo> {
    const { headersTimeoutSeconds, requestTimeoutSeconds, keepAliveSeconds, idleTimeoutSeconds, maxConnections } = this.limits;
    const server = https.createServer({
      ...TLS_OPTIONS,
      ...this.tls,
      // A client that opens a connection and never completes the handshake or its request is cut.
      handshakeTimeout: headersTimeoutSeconds * 1000,
      headersTimeout: headersTimeoutSeconds * 1000,
      requestTimeout: requestTimeoutSeconds * 1000,
      keepAliveTimeout: keepAliveSeconds * 1000,
      connectionsCheckingInterval: Math.min(5000, (headersTimeoutSeconds * 1000) / 2),
    }, this.app);
    server.maxConnections = maxConnections;
    // No bytes either way for this long (including a stalled response): the socket is destroyed.
    server.setTimeout(idleTimeoutSeconds * 1000);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const address = server.address() as AddressInfo;
    this.servers.set(`${host}:${address.port}`, server);
    return address;
  }

  setCertificate(tls: TlsMaterial): void {
    this.tls = tls;
    for (const server of this.servers.values()) server.setSecureContext({ ...TLS_OPTIONS, ...tls });
  }

  addresses(): string[] {
    return [...this.servers.keys()];
  }

  /** Stops accepting, lets in-flight requests finish, then cuts what is left after the grace period. */
  async close(key?: string, graceMs = 10_000): Promise<void> {
    const targets = key ? [key] : [...this.servers.keys()];
    await Promise.all(
      targets.map(async (k) => {
        const server = this.servers.get(k);
        if (!server) return;
        this.servers.delete(k);
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        const timer = setTimeout(() => server.closeAllConnections(), graceMs);
        await closed;
        clearTimeout(timer);
      }),
    );
  }
}
