import { existsSync } from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';
import type { Config } from './config/config';

export const INITIAL_PASSWORD_FILE = 'initial-admin-password';

export type BannerFacts = {
  config: Config;
  hostCommonName: string;
  port: number;
  store: string;
  /** Set on the first start when no SLM_ADMIN_PASSWORD was configured and the password is not in a file. */
  generatedPassword?: string;
};

/**
 * What a person starting the server needs, in a few lines: the URL (the Host Common Name, which
 * the certificate names), the CA to trust, where the admin password is, and the next command.
 */
export function startBanner(f: BannerFacts): string {
  const host = isIP(f.hostCommonName) === 6 ? `[${f.hostCommonName}]` : f.hostCommonName;
  const url = `https://${host}:${f.port}`;
  const rel = (p: string) => (path.relative(process.cwd(), p).startsWith('..') ? p : path.relative(process.cwd(), p));
  const ca = rel(path.join(f.config.certsDir, 'ca.pem'));
  const passwordFile = path.join(f.config.dataDir, INITIAL_PASSWORD_FILE);
  const password = existsSync(passwordFile)
    ? { where: `in ${rel(passwordFile)} (readable by you only)`, export: `export SLM_ADMIN_PASSWORD="$(cat ${rel(passwordFile)})"` }
    : f.generatedPassword
      ? { where: `${f.generatedPassword} (shown once)`, export: `export SLM_ADMIN_PASSWORD='${f.generatedPassword}'` }
      : { where: 'the one you set in SLM_ADMIN_PASSWORD', export: undefined };
  return [
    '',
    `slm-onprem is running (${f.store} store, data in ${rel(f.config.dataDir)})`,
    `  Open:      ${url}  (the Host Common Name; the TLS certificate names it)`,
    `  Trust:     ${ca}  (curl --cacert ${ca}; the CLI reads it from there)`,
    `  Admin:     user "admin", password ${password.where}`,
    `  Next:      ${password.export ? `${password.export}; ` : ''}export SLM_URL=${url}; ./bin/slm account list`,
    `  Stop:      Ctrl-C (or SIGTERM); logs: SLM_LOG_LEVEL=${f.config.logLevel}`,
    '',
  ].join('\n');
}
