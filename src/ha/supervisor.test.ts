import { spawn } from 'node:child_process';
import net from 'node:net';
import pino from 'pino';
import { setTimeout as sleep } from 'node:timers/promises';
import { httpRoleProbe } from '../../tests/support/role-probe';
import { Supervisor, type ServiceGuard } from './supervisor';

const SERVER = `require('http').createServer((q, r) => r.end(JSON.stringify({ role: process.env.ROLE })))
  .listen(Number(process.env.PORT), '127.0.0.1')`;

async function freePort(): Promise<number> {
  const srv = net.createServer().listen(0, '127.0.0.1');
  await new Promise((r) => srv.once('listening', r));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise((r) => srv.close(r));
  return port;
}

const probe = httpRoleProbe;

class FakeGuard implements ServiceGuard {
  primary: boolean | undefined = true;
  handOvers: string[] = [];
  releases = 0;
  async assignedPrimary() {
    return this.primary;
  }
  async releaseVip() {
    this.releases++;
  }
  async handOver(reason: string) {
    this.handOvers.push(reason);
    this.primary = false;
    return undefined;
  }
}

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await sleep(25);
  }
}

describe('Supervisor', () => {
  let sup: Supervisor | undefined;
  afterEach(async () => {
    await sup?.stop('SIGKILL');
    sup = undefined;
  });

  /** `spawns` decides, per start, whether the child serves (with a role) or exits at once. */
  async function supervise(guard: FakeGuard | undefined, spawns: (n: number) => 'active' | 'standby' | 'fail' | 'badconfig') {
    const port = await freePort();
    let n = 0;
    sup = new Supervisor({
      spawnServer: () => {
        const kind = spawns(n++);
        return spawn(process.execPath, ['-e', kind === 'fail' ? 'process.exit(3)' : kind === 'badconfig' ? 'process.exit(2)' : SERVER], { env: { ...process.env, PORT: String(port), ROLE: kind }, stdio: 'ignore' });
      },
      probe: probe(port),
      guard,
      logger: pino({ level: 'silent' }),
      probeMs: 100,
      hungMs: 400,
      startMs: 3000,
      handoverMs: 800,
      handoverCrashes: 3,
    });
    sup.start();
    await until('the first server answers', async () => (await probe(port)(200)) !== undefined);
    return { port, spawned: () => n };
  }

  test('When the server exits, then it is started again at once and answers', async () => {
    const { port } = await supervise(undefined, () => 'standby');
    const first = sup!.pid!;
    const t0 = Date.now();
    process.kill(first, 'SIGKILL');
    await until('a new server answers', async () => sup!.pid !== first && (await probe(port)(200)) === 'standby');
    expect(Date.now() - t0).toBeLessThan(8000);
  });

  test('When the server stops answering (SIGSTOP), then it is killed after the hung limit and a new one serves', async () => {
    const { port } = await supervise(undefined, () => 'standby');
    const first = sup!.pid!;
    const t0 = Date.now();
    process.kill(first, 'SIGSTOP');
    await until('a new server answers', async () => sup!.pid !== first && (await probe(port)(200)) === 'standby');
    const elapsed = Date.now() - t0;
    expect(elapsed).toBeGreaterThanOrEqual(300);
    expect(elapsed).toBeLessThan(8000);
    expect(() => process.kill(first, 0)).toThrow();
  });

  test('When the Active server dies and cannot start again, then the VIP is released and the cluster handed over once', async () => {
    const guard = new FakeGuard();
    await supervise(guard, (n) => (n === 0 ? 'active' : 'fail'));
    await sleep(250);
    process.kill(sup!.pid!, 'SIGKILL');
    await until('a hand-over', () => guard.handOvers.length > 0);
    await sup!.settled();
    await sleep(500);
    expect(guard.handOvers).toHaveLength(1);
    expect(guard.releases).toBeGreaterThanOrEqual(1);
  });

  test('When the Active server exits with an invalid configuration, then the cluster is handed over at once, without waiting for more crashes', async () => {
    const guard = new FakeGuard();
    await supervise(guard, (n) => (n === 0 ? 'active' : 'badconfig'));
    await sleep(250);
    process.kill(sup!.pid!, 'SIGKILL');
    await until('a hand-over', () => guard.handOvers.length > 0);
    expect(guard.handOvers[0]).toContain('configuration is invalid');
  });

  test('When the Standby server dies, then it is restarted and nothing is handed over', async () => {
    const guard = new FakeGuard();
    guard.primary = false;
    const { port } = await supervise(guard, () => 'standby');
    const first = sup!.pid!;
    process.kill(first, 'SIGKILL');
    await until('a new server answers', async () => sup!.pid !== first && (await probe(port)(200)) === 'standby');
    await sleep(1000);
    expect(guard.handOvers).toEqual([]);
  });

  test('When a spare process is kept, then a restart promotes the process that was already waiting', async () => {
    const port = await freePort();
    const started: number[] = [];
    sup = new Supervisor({
      spawnServer: () => {
        const child = spawn(process.execPath, ['-e', `process.on('message', (m) => { if (m === 'go') { ${SERVER}; } })`], {
          env: { ...process.env, PORT: String(port), ROLE: 'standby' }, stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
        });
        started.push(child.pid!);
        return child;
      },
      promote: (child) => child.connected && child.send('go'),
      keepSpare: true,
      probe: probe(port),
      logger: pino({ level: 'silent' }),
      probeMs: 100, hungMs: 400, startMs: 3000, handoverMs: 800, handoverCrashes: 3,
    });
    sup.start();
    await until('the server answers and a spare waits', async () => (await probe(port)(200)) !== undefined && started.length === 2);
    const [first, spare] = started;
    process.kill(first, 'SIGKILL');
    await until('the spare serves', async () => sup!.pid === spare && (await probe(port)(200)) === 'standby');
    await until('a new spare waits', () => started.length === 3);
  });

  test('When the Active server comes back within the limit, then nothing is handed over', async () => {
    const guard = new FakeGuard();
    const { port } = await supervise(guard, () => 'active');
    await sleep(250);
    const first = sup!.pid!;
    process.kill(first, 'SIGKILL');
    await until('a new server answers', async () => sup!.pid !== first && (await probe(port)(200)) === 'active');
    await sleep(1000);
    expect(guard.handOvers).toEqual([]);
  });
});
