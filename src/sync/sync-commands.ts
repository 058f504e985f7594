import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { action, apiFor, output, withApiOptions, type CommonOpts } from '../cli/command-kit';
import { ApiError } from '../cli/api-client';
import type { SyncResult } from './sync-service';
import { ReferenceUpstream } from './reference-upstream';

function readJson(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ApiError(400, 'INVALID_FILE', `${file}: ${(err as Error).message}`);
  }
}

function presentResult(opts: CommonOpts, result: SyncResult): void {
  const s = result.summary;
  output(opts, result, [
    { field: 'Request', value: result.requestId },
    { field: 'Outcome', value: result.outcome === 'APPLIED' ? `applied at ${result.appliedAt}` : `already applied at ${result.appliedAt}: nothing changed` },
    ...(s
      ? [
          { field: 'Accounts approved', value: s.accountsApproved.join(', ') || '-' },
          { field: 'License lines', value: s.virtualAccounts.map((v) => `${v.account}/${v.virtualAccount}: ${v.licenseLines}`).join(', ') || '-' },
          { field: 'Signed CA stored', value: s.caCertificateStored ? 'yes' : 'no' },
          { field: 'Sync required cleared', value: s.syncRequiredCleared ? 'yes' : 'no' },
        ]
      : []),
  ]);
}

export function registerSyncCommands(program: Command): void {
  const sync = program.command('sync').description('synchronize with the vendor cloud: over the network (default) or through files');

  withApiOptions(sync.command('now', { isDefault: true }).description('run a network sync now against the configured upstream')).action(
    action(async (opts: CommonOpts) => presentResult(opts, await apiFor(opts).call<SyncResult>('POST', '/api/v1/sync'))),
  );

  withApiOptions(sync.command('status').description('last success, last error, next scheduled run, whether a sync is required')).action(
    action(async (opts: CommonOpts) => {
      const st = await apiFor(opts).call<Record<string, any>>('GET', '/api/v1/sync/status');
      output(opts, st, [
        { field: 'Mode', value: st.mode + (st.upstreamUrl ? ` (${st.upstreamUrl})` : '') },
        { field: 'Sync required', value: st.syncRequired ? 'yes' : 'no' },
        { field: 'Last success', value: st.lastSuccess ? `${st.lastSuccess.at} (${st.lastSuccess.mode})` : 'never' },
        { field: 'Last error', value: st.lastError ? `${st.lastError.at} ${st.lastError.error}` : '-' },
        { field: 'Next run', value: st.nextRunAt ?? '-' },
        { field: 'Pending requests', value: st.pendingRequests },
        { field: 'Signed CA', value: st.signedCaCertificate ? `issuer ${st.signedCaCertificate.issuer}, until ${st.signedCaCertificate.notAfter}` : '-' },
      ]);
    }),
  );

  withApiOptions(
    sync.command('export').description('manual sync, step 1: write a request file to take to the vendor cloud').argument('<file>', 'request file to write'),
  ).action(
    action(async (file: string, opts: CommonOpts) => {
      const request = await apiFor(opts).call<{ requestId: string }>('POST', '/api/v1/sync/request-file');
      writeFileSync(file, JSON.stringify(request, null, 2) + '\n');
      output(opts, { requestId: request.requestId, file }, [{ field: 'Request', value: request.requestId }, { field: 'Written to', value: file }]);
    }),
  );

  withApiOptions(
    sync.command('import').description('manual sync, step 2: apply the response file from the vendor cloud').argument('<file>', 'response file'),
  ).action(
    action(async (file: string, opts: CommonOpts) => presentResult(opts, await apiFor(opts).call<SyncResult>('POST', '/api/v1/sync/response-file', readJson(file)))),
  );

  const upstream = program.command('upstream').description('reference upstream: a TEST/DEMO FIXTURE playing the vendor cloud from a purchases file');
  upstream
    .command('serve', { isDefault: true })
    .description('serve sync requests over HTTP (point SLM_UPSTREAM_URL at the printed URL)')
    .requiredOption('--purchases <file>', 'purchases file (JSON, see docs/sync.md)')
    .option('--port <n>', 'port', '20080')
    .option('--host <address>', 'address to listen on', '127.0.0.1')
    .action(
      action(async (opts: { purchases: string; port: string; host: string }) => {
        const fixture = ReferenceUpstream.fromFile(opts.purchases);
        const served = await fixture.listen(Number(opts.port), opts.host);
        console.log(`Reference upstream (test fixture) listening: SLM_UPSTREAM_URL=${served.url}`);
        const shutdown = () => void served.close().then(() => process.exit(0));
        process.once('SIGINT', shutdown);
        process.once('SIGTERM', shutdown);
      }),
    );
  upstream
    .command('answer')
    .description('answer a request file with a response file (manual sync round trip)')
    .requiredOption('--purchases <file>', 'purchases file (JSON, see docs/sync.md)')
    .argument('<request>', 'request file written by `slm sync export`')
    .argument('<response>', 'response file to write, for `slm sync import`')
    .action(
      action(async (requestFile: string, responseFile: string, opts: { purchases: string }) => {
        const response = ReferenceUpstream.fromFile(opts.purchases).answer(readJson(requestFile));
        writeFileSync(responseFile, JSON.stringify(response, null, 2) + '\n');
        console.log(`Response to request ${response.requestId} written to ${responseFile}`);
      }),
    );
}
