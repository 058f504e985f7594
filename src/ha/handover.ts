import https from 'node:https';
import type { Logger } from 'pino';
import { peerOf, type ClusterConfig, type HaFiles } from './cluster-config';
import { ACTIVE_GOAL_STATES, switchoverReady } from './cluster-state';
import { PgAutoctl } from './engine';
import { MonitorClient } from './monitor';
import type { ProbeResult, ServiceGuard } from './supervisor';
import { removeAddress } from './vip';

const ROLES = new Set(['active', 'standby', 'standalone']);

/**
 * GET /ha/role through the server's whole HTTPS stack (TLS, express, the OpenAPI validator, the
 * HA routes): any well-formed answer, 200 or 503, means the process serves. It runs on the node's
 * own address and sends nothing secret, so the certificate (which names the VIP) is not checked.
 */
export function probeRole(host: string, port: number, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const req = https.get({ host, port, path: '/ha/role', rejectUnauthorized: false, agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c.length + body.length < 4096 ? c : ''));
      res.on('end', () => {
        try {
          const role = (JSON.parse(body) as { role?: unknown }).role;
          resolve(typeof role === 'string' && ROLES.has(role) ? (role as ProbeResult) : undefined);
        } catch {
          resolve(undefined);
        }
      });
      res.on('error', () => resolve(undefined));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(undefined));
  });
}

/**
 * What the supervisor of a cluster node may do about the cluster: ask the monitor whether this
 * node should be serving, drop the VIP address, and hand the primary role to a healthy peer with
 * `pg_autoctl perform switchover` (the monitor orchestrates it; nothing here promotes anything).
 */
export class ClusterGuard implements ServiceGuard {
  private monitor?: MonitorClient;

  constructor(private readonly files: HaFiles, private readonly logger: Logger, private readonly probeTimeoutMs = 1000) {}

  private cluster(): ClusterConfig | undefined {
    const config = this.files.readCluster();
    return config?.services === 'running' ? config : undefined;
  }

  private client(uri: string): MonitorClient {
    if (this.monitor?.uri !== uri) {
      void this.monitor?.close();
      this.monitor = new MonitorClient(uri);
    }
    return this.monitor;
  }

  async assignedPrimary(): Promise<boolean | undefined> {
    const config = this.cluster();
    if (!config) return false;
    const nodes = await this.client(config.monitor.uri).nodes().catch(() => undefined);
    if (!nodes) return undefined;
    const me = nodes.find((n) => n.name === config.localNode);
    return me !== undefined && ACTIVE_GOAL_STATES.has(me.goalState);
  }

  async releaseVip(): Promise<void> {
    const vip = this.files.readCluster()?.vip;
    if (vip?.driver === 'iproute2') await removeAddress(vip.address, vip.prefixLength ?? 32, vip.interface ?? 'eth0');
  }

  async handOver(reason: string): Promise<string | undefined> {
    const config = this.cluster();
    if (!config) return 'the cluster services are not running on this node';
    const nodes = await this.client(config.monitor.uri).nodes().catch(() => undefined);
    if (!nodes) return 'the monitor does not answer';
    const me = nodes.find((n) => n.name === config.localNode);
    const peer = nodes.find((n) => n.name !== config.localNode);
    if (!me || !ACTIVE_GOAL_STATES.has(me.goalState)) return undefined;
    if (!switchoverReady(me, peer)) {
      return `not ready for a switchover (${me.name} is ${me.reportedState} -> ${me.goalState}, ${peer ? `${peer.name} is ${peer.reportedState} -> ${peer.goalState}${peer.healthy ? '' : ', unhealthy'}` : 'no peer registered'})`;
    }
    const peerServer = await probeRole(peerOf(config).publicAddress, config.serverPort, this.probeTimeoutMs);
    if (!peerServer) return `the peer's server does not answer on ${peerOf(config).publicAddress}:${config.serverPort}`;
    this.logger.warn({ peer: peer!.name, reason }, 'supervisor: pg_autoctl perform switchover');
    const t0 = Date.now();
    try {
      await new PgAutoctl(this.files.engineRoot).switchover(config.pg.pgdata);
    } catch (err) {
      return (err as Error).message.split('\n').slice(-1)[0];
    }
    this.logger.warn({ peer: peer!.name, ms: Date.now() - t0 }, 'supervisor: switchover done');
    return undefined;
  }

  async close(): Promise<void> {
    await this.monitor?.close();
  }
}
