import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from './config/config';
import { INITIAL_PASSWORD_FILE, startBanner } from './server-banner';

describe('start banner', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(path.join(os.tmpdir(), 'slm-banner-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const config = () => loadConfig({ SLM_DATA_DIR: path.join(dir, 'data'), SLM_CERTS_DIR: path.join(dir, 'certs'), SLM_BIND: '0.0.0.0' });

  test('When the password is in its file, then the banner names the URL by Host Common Name, the CA file, the password file and the next command, in a few lines', () => {
    const c = config();
    writeFileSync(path.join(c.dataDir, INITIAL_PASSWORD_FILE), 'secret\n', { mode: 0o600 });
    const text = startBanner({ config: c, hostCommonName: 'fd00::10', port: 8443, store: 'embedded' });
    expect(text).toContain('Open:      https://[fd00::10]:8443');
    expect(text).toContain(`Trust:     ${path.join(dir, 'certs', 'ca.pem')}`);
    expect(text).toContain(`password in ${path.join(c.dataDir, INITIAL_PASSWORD_FILE)}`);
    expect(text).toContain(`Next:      export SLM_ADMIN_PASSWORD="$(cat ${path.join(c.dataDir, INITIAL_PASSWORD_FILE)})"; export SLM_URL=https://[fd00::10]:8443; ./bin/slm account list`);
    expect(text).not.toContain('secret');
    expect(text.trim().split('\n').length).toBeLessThanOrEqual(8);
  });

  test('When the password was configured, then the banner does not print any password', () => {
    const text = startBanner({ config: config(), hostCommonName: 'slm.example.com', port: 20443, store: 'postgresql' });
    expect(text).toContain('password the one you set in SLM_ADMIN_PASSWORD');
    expect(text).toContain('Next:      export SLM_URL=https://slm.example.com:20443; ./bin/slm account list');
  });
});
