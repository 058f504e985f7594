import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { letOthersPass, secureDataDir } from './data-dir';

const modeOf = (p: string) => statSync(p).mode & 0o777;

function everything(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    return e.isDirectory() ? [full, ...everything(full)] : [full];
  });
}

describe('secureDataDir', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(path.join(os.tmpdir(), 'slm-dd-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  test('When an older version left 0666 files and 0755 folders, then every file becomes 0600 and every folder 0700', () => {
    const data = path.join(root, 'data');
    mkdirSync(path.join(data, 'pglite', 'base', '1'), { recursive: true });
    for (const f of ['kek', 'pglite/PG_VERSION', 'pglite/base/1/1259']) {
      writeFileSync(path.join(data, f), 'x');
      chmodSync(path.join(data, f), 0o666);
    }
    chmodSync(path.join(data, 'pglite', 'base'), 0o755);
    chmodSync(data, 0o777);
    secureDataDir(data);
    expect(modeOf(data)).toBe(0o700);
    for (const p of everything(data)) expect([p, modeOf(p)]).toEqual([p, statSync(p).isDirectory() ? 0o700 : 0o600]);
  });
});

describe('letOthersPass', () => {
  test('When the HA engine needs a way in, then each folder from the data directory down gets the search bit only', () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'slm-pass-'));
    try {
      const data = path.join(root, 'data');
      secureDataDir(data);
      mkdirSync(path.join(data, 'ha'), { mode: 0o700 });
      letOthersPass(data, path.join(data, 'ha'));
      expect([modeOf(data), modeOf(path.join(data, 'ha')), modeOf(root) & 0o011]).toEqual([0o711, 0o711, modeOf(root) & 0o011]);
      // The next start keeps a way through to folders of another user, and closes it otherwise.
      secureDataDir(data);
      expect(modeOf(data)).toBe(0o700);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
