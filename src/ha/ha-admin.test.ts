import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { HaAdmin } from './ha-admin';
import { checkVipFree } from './deploy-checks';

const kek = () => randomBytes(32).toString('base64');

describe('checkVipFree', () => {
  test('When the VIP is not an IP address, then VIP_INVALID', async () => {
    await expect(checkVipFree('vip.example', 20001, 'bind')).rejects.toMatchObject({ code: 'VIP_INVALID', status: 400 });
  });
  test('When the bind driver gets an address this host does not have, then VIP_NOT_LOCAL', async () => {
    await expect(checkVipFree('192.0.2.77', 20001, 'bind')).rejects.toMatchObject({ code: 'VIP_NOT_LOCAL' });
  });
  test('When something already serves on VIP:port, then VIP_IN_USE', async () => {
    const busy = net.createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.15', () => resolve()));
    const { port } = busy.address() as net.AddressInfo;
    try {
      await expect(checkVipFree('127.0.0.15', port, 'bind')).rejects.toMatchObject({ code: 'VIP_IN_USE', status: 409 });
    } finally {
      busy.close();
    }
  });
  test('When the VIP is local and free, then it passes', async () => {
    await expect(checkVipFree('127.0.0.16', 20002, 'bind')).resolves.toBeUndefined();
  });
});

describe('HaAdmin keys', () => {
  let dirs: string[] = [];
  const node = (kekText?: string) => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'slm-ha-keys-'));
    dirs.push(dir);
    if (kekText) writeFileSync(path.join(dir, 'kek'), kekText + '\n');
    const lines: string[] = [];
    return { dir, lines, admin: new HaAdmin({ dataDir: dir, serverPort: 8443, say: (l) => lines.push(l) }) };
  };
  afterEach(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
    dirs = [];
  });

  test('When keys are generated and imported on the peer, then both hold the same cluster key and the primary\'s KEK', () => {
    const primaryKek = kek();
    const p = node(primaryKek);
    const s = node(kek());
    const file = p.admin.generateKeys();
    s.admin.importKeys(file);
    expect(s.admin.files.readKeys()).toEqual(p.admin.files.readKeys());
    expect(readFileSync(path.join(s.dir, 'kek'), 'utf8').trim()).toBe(primaryKek);
    // The secondary's own KEK is kept aside, not destroyed.
    expect(readdirSync(s.dir).some((f) => f.startsWith('kek.before-ha-'))).toBe(true);
  });

  test('When keys exist already, then HA_KEYS_EXIST unless forced', () => {
    const p = node(kek());
    p.admin.generateKeys();
    expect(() => p.admin.generateKeys()).toThrow(expect.objectContaining({ code: 'HA_KEYS_EXIST' }));
    expect(() => p.admin.generateKeys(true)).not.toThrow();
  });

  test('When the server never ran (no KEK), then HA_KEK_MISSING', () => {
    const p = node();
    expect(() => p.admin.generateKeys()).toThrow(expect.objectContaining({ code: 'HA_KEK_MISSING' }));
  });

  test('When the imported file is not a key file, then HA_KEYS_INVALID', () => {
    const s = node(kek());
    const bogus = path.join(s.dir, 'bogus.json');
    writeFileSync(bogus, '{"hello":1}');
    expect(() => s.admin.importKeys(bogus)).toThrow(expect.objectContaining({ code: 'HA_KEYS_INVALID' }));
  });

  test('When SLM_KEK differs from the primary\'s KEK, then HA_KEK_MISMATCH and nothing is installed', () => {
    const p = node(kek());
    const file = p.admin.generateKeys();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'slm-ha-keys-'));
    dirs.push(dir);
    const s = new HaAdmin({ dataDir: dir, serverPort: 8443, kekFromEnv: kek(), say: () => undefined });
    expect(() => s.importKeys(file)).toThrow(expect.objectContaining({ code: 'HA_KEK_MISMATCH' }));
    expect(existsSync(s.files.keysFile)).toBe(false);
  });

  test('When no cluster is deployed, then status says HA is not enabled. and stop/start/teardown answer HA_NOT_ENABLED', async () => {
    const p = node(kek());
    await expect(p.admin.statusText()).resolves.toBe('HA is not enabled.');
    await expect(p.admin.clusterStop()).rejects.toMatchObject({ code: 'HA_NOT_ENABLED' });
    await expect(p.admin.clusterStart()).rejects.toMatchObject({ code: 'HA_NOT_ENABLED' });
    await expect(p.admin.teardown(async () => 'yes')).rejects.toMatchObject({ code: 'HA_NOT_ENABLED' });
  });

  test('When provisioning without keys, then HA_KEYS_MISSING', async () => {
    const s = node(kek());
    await expect(s.admin.provisionStandby({ primary: '127.0.0.11', heartbeatPort: 20003, pgdata: path.join(s.dir, 'pg') })).rejects.toMatchObject({ code: 'HA_KEYS_MISSING' });
  });
});
