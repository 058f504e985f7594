import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { PROJECT_ROOT } from '../../src/config/paths';
import { HaFiles } from '../../src/ha/cluster-config';
import { setTimeout as sleep } from 'node:timers/promises';
import { PgAutoctl, postgresIds, postmasterPid, PG_BIN } from '../../src/ha/engine';
import { asPostgres, freePort } from '../support/postgres';

const ENTRY = path.join(PROJECT_ROOT, 'dist', 'src', 'cli', 'index.js');
export const ADMIN_PASSWORD = 'cluster-admin-password';
export const VIP = '127.0.0.14';

export type Node = {
  name: 'primary' | 'secondary';
  ip: string;
  pgPort: number;
  dataDir: string;
  pgdata: string;
  env: Record<string, string>;
  server?: ChildProcess;
  log: string;
};

export type HttpResult = { status: number; body: any; headers: Record<string, string | string[] | undefined> };

/**
 * Two real nodes on one host, as in production but on loopback addresses: each has its own
 * PostgreSQL under pg_autoctl, its own `slm serve` process (the compiled build) and its own data
 * directory; the VIP is 127.0.0.14 with the `bind` driver. Everything runs as separate processes
 * that `destroy()` kills by process group and pid file.
 */
export class ClusterHarness {
  readonly base: string;
  readonly p: Node;
  readonly s: Node;
  ca = '';
  private token = '';

  private constructor(
    base: string,
    readonly ports: { monitor: number; https: number; heartbeat: number; pgP: number; pgS: number },
    /** Servers run as `slm serve --supervised` (what systemd starts in production). */
    readonly supervised = false,
  ) {
    this.base = base;
    const node = (name: Node['name'], ip: string, pgPort: number): Node => {
      const dir = path.join(base, name);
      return {
        name, ip, pgPort,
        dataDir: path.join(dir, 'data'),
        pgdata: path.join(dir, 'pg', 'pgdata'),
        log: path.join(dir, 'server.log'),
        env: {
          SLM_DATA_DIR: path.join(dir, 'data'),
          SLM_CERTS_DIR: path.join(dir, 'data', 'certs'),
          SLM_PORT: String(ports.https),
          SLM_BIND: ip,
          DATABASE_URL: `postgresql://postgres@${ip}:${pgPort}/slm`,
          SLM_ADMIN_PASSWORD: ADMIN_PASSWORD,
          SLM_HOST_COMMON_NAME: VIP,
          SLM_LOG_LEVEL: 'info',
          SLM_VALIDATE_RESPONSES: 'true',
          SLM_SHUTDOWN_GRACE_SECONDS: '1',
        },
      };
    };
    this.p = node('primary', '127.0.0.11', ports.pgP);
    this.s = node('secondary', '127.0.0.9', ports.pgS);
  }

  static async create(options: { supervised?: boolean } = {}): Promise<ClusterHarness> {
    const base = mkdtempSync('/tmp/slm-ha-');
    chmodSync(base, 0o755);
    const ports = {
      monitor: await freePort('127.0.0.1'),
      https: await freePort('127.0.0.14'),
      heartbeat: await freePort('127.0.0.11'),
      pgP: await freePort('127.0.0.11'),
      pgS: await freePort('127.0.0.9'),
    };
    const h = new ClusterHarness(base, ports, options.supervised);
    for (const n of [h.p, h.s]) {
      mkdirSync(path.dirname(n.pgdata), { recursive: true });
      mkdirSync(n.dataDir, { recursive: true });
      if (process.getuid?.() === 0) chownSync(path.dirname(n.pgdata), ...postgresIds());
    }
    return h;
  }

  /** The primary before HA: a stand-alone PostgreSQL holding the server's database. */
  startStandalonePostgres(): void {
    const n = this.p;
    asPostgres(path.join(PG_BIN, 'initdb'), ['-D', n.pgdata, '-U', 'postgres', '--auth=trust', '-E', 'UTF8']);
    asPostgres(path.join(PG_BIN, 'pg_ctl'), ['-D', n.pgdata, '-l', path.join(path.dirname(n.pgdata), 'standalone.log'), '-w', '-t', '60',
      '-o', `-p ${n.pgPort} -h ${n.ip} -k ${path.dirname(n.pgdata)} -c shared_buffers=64MB`, 'start']);
    asPostgres(path.join(PG_BIN, 'psql'), ['-h', n.ip, '-p', String(n.pgPort), '-U', 'postgres', '-c', 'CREATE DATABASE slm']);
  }

  /** `slm <args>` on a node, with that node's environment; resolves with exit code and output. */
  cli(n: Node, args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      const child = execFile(process.execPath, [ENTRY, ...args], { env: { ...process.env, ...n.env, SLM_LOG_LEVEL: 'warn' }, timeout: 180_000 }, (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
      child.stdin?.end(input ?? '');
    });
  }

  async cliOk(n: Node, args: string[], input?: string): Promise<string> {
    const r = await this.cli(n, args, input);
    if (r.code !== 0) throw new Error(`slm ${args.join(' ')} on ${n.name} failed (${r.code}):\n${r.stdout}\n${r.stderr}`);
    return r.stdout;
  }

