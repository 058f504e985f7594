import { Client, type Notification } from 'pg';

/** One row of `pgautofailover.node`, as the monitor sees the node. */
export type MonitorNode = {
  nodeId: number;
  name: string;
  host: string;
  port: number;
  goalState: string;
  reportedState: string;
  pgIsRunning: boolean;
  replicationState: string | null;
  healthy: boolean;
  reportTime: Date | null;
};

export type MonitorEvent = { at: Date; nodeName: string; reportedState: string; goalState: string; description: string };

const NODE_SQL = `SELECT nodeid, nodename, nodehost, nodeport, goalstate::text, reportedstate::text, reportedpgisrunning,
  reportedrepstate::text, health, reporttime FROM pgautofailover.node WHERE formationid = 'default' ORDER BY nodeid`;

/**
 * `sslmode` as libpq reads it. node-postgres on its own treats require and verify-ca as
 * verify-full (a monitor made with --ssl-self-signed was refused), so stricter modes get its libpq
 * compatibility switch: require = encrypted, not verified (verified against `sslrootcert` when one
 * is given), verify-ca = chain checked against `sslrootcert`, verify-full = chain and host name.
 * prefer/allow (what pg_autoctl prints by default) cannot fall back from TLS to plain in
 * node-postgres, so they connect plain, as libpq does with a server that has no TLS.
 */
export function nodePgUri(uri: string): string {
  const url = new URL(uri);
  const mode = url.searchParams.get('sslmode') ?? '';
  if (['prefer', 'allow', 'disable'].includes(mode)) url.searchParams.delete('sslmode');
  if (['require', 'verify-ca', 'verify-full'].includes(mode)) url.searchParams.set('uselibpqcompat', 'true');
  return url.toString();
}

/** A monitor URI our client and libpq (the keeper) read the same way, or the reason why not. */
export function monitorUriProblem(uri: string): string | undefined {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return 'not a URI';
  }
  if (!['postgres:', 'postgresql:'].includes(url.protocol)) return 'must start with postgres:// or postgresql://';
  const mode = url.searchParams.get('sslmode');
  if (mode !== null && !['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'].includes(mode)) return `sslmode=${mode} is not a libpq sslmode`;
  if (mode === 'verify-ca' && !url.searchParams.get('sslrootcert')) return 'sslmode=verify-ca needs sslrootcert=<CA file> (readable by the postgres user too)';
  return undefined;
}

/**
 * Errors that waiting cannot fix (TLS refused or unverifiable, authentication, no such database,
 * unknown host): reported at once instead of after the whole wait.
 */
export function permanentConnectError(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  if (e.code && ['ENOTFOUND', 'EAI_AGAIN', '28000', '28P01', '3D000'].includes(e.code)) return true;
  if (e.code && /^(ERR_TLS|DEPTH_ZERO|SELF_SIGNED|UNABLE_TO|CERT_)/.test(e.code)) return true;
  return /certificate|does not support SSL|SECURITY WARNING/i.test(e.message ?? '');
}

/**
 * One PostgreSQL connection with short connect and query timeouts that reconnects on the next
 * query after any failure: a lost server must neither stall nor break the caller's loop.
 */
export class PgLink {
  private client?: Client;

  constructor(readonly uri: string, private readonly timeoutMs = 1500) {}

  private async connection(): Promise<Client> {
    if (this.client) return this.client;
    const client = new Client({ connectionString: nodePgUri(this.uri), connectionTimeoutMillis: this.timeoutMs, query_timeout: this.timeoutMs });
    client.on('error', () => this.drop(client));
    await client.connect();
    this.client = client;
    return client;
  }

  private drop(client: Client) {
    if (this.client === client) this.client = undefined;
    client.end().catch(() => undefined);
  }

  async query<T>(sql: string, params: unknown[] = []): Promise<T[]> {
    const client = await this.connection();
    try {
      return (await client.query(sql, params)).rows as T[];
    } catch (err) {
      this.drop(client);
      throw err;
    }
  }

  async close(): Promise<void> {
    if (this.client) this.drop(this.client);
  }
}

/** Read-only queries on the pg_auto_failover monitor. */
export class MonitorClient {
  private readonly link: PgLink;

  constructor(readonly uri: string, private readonly timeoutMs = 1500) {
    this.link = new PgLink(uri, timeoutMs);
  }

  private query<T>(sql: string, params: unknown[] = []): Promise<T[]> {
    return this.link.query<T>(sql, params);
  }

  async nodes(): Promise<MonitorNode[]> {
    const rows = await this.query<Record<string, unknown>>(NODE_SQL);
    return rows.map((r) => ({
      nodeId: Number(r.nodeid),
      name: String(r.nodename),
      host: String(r.nodehost),
      port: Number(r.nodeport),
      goalState: String(r.goalstate),
      reportedState: String(r.reportedstate),
      pgIsRunning: r.reportedpgisrunning === true,
      replicationState: (r.reportedrepstate as string | null) ?? null,
      healthy: Number(r.health) === 1,
      reportTime: (r.reporttime as Date | null) ?? null,
    }));
  }

  async primary(): Promise<{ name: string; host: string; port: number } | undefined> {
    const rows = await this.query<{ primary_name: string; primary_host: string; primary_port: number }>(
      `SELECT primary_name, primary_host, primary_port FROM pgautofailover.get_primary('default', 0)`,
    );
    return rows[0] ? { name: rows[0].primary_name, host: rows[0].primary_host, port: Number(rows[0].primary_port) } : undefined;
  }

  async events(limit = 10): Promise<MonitorEvent[]> {
    const rows = await this.query<Record<string, unknown>>(
      `SELECT eventtime, nodename, reportedstate::text, goalstate::text, description FROM pgautofailover.event
        WHERE formationid = 'default' ORDER BY eventid DESC LIMIT $1`,
      [limit],
    );
    return rows.map((r) => ({
      at: r.eventtime as Date,
      nodeName: String(r.nodename),
      reportedState: String(r.reportedstate),
      goalState: String(r.goalstate),
      description: String(r.description),
    }));
  }

  /**
   * `LISTEN state` on a connection of its own: the monitor notifies every state change, so the
   * server reacts at once instead of at the next poll. Returns a function that stops listening.
   */
  async listen(onChange: () => void, onLost: () => void): Promise<() => Promise<void>> {
    const client = new Client({ connectionString: nodePgUri(this.uri), connectionTimeoutMillis: this.timeoutMs });
    let closed = false;
    const lost = () => {
      if (closed) return;
      closed = true;
      client.end().catch(() => undefined);
      onLost();
    };
    client.on('error', lost);
    client.on('end', lost);
    client.on('notification', (_n: Notification) => onChange());
    await client.connect();
    await client.query('LISTEN state');
    return async () => {
      closed = true;
      await client.end().catch(() => undefined);
    };
  }

  close(): Promise<void> {
    return this.link.close();
  }
}

/** Runs statements on the monitor as its superuser `postgres` (the monitor's settings need it). */
export async function runAsMonitorSuperuser(monitorUri: string, statements: string[]): Promise<void> {
  const superUri = new URL(monitorUri);
  superUri.username = 'postgres';
  const client = new Client({ connectionString: nodePgUri(superUri.toString()), connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    for (const statement of statements) await client.query(statement);
  } finally {
    await client.end().catch(() => undefined);
  }
}
