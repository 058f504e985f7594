import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { action } from '../cli/command-kit';
import { ApiError } from '../cli/api-client';
import { readJson } from './sync-commands-io';
import { ReferenceUpstream } from './reference-upstream';
import { KEY_FILES } from './reference-upstream-keys';

const KEYS_OPTION = ['--keys <dir>', 'directory of the fixture keys (created on first use; the same for serve and answer)', 'upstream-keys'] as const;

/** `slm upstream`: the reference upstream, a TEST/DEMO FIXTURE (docs/sync.md). */
export function registerReferenceUpstreamCommands(program: Command): void {
  const upstream = program.command('upstream').description('reference upstream: a TEST/DEMO FIXTURE playing the vendor cloud from a purchases file');
  upstream
    .command('serve', { isDefault: true })
    .description('serve sync requests over HTTPS (prints the server settings and the key to install)')
    .requiredOption('--purchases <file>', 'purchases file (JSON, see docs/sync.md)')
    .option('--port <n>', 'port', '20080')
    .option('--host <address>', 'address to listen on', '127.0.0.1')
    .option(...KEYS_OPTION)
    .action(
      action(async (opts: { purchases: string; port: string; host: string; keys: string }) => {
        const fixture = ReferenceUpstream.fromFiles(opts.purchases, opts.keys);
        const served = await fixture.listen(Number(opts.port), opts.host);
        const keyDir = path.resolve(opts.keys);
        console.log(`Reference upstream (test fixture) listening on ${served.url}`);
        console.log(`Server settings: SLM_UPSTREAM_URL=${served.url} SLM_UPSTREAM_CA=${path.join(keyDir, KEY_FILES.caCert)}`);
        console.log(`Vendor key to install: slm upstream-key install ${path.join(keyDir, KEY_FILES.signingPublicKey)}`);
        const shutdown = () => void served.close().then(() => process.exit(0));
        process.once('SIGINT', shutdown);
        process.once('SIGTERM', shutdown);
      }),
    );
  upstream
    .command('answer')
    .description('answer a request file with a signed response file (manual sync round trip)')
    .requiredOption('--purchases <file>', 'purchases file (JSON, see docs/sync.md)')
    .option(...KEYS_OPTION)
    .argument('<request>', 'request file written by `slm sync export`')
    .argument('<response>', 'response file to write, for `slm sync import`')
    .action(
      action(async (requestFile: string, responseFile: string, opts: { purchases: string; keys: string }) => {
        const fixture = ReferenceUpstream.fromFiles(opts.purchases, opts.keys);
        const request = readJson(requestFile) as { requestId?: string };
        let answer;
        try {
          answer = fixture.answer(request);
        } catch (err) {
          throw new ApiError(400, 'INVALID_FILE', `${requestFile}: ${(err as Error).message}`);
        }
        writeFileSync(responseFile, JSON.stringify(answer, null, 2) + '\n');
        console.log(`Signed response to request ${String(request.requestId)} written to ${responseFile}`);
      }),
    );
}
