import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { RequestListener } from 'node:http';

export type TlsMaterial = { key: string; cert: string };

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
  ) {}

  async listen(host: string, port: number): Promise<AddressInfo> {
    const server = https.createServer({ ...this.tls }, this.app);
    server.keepAliveTimeout = 65_000;
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
    for (const server of this.servers.values()) server.setSecureContext({ ...tls });
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
