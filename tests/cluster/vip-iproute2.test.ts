import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';

const VIP = '10.99.0.14';
const PORT = 8443;
const tag = randomBytes(2).toString('hex');
const ns = { lan: `slm-lan-${tag}`, h1: `slm-h1-${tag}`, h2: `slm-h2-${tag}`, client: `slm-cl-${tag}` };
const ips = { h1: '10.99.0.11', h2: '10.99.0.9', client: '10.99.0.50' };

/** Network namespaces need root and a kernel that allows them (not every container does). */
function namespacesAllowed(): boolean {
  if (process.getuid?.() !== 0) return false;
  const probe = `slm-probe-${tag}`;
  const ok = spawnSync('ip', ['netns', 'add', probe]).status === 0;
  spawnSync('ip', ['netns', 'del', probe]);
  return ok;
}
const allowed = namespacesAllowed();
if (!allowed) console.warn('\n!!!!!!!! network namespaces are not available (needs root and ip netns): the iproute2 VIP suite is SKIPPED !!!!!!!!\n');
const suite = allowed ? describe : describe.skip;

const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();

/**
 * Two "hosts" and a client on one bridge, each in its own network namespace: the iproute2 driver
 * moves the VIP between the hosts, and the client (whose ARP cache still points at the old owner)
 * must reach the new one quickly, which only works if the move is announced.
 */
suite('VIP driver iproute2 between two hosts (network namespaces)', () => {
  const hosts: Record<'h1' | 'h2', ChildProcess | undefined> = { h1: undefined, h2: undefined };
  const outputs: Record<'h1' | 'h2', string> = { h1: '', h2: '' };
  let dir = '';

  const command = async (host: 'h1' | 'h2', line: 'acquire' | 'release') => {
    const before = outputs[host].length;
    hosts[host]!.stdin!.write(`${line}\n`);
    for (let i = 0; i < 100; i++) {
      const fresh = outputs[host].slice(before);
      if (fresh.includes(`${line}d`)) return;
      if (fresh.includes('error')) throw new Error(`${host} ${line}: ${fresh}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`${host} did not ${line}: ${outputs[host]}`);
  };
  const ask = () => spawnSync('ip', ['netns', 'exec', ns.client, 'curl', '-sk', '--max-time', '1', `https://${VIP}:${PORT}/`]).stdout.toString();

  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'slm-vip-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', `/CN=${VIP}`,
      '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem')], { stdio: 'ignore' });
    for (const n of Object.values(ns)) ip('netns', 'add', n);
    ip('-n', ns.lan, 'link', 'add', 'br0', 'type', 'bridge');
    ip('-n', ns.lan, 'link', 'set', 'br0', 'up');
    for (const key of ['h1', 'h2', 'client'] as const) {
      const a = `v${key.slice(0, 2)}${tag}`;
      ip('link', 'add', a, 'type', 'veth', 'peer', 'name', `${a}p`);
      ip('link', 'set', a, 'netns', ns[key]);
      ip('link', 'set', `${a}p`, 'netns', ns.lan);
      ip('-n', ns[key], 'link', 'set', a, 'name', 'eth0');
      ip('-n', ns[key], 'addr', 'add', `${ips[key]}/24`, 'dev', 'eth0');
      ip('-n', ns[key], 'link', 'set', 'eth0', 'up');
      ip('-n', ns[key], 'link', 'set', 'lo', 'up');
      ip('-n', ns.lan, 'link', 'set', `${a}p`, 'master', 'br0');
      ip('-n', ns.lan, 'link', 'set', `${a}p`, 'up');
    }
    for (const host of ['h1', 'h2'] as const) {
      const neighbour = host === 'h1' ? ips.h2 : ips.h1;
      const child = spawn('ip', ['netns', 'exec', ns[host], process.execPath, path.join(__dirname, 'vip-host.js'), host, VIP, String(PORT), neighbour,
        path.join(dir, 'key.pem'), path.join(dir, 'cert.pem')], { stdio: ['pipe', 'pipe', 'pipe'] });
      child.stdout!.on('data', (d) => (outputs[host] += d));
      child.stderr!.on('data', (d) => (outputs[host] += d));
      hosts[host] = child;
    }
  });

  afterAll(() => {
    for (const child of Object.values(hosts)) child?.kill('SIGKILL');
    for (const n of Object.values(ns)) spawnSync('ip', ['netns', 'del', n]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('When the VIP moves from one host to the other, then the client reaches the new owner within 3 s and the old host no longer has the address', async () => {
    await command('h1', 'acquire');
    expect(ip('-n', ns.h1, 'addr', 'show', 'dev', 'eth0')).toContain(`${VIP}/24`);
    let answer = '';
    for (let i = 0; i < 50 && answer !== 'h1'; i++) answer = ask();
    expect(answer).toBe('h1');

    await command('h1', 'release');
    expect(ip('-n', ns.h1, 'addr', 'show', 'dev', 'eth0')).not.toContain(VIP);
    const t0 = Date.now();
    await command('h2', 'acquire');
    expect(ip('-n', ns.h2, 'addr', 'show', 'dev', 'eth0')).toContain(`${VIP}/24`);
    answer = '';
    while (answer !== 'h2' && Date.now() - t0 < 10_000) answer = ask();
    const moved = Date.now() - t0;
    console.log(`iproute2 VIP move: client reached the new owner after ${moved} ms`);
    expect(answer).toBe('h2');
    expect(moved).toBeLessThan(3000);
  }, 60_000);
});
