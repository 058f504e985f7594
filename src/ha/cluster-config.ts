import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { z } from 'zod';
import { AppError } from '../errors';
import type { FailoverProfile } from './engine';

export const VIP_DRIVERS = ['bind', 'iproute2', 'none'] as const;
export type VipDriverName = (typeof VIP_DRIVERS)[number];
export const PRIMARY_NODE = 'primary-node';
export const SECONDARY_NODE = 'secondary-node';

const nodeSchema = z.object({
  name: z.enum([PRIMARY_NODE, SECONDARY_NODE]),
  publicAddress: z.string().min(1),
  clusterAddress: z.string().min(1),
});

const clusterSchema = z.object({
  version: z.literal(1),
  localNode: z.enum([PRIMARY_NODE, SECONDARY_NODE]),
  nodes: z.array(nodeSchema).length(2),
  vip: z.object({
    address: z.string().min(1),
    driver: z.enum(VIP_DRIVERS),
    interface: z.string().optional(),
    prefixLength: z.number().int().optional(),
  }),
  /** HTTPS port of both servers, on their public addresses and on the VIP. */
  serverPort: z.number().int(),
  heartbeatPort: z.number().int(),
  monitor: z.object({ uri: z.string(), localPgdata: z.string().optional() }),
  /** This node's PostgreSQL under pg_auto_failover, and how the server reaches it. */
  pg: z.object({ pgdata: z.string(), host: z.string(), port: z.number().int(), database: z.string() }),
  failoverProfile: z.enum(['default', 'fast', 'aggressive']),
  services: z.enum(['running', 'stopped']),
});

export type ClusterConfig = z.infer<typeof clusterSchema> & { failoverProfile: FailoverProfile };
/** What the primary hands to the secondary at provisioning: everything but the node-local parts. */
export type ClusterDescription = Omit<ClusterConfig, 'localNode' | 'pg' | 'services' | 'monitor'> & { monitorUri: string; database: string };

const keysSchema = z.object({
  version: z.literal(1),
  /** HMAC key of the node-to-node heartbeat and provisioning messages. */
  clusterKey: z.string().regex(/^[A-Za-z0-9+/]{43}=$/),
  /** The key-encryption key of the stored private keys: both nodes must hold the same one. */
  kek: z.string().regex(/^[A-Za-z0-9+/]{43}=$/),
  createdAt: z.string(),
});
export type ClusterKeys = z.infer<typeof keysSchema>;

/** The HA files of one node, all under `<data dir>/ha/`. */
export class HaFiles {
  readonly dir: string;
  constructor(readonly dataDir: string) {
    this.dir = path.join(dataDir, 'ha');
  }
  get clusterFile() {
    return path.join(this.dir, 'cluster.json');
  }
  get keysFile() {
    return path.join(this.dir, 'cluster-keys.json');
  }
  get engineRoot() {
    return path.join(this.dir, 'engine');
  }
  get localMonitorPgdata() {
    return path.join(this.dir, 'monitor', 'pgdata');
  }

  readCluster(): ClusterConfig | undefined {
    if (!existsSync(this.clusterFile)) return undefined;
    const parsed = clusterSchema.safeParse(JSON.parse(readFileSync(this.clusterFile, 'utf8')));
    if (!parsed.success) throw new AppError('HA_CONFIG_INVALID', 500, `${this.clusterFile}: ${parsed.error.message}`);
    return parsed.data;
  }

  writeCluster(config: ClusterConfig): void {
    this.writeJson(this.clusterFile, clusterSchema.parse(config));
  }

  /** Keeps the old file beside for the record; the node is stand-alone from now on. */
  retireCluster(stamp: string): void {
    renameSync(this.clusterFile, `${this.clusterFile}.torn-down-${stamp}`);
  }

  readKeys(): ClusterKeys | undefined {
    if (!existsSync(this.keysFile)) return undefined;
    const parsed = keysSchema.safeParse(JSON.parse(readFileSync(this.keysFile, 'utf8')));
    if (!parsed.success) throw new AppError('HA_KEYS_INVALID', 400, `${this.keysFile} is not a cluster key file`);
    return parsed.data;
  }

  requireKeys(): ClusterKeys {
    const keys = this.readKeys();
    if (!keys) throw new AppError('HA_KEYS_MISSING', 409, `no cluster keys in ${this.keysFile}: run ha_generatekeys on the primary and import the file on the secondary`);
    return keys;
  }

  writeKeys(keys: ClusterKeys): void {
    this.writeJson(this.keysFile, keysSchema.parse(keys));
  }

  parseKeys(text: string): ClusterKeys {
    try {
      return keysSchema.parse(JSON.parse(text));
    } catch {
      throw new AppError('HA_KEYS_INVALID', 400, 'the file is not a cluster key file from ha_generatekeys');
    }
  }

  private writeJson(file: string, value: unknown): void {
    // Others may traverse (not list) it: the engine's folders below belong to the postgres user.
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o711 });
    const tmp = `${file}.tmp`;
    writeFileSync(tmp, JSON.stringify(value, null, 2) + '\n', { mode: 0o600 });
    renameSync(tmp, file);
  }
}

export const newClusterKey = () => randomBytes(32).toString('base64');

export function describeCluster(c: ClusterConfig): ClusterDescription {
  return {
    version: 1, nodes: c.nodes, vip: c.vip, serverPort: c.serverPort, heartbeatPort: c.heartbeatPort,
    failoverProfile: c.failoverProfile, monitorUri: c.monitor.uri, database: c.pg.database,
  };
}

export const peerOf = (c: Pick<ClusterConfig, 'nodes' | 'localNode'>) => c.nodes.find((n) => n.name !== c.localNode)!;
export const localOf = (c: Pick<ClusterConfig, 'nodes' | 'localNode'>) => c.nodes.find((n) => n.name === c.localNode)!;