  /** Starts `slm serve` (under its supervisor when the harness is supervised) in its own process group, without waiting. */
  launch(n: Node): ChildProcess {
    const fd = openSync(n.log, 'a');
    return (n.server = spawn(process.execPath, [ENTRY, 'serve', ...(this.supervised ? ['--supervised'] : [])], { env: { ...process.env, ...n.env }, stdio: ['ignore', fd, fd], detached: true }));
  }

  /** Starts `slm serve` in its own process group and waits until it answers /healthz on its address. */
  async startServer(n: Node): Promise<void> {
    const server = this.launch(n);
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (server.exitCode !== null) throw new Error(`server ${n.name} exited:\n${readFileSync(n.log, 'utf8').slice(-3000)}`);
      if (existsSync(path.join(n.dataDir, 'certs', 'ca.pem')) || this.ca) {
        this.ca ||= readFileSync(path.join(n.dataDir, 'certs', 'ca.pem'), 'utf8');
        const r = await this.request('GET', `https://${n.ip}:${this.ports.https}/healthz`).catch(() => undefined);
        if (r?.status === 200) return;
      }
      if (Date.now() > deadline) throw new Error(`server ${n.name} did not answer:\n${readFileSync(n.log, 'utf8').slice(-3000)}`);
      await sleep(200);
    }
  }

  async stopServer(n: Node): Promise<void> {
    const child = n.server;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await Promise.race([exited, sleep(this.supervised ? 40_000 : 10_000)]);
    killGroup(child, 'SIGKILL');
  }

  /** kill -9 of the node's server process group (supervisor and server), leaving keeper and PostgreSQL up. */
  async killServerGroup(n: Node): Promise<void> {
    const child = n.server;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    killGroup(child, 'SIGKILL');
    await Promise.race([exited, sleep(5000)]);
  }

  /** What the node's supervisor reports in `<data dir>/supervisor.json` (server pid, spare). */
  supervisorState(n: Node): { serverPid: number | null; spare: { pid: number | null; ready: boolean } | null } | undefined {
    try {
      return JSON.parse(readFileSync(path.join(n.dataDir, 'supervisor.json'), 'utf8'));
    } catch {
      return undefined;
    }
  }

  /** The pid of the `slm serve` process itself (the supervisor's serving child when supervised). */
  serverPid(n: Node): number | undefined {
    if (!this.supervised) return n.server?.pid;
    return this.supervisorState(n)?.serverPid ?? undefined;
  }

  /** Waits until each supervised node has a spare loaded and prepared (so a restart is a warm one). */
  async waitSparesReady(timeoutMs = 60_000): Promise<void> {
    if (!this.supervised) return;
    await this.waitFor('spares ready', async () => [this.p, this.s].every((n) => this.supervisorState(n)?.spare?.ready === true), timeoutMs);
  }

  /** Sends a signal to the node's server process only (not its supervisor, keeper or PostgreSQL); returns its pid. */
  signalServer(n: Node, signal: NodeJS.Signals): number {
    const pid = this.serverPid(n);
    if (!pid) throw new Error(`no server process on ${n.name}`);
    process.kill(pid, signal);
    return pid;
  }

  /** A monitor made with --ssl-self-signed, as docs/ha.md tells an admin to create one; returns the URI `pg_autoctl show uri` gives. */
  async createMonitor(): Promise<string> {
    const files = new HaFiles(this.p.dataDir);
    const engine = new PgAutoctl(files.engineRoot);
    await engine.createMonitor({ pgdata: files.localMonitorPgdata, host: '127.0.0.1', port: this.ports.monitor });
    await engine.startService(files.localMonitorPgdata);
    return `postgres://autoctl_node@127.0.0.1:${this.ports.monitor}/pg_auto_failover?sslmode=require`;
  }

  /** kill -9 of the node's server, keeper and postmaster: a crashed host. */
  crash(n: Node): void {
    if (n.server) killGroup(n.server, 'SIGKILL');
    new PgAutoctl(new HaFiles(n.dataDir).engineRoot).killService(n.pgdata);
  }

  /** HTTPS with the cluster CA; the certificate names the VIP, so node addresses skip the name check. */
  request(method: string, url: string, body?: unknown, token = this.token, timeoutMs = 5000): Promise<HttpResult> {
    const text = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = https.request(url, {
        method, ca: this.ca, timeout: timeoutMs, agent: false, checkServerIdentity: () => undefined,
        headers: { ...(text ? { 'content-type': 'application/json' } : {}), ...(token ? { authorization: `Bearer ${token}` } : {}) },
      }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const raw = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = raw;
          try {
            parsed = JSON.parse(raw);
          } catch {
            /* not JSON */
          }
          resolve({ status: res.statusCode ?? 0, body: parsed, headers: res.headers });
        });
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', reject);
      req.end(text);
    });
  }

  vipUrl(p: string) {
    return `https://${VIP}:${this.ports.https}${p}`;
  }

  nodeUrl(n: Node, p: string) {
    return `https://${n.ip}:${this.ports.https}${p}`;
  }

  async login(url = this.vipUrl('/api/v1/auth/login')): Promise<string> {
    const r = await this.request('POST', url, { username: 'admin', password: ADMIN_PASSWORD }, '');
    if (r.status !== 200) throw new Error(`login failed: ${r.status} ${JSON.stringify(r.body)}`);
    this.token = r.body.token;
    return this.token;
  }

  status(n: Node): Promise<HttpResult> {
    return this.request('GET', this.nodeUrl(n, '/api/v1/ha/status'));
  }

  /** Polls until `check` returns a truthy value (and returns it), or fails with the last value seen. */
  async waitFor<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 60_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let last: unknown;
    for (;;) {
      try {
        const v = await check();
        if (v) return v;
        last = v;
      } catch (err) {
        last = err;
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last: ${last instanceof Error ? last.message : JSON.stringify(last)}`);
      await sleep(250);
    }
  }

  /** Which node serves the VIP now (by the HA status it answers with), if any. */
  async vipOwner(): Promise<string | undefined> {
    const r = await this.request('GET', this.vipUrl('/api/v1/ha/status'), undefined, this.token, 2000).catch(() => undefined);
    return r?.status === 200 ? r.body.thisNode : undefined;
  }

  /**
   * Scenario 1 in one call: stand-alone primary with its server, keys, ha_deploy, restart in
   * cluster mode, ha_provision_standby, standby server; resolves once the primary reports Normal.
   */
  async deployPair(options: { monitorUri?: string; failoverProfile?: string } = {}): Promise<{ deploySeconds: number; provisionSeconds: number }> {
    this.startStandalonePostgres();
    await this.startServer(this.p);
    await this.login(this.nodeUrl(this.p, '/api/v1/auth/login'));
    await this.stopServer(this.p);
    await this.cliOk(this.p, ['ha', 'generatekeys']);
    const keys = path.join(this.base, 'keys-copy.json');
    copyFileSync(new HaFiles(this.p.dataDir).keysFile, keys);
    await this.cliOk(this.s, ['ha_generatekeys', '--import', keys]);
    let t0 = Date.now();
    await this.cliOk(this.p, ['ha_deploy', '--vip', VIP, '--primary-address', this.p.ip, '--secondary-address', this.s.ip,
      '--heartbeat-port', String(this.ports.heartbeat), '--pgdata', this.p.pgdata,
      ...(options.monitorUri ? ['--monitor', options.monitorUri] : ['--monitor-port', String(this.ports.monitor)]),
      ...(options.failoverProfile ? ['--failover-profile', options.failoverProfile] : [])]);
    await this.startServer(this.p);
    await this.waitFor('the primary to hold the VIP', async () => (await this.vipOwner()) === 'primary-node');
    const deploySeconds = (Date.now() - t0) / 1000;
    t0 = Date.now();
    await this.cliOk(this.s, ['ha', 'provision-standby', '--primary', this.p.ip, '--heartbeat-port', String(this.ports.heartbeat), '--pgdata', this.s.pgdata]);
    await this.startServer(this.s);
    await this.waitNormal(this.p);
    return { deploySeconds, provisionSeconds: (Date.now() - t0) / 1000 };
  }

  /** Waits until the node reports status Normal and returns that status. */
  waitNormal(n: Node, timeoutMs = 60_000) {
    return this.waitFor(`status Normal on ${n.name}`, async () => {
      const st = (await this.status(n)).body;
      return st.status === 'Normal' && st;
    }, timeoutMs);
  }

  /** The node serving the VIP (waits for one). */
  async activeNode(timeoutMs = 60_000): Promise<Node> {
    return this.nodeNamed(await this.waitFor('a VIP owner', () => this.vipOwner(), timeoutMs));
  }

  peerOf(n: Node): Node {
    return n === this.p ? this.s : this.p;
  }

  nodeNamed(name: string): Node {
    return name === 'primary-node' ? this.p : this.s;
  }

  /** Stops everything this harness started, even after a failure, and removes the files. */
  async destroy(keepFiles = false): Promise<void> {
    for (const n of [this.p, this.s]) if (n.server) killGroup(n.server, 'SIGKILL');
    for (const n of [this.p, this.s]) {
      const engine = new PgAutoctl(new HaFiles(n.dataDir).engineRoot);
      engine.killService(n.pgdata);
      engine.killService(new HaFiles(n.dataDir).localMonitorPgdata);
    }
    // Postmasters started with plain pg_ctl (before deploy, after teardown) have no keeper.
    for (const pgdata of [this.p.pgdata, this.s.pgdata, new HaFiles(this.p.dataDir).localMonitorPgdata]) {
      const pid = postmasterPid(pgdata);
      if (pid) process.kill(pid, 'SIGKILL');
    }
    await sleep(500);
    if (!keepFiles) rmSync(this.base, { recursive: true, force: true });
  }

  note(text: string) {
    writeFileSync(path.join(this.base, 'notes.txt'), text + '\n', { flag: 'a' });
  }
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals) {
  try {
    if (child.pid) process.kill(-child.pid, signal);
  } catch {
    /* already gone */
  }
}
