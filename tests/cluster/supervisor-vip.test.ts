import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { HaFiles } from '../../src/ha/cluster-config';
import { ClusterGuard } from '../../src/ha/handover';
import { Supervisor } from '../../src/ha/supervisor';
import { httpRoleProbe } from '../support/role-probe';
import { freePort } from '../support/postgres';

/** An address of its own on the loopback interface stands for the VIP the Active server added. */
const VIP = `127.0.0.${200 + Math.floor(Math.random() * 50)}`;

/** Adding addresses needs root (CAP_NET_ADMIN). */
function ipAllowed(): boolean {
  if (process.getuid?.() !== 0) return false;
  const ok = spawnSync('ip', ['addr', 'add', `${VIP}/32`, 'dev', 'lo']).status === 0;
  spawnSync('ip', ['addr', 'del', `${VIP}/32`, 'dev', 'lo']);
  return ok;
}
const allowed = ipAllowed();
if (!allowed) console.warn('\n!!!!!!!! cannot add addresses to lo (needs root): the supervisor VIP suite is SKIPPED !!!!!!!!\n');
const suite = allowed ? describe : describe.skip;

const SERVER = `require('http').createServer((q, r) => r.end(JSON.stringify({ role: 'active' }))).listen(Number(process.env.PORT), '127.0.0.1')`;
const vipPresent = () => execFileSync('ip', ['-o', 'addr', 'show', 'dev', 'lo']).toString().includes(` ${VIP}/32 `);

/**
 * The lease rule with the iproute2 driver, on real processes and a real address: the supervisor
 * removes the VIP from the interface when its server dies or hangs, so the peer can add it.
 */
suite('Supervisor with the iproute2 VIP driver', () => {
  let dir: string;
  let port: number;
  let sup: Supervisor | undefined;
  let guard: ClusterGuard;
  let probe: ReturnType<typeof httpRoleProbe>;
  beforeEach(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'slm-supvip-'));
    port = await freePort('127.0.0.1');
    probe = httpRoleProbe(port);
    const files = new HaFiles(dir);
    files.writeCluster({
      version: 1,
      localNode: 'primary-node',
      nodes: [
        { name: 'primary-node', publicAddress: '127.0.0.1', clusterAddress: '127.0.0.1' },
        { name: 'secondary-node', publicAddress: '127.0.0.2', clusterAddress: '127.0.0.2' },
      ],
      vip: { address: VIP, driver: 'iproute2', interface: 'lo', prefixLength: 32 },
      serverPort: port,
      heartbeatPort: 20_999,
      // Nothing listens there: the guard cannot ask the monitor, so it never hands over here.
      monitor: { uri: 'postgres://autoctl_node@127.0.0.1:1/pg_auto_failover' },
      pg: { pgdata: path.join(dir, 'pgdata'), host: '127.0.0.1', port: 1, database: 'slm' },
      failoverProfile: 'fast',
      services: 'running',
    });
    guard = new ClusterGuard(files, pino({ level: 'silent' }), 200);
    sup = new Supervisor({
      spawnServer: () => spawn(process.execPath, ['-e', SERVER], { env: { ...process.env, PORT: String(port) }, stdio: 'ignore' }),
      probe,
      guard,
      logger: pino({ level: 'silent' }),
      probeMs: 250,
      hungMs: 1000,
      startMs: 5000,
      handoverMs: 60_000,
      handoverCrashes: 100,
    });
    sup.start();
    for (let i = 0; (await probe(200)) !== 'active'; i++) {
      if (i > 100) throw new Error('the supervised server does not answer');
      await sleep(50);
    }
    // Its supervisor's own probes have answered too (a cold process on a loaded host can miss the first ones).
    await sleep(750);
    // What the Active server's driver did when it took the VIP.
    execFileSync('ip', ['addr', 'replace', `${VIP}/32`, 'dev', 'lo']);
    expect(vipPresent()).toBe(true);
  });

  afterEach(async () => {
    await sup?.stop('SIGKILL');
    await guard.close();
    spawnSync('ip', ['addr', 'del', `${VIP}/32`, 'dev', 'lo']);
    rmSync(dir, { recursive: true, force: true });
  });

  const waitGone = async () => {
    const t0 = Date.now();
    while (vipPresent()) {
      if (Date.now() - t0 > 5000) throw new Error(`${VIP} is still on lo`);
      await sleep(20);
    }
    return Date.now() - t0;
  };

  test('When the Active server is killed, then its supervisor removes the VIP from the interface', async () => {
    process.kill(sup!.pid!, 'SIGKILL');
    const ms = await waitGone();
    expect(ms).toBeLessThan(1000);
  });

  test('When the Active server hangs (SIGSTOP), then its supervisor removes the VIP once the hung limit has passed', async () => {
    const hung = sup!.pid!;
    process.kill(hung, 'SIGSTOP');
    const ms = await waitGone();
    // hungMs 1000, probed every 250 ms.
    expect(ms).toBeGreaterThanOrEqual(700);
    expect(ms).toBeLessThan(3000);
  });
});
