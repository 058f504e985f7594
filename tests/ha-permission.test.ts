import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../src/config/paths';

const ENTRY = path.join(PROJECT_ROOT, 'dist', 'src', 'cli', 'index.js');
/** Running a command as another user needs root (runuser). */
const asRoot = process.getuid?.() === 0 && spawnSync('runuser', ['-u', 'nobody', '--', 'true']).status === 0;
if (!asRoot) console.warn('\n!!!!!!!! not root (runuser -u nobody): the ha permission suite is SKIPPED !!!!!!!!\n');
const suite = asRoot ? describe : describe.skip;

/** The ha commands run by a user who cannot read the server's data directory (not root, not its owner). */
suite('ha commands without the rights they need', () => {
  let base: string;
  let dataDir: string;
  beforeAll(() => {
    base = mkdtempSync(path.join(os.tmpdir(), 'slm-haperm-'));
    chmodSync(base, 0o755);
    dataDir = path.join(base, 'data');
    mkdirSync(path.join(dataDir, 'ha'), { recursive: true });
    writeFileSync(path.join(dataDir, 'kek'), 'x'.repeat(44) + '\n', { mode: 0o600 });
    chmodSync(dataDir, 0o700);
  });
  afterAll(() => rmSync(base, { recursive: true, force: true }));

  const asNobody = (...args: string[]) =>
    spawnSync('runuser', ['-u', 'nobody', '--', process.execPath, ENTRY, ...args], {
      encoding: 'utf8', cwd: '/tmp', env: { PATH: process.env.PATH, SLM_DATA_DIR: dataDir, SLM_LOG_LEVEL: 'warn' },
    });

  test.each(['ha status', 'ha_status', 'ha generatekeys', 'ha_cluster_stop'])(
    'When `slm %s` runs as a user who cannot read the data directory, then it exits 1 with HA_PERMISSION_DENIED naming the path, not a raw EACCES',
    (command) => {
      const r = asNobody(...command.split(' '));
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`^Error: HA_PERMISSION_DENIED: ${dataDir}\\S*: not allowed for uid \\d+\\. Run the ha commands as root`, 'm'));
      expect(r.stderr).not.toMatch(/at .*\.js:\d+|EACCES/);
    },
  );
});
