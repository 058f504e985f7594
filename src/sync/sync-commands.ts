import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { action, apiFor, output, withApiOptions, type CommonOpts } from '../cli/command-kit';
import type { ApiClient } from '../cli/api-client';
import type { SyncProgress, SyncResult } from './sync-service';
import { readJson, readText } from './sync-commands-io';
import { registerReferenceUpstreamCommands } from './reference-upstream-commands';

function syncRequiredText(s: NonNullable<SyncResult['summary']>): string {
  if (s.syncRequiredCleared) return 'no (cleared by this sync: products can register again)';
  if (s.syncRequired) return 'yes: this request predates the Host Common Name change, sync again';
  return 'no';
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
          { field: 'Sync required', value: syncRequiredText(s) },
        ]
      : []),
  ]);
}

/** One line on where a running network sync stands; null before the server reports any. */
export function describeProgress(p: SyncProgress | null, now: Date): string | null {
  if (!p) return null;
  if (!p.nextAttemptAt) return `sync: attempt ${p.attempt} of ${p.attempts}...`;
  const wait = Math.max(0, Math.round((Date.parse(p.nextAttemptAt) - now.getTime()) / 1000));
  return `sync: attempt ${p.attempt} of ${p.attempts} failed (${p.lastError}); next attempt in ${wait} s`;
}

/**
 * POST /api/v1/sync, which can take a while (retries with backoff): on a terminal the attempts the
 * server reports in the status are shown on stderr as they change; piped or with --json, nothing.
 */
async function syncWithProgress(api: ApiClient, opts: CommonOpts): Promise<SyncResult> {
  const running = api.call<SyncResult>('POST', '/api/v1/sync');
  if (opts.json || !process.stderr.isTTY) return running;
  process.stderr.write('sync: contacting the upstream...\n');
  let shown: string | undefined;
  const poll = setInterval(() => {
    api.call<{ inProgress: SyncProgress | null }>('GET', '/api/v1/sync/status').then(
      (st) => {
        const line = describeProgress(st.inProgress, new Date());
        // The countdown changes every second: a new line only when the attempt or its outcome does.
        const key = line?.replace(/in \d+ s$/, '');
        if (line && key !== shown) process.stderr.write(`${line}\n`);
        shown = key ?? shown;
      },
      () => undefined,
    );
  }, 1000);
  try {
    return await running;
  } finally {
    clearInterval(poll);
  }
}

export function registerSyncCommands(program: Command): void {
  const sync = program.command('sync').description('synchronize with the vendor cloud: over the network (default) or through files');

  withApiOptions(sync.command('now', { isDefault: true }).description('run a network sync now against the configured upstream (attempts shown on a terminal)')).action(
    action(async (opts: CommonOpts) => presentResult(opts, await syncWithProgress(apiFor(opts), opts))),
  );

  withApiOptions(sync.command('status').description('last success, last error, next scheduled run, whether a sync is required')).action(
    action(async (opts: CommonOpts) => {
      const st = await apiFor(opts).call<Record<string, any>>('GET', '/api/v1/sync/status');
      output(opts, st, [
        { field: 'Mode', value: st.mode + (st.upstreamUrl ? ` (${st.upstreamUrl})` : '') },
        { field: 'Upstream key', value: st.upstreamKey ? `${st.upstreamKey.algorithm} ${st.upstreamKey.fingerprintSha256}` : 'none installed (no response can be applied)' },
        { field: 'Sync required', value: st.syncRequired ? 'yes' : 'no' },
        { field: 'Last success', value: st.lastSuccess ? `${st.lastSuccess.at} (${st.lastSuccess.mode})` : 'never' },
        { field: 'Last error', value: st.lastError ? `${st.lastError.at} ${st.lastError.error}` : '-' },
        { field: 'Running', value: describeProgress(st.inProgress, new Date())?.replace(/^sync: /, '') ?? '-' },
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
    sync.command('import').description('manual sync, step 2: apply the signed response file from the vendor cloud').argument('<file>', 'response file'),
  ).action(
    action(async (file: string, opts: CommonOpts) => presentResult(opts, await apiFor(opts).call<SyncResult>('POST', '/api/v1/sync/response-file', readJson(file)))),
  );

  const key = program.command('upstream-key').description("the vendor's response-signing key: every sync response must verify with it");
  withApiOptions(
    key.command('install').description('install (or replace) the vendor key: a PEM public key or certificate').argument('<file>', 'PEM file from the vendor'),
  ).action(
    action(async (file: string, opts: CommonOpts) => {
      const installed = await apiFor(opts).call<Record<string, string>>('PUT', '/api/v1/sync/upstream-key', { pem: readText(file) });
      output(opts, installed, [
        { field: 'Installed', value: `${installed.algorithm} key ${installed.fingerprintSha256}` },
        { field: 'From certificate', value: installed.certificateSubject ?? '-' },
      ]);
    }),
  );
  withApiOptions(key.command('show').description('the installed vendor key')).action(
    action(async (opts: CommonOpts) => {
      const { upstreamKey: k } = await apiFor(opts).call<{ upstreamKey: Record<string, string> | null }>('GET', '/api/v1/sync/status');
      output(opts, k, [
        { field: 'Key', value: k ? `${k.algorithm} ${k.fingerprintSha256}` : 'none installed' },
        { field: 'Installed', value: k ? `${k.installedAt} by ${k.installedBy}` : '-' },
        { field: 'From certificate', value: k?.certificateSubject ?? '-' },
      ]);
    }),
  );

  registerReferenceUpstreamCommands(program);
}
