import { useState } from 'react';
import {
  Alert, Button, Card, CardBody, CardTitle, Flex, Spinner, Stack,
} from '@patternfly/react-core';
import { api, ApiError } from '../api';
import { download } from '../components/files';
import { dateTime } from '../components/format';
import { Details } from '../components/details';
import { JsonFileButton } from '../components/file-button';
import { useLoad } from '../components/hooks';
import { PageFrame } from '../components/page';
import { useSession } from '../session';

type SyncStatus = {
  mode: 'NETWORK' | 'MANUAL'; upstreamUrl: string | null; intervalSeconds: number; nextRunAt: string | null; syncRequired: boolean;
  lastSuccess: { at: string; mode: string; requestId: string } | null; lastError: { at: string; mode: string; requestId: string; error: string } | null;
  pendingRequests: number;
};
type SyncResult = { outcome: string; summary?: { accountsApproved: string[]; virtualAccounts: unknown[] } };

export function SyncPage() {
  const session = useSession();
  const status = useLoad(() => api<SyncStatus>('GET', '/api/v1/sync/status'), []);
  const [running, setRunning] = useState<string>();
  const [result, setResult] = useState<{ variant: 'success' | 'danger'; title: string }>();
  const s = status.data;

  const run = async (label: string, action: () => Promise<string>) => {
    setRunning(label);
    setResult(undefined);
    try {
      setResult({ variant: 'success', title: await action() });
    } catch (err) {
      setResult({ variant: 'danger', title: err instanceof ApiError ? `${err.code}: ${err.message}` : String(err) });
    } finally {
      setRunning(undefined);
      status.reload();
    }
  };
  const describe = (r: SyncResult) => (r.outcome === 'ALREADY_APPLIED' ? 'This response was applied before: nothing changed.' : `Applied: ${r.summary?.accountsApproved.length ?? 0} account(s) approved, ${r.summary?.virtualAccounts.length ?? 0} virtual account(s) updated.`);

  const syncNow = () => run('Synchronizing with the vendor cloud', async () => describe(await api<SyncResult>('POST', '/api/v1/sync')));
  const exportRequest = () =>
    run('Creating the request file', async () => {
      const req = await api<{ requestId: string }>('POST', '/api/v1/sync/request-file');
      download(`sync-request-${req.requestId}.json`, JSON.stringify(req, null, 2), 'application/json');
      return 'Request file saved: take it to the vendor cloud and bring back its response file.';
    });
  const importResponse = (file: Promise<unknown>) =>
    run('Applying the response file', async () => describe(await api<SyncResult>('POST', '/api/v1/sync/response-file', await file)));

  return (
    <PageFrame title="Synchronization" description="License and account data from the vendor cloud: over the network, or with request and response files on closed networks.">
      <Stack hasGutter>
        {status.error && <Alert variant="danger" isInline title={status.error.message} />}
        {s?.syncRequired && <Alert variant="warning" isInline title="A synchronization is required (the Host Common Name changed)." />}
        {s && (
          <Card>
            <CardTitle component="h2">Status</CardTitle>
            <CardBody>
              <Details
                entries={[
                  ['Mode', s.mode === 'NETWORK' ? `Network (${s.upstreamUrl})` : 'Manual (files)'],
                  ['Last success', s.lastSuccess ? `${dateTime(s.lastSuccess.at)} (${s.lastSuccess.mode.toLowerCase()})` : 'never'],
                  ['Last error', s.lastError ? `${dateTime(s.lastError.at)}: ${s.lastError.error}` : 'none'],
                  ['Next scheduled run', s.nextRunAt ? dateTime(s.nextRunAt) : 'not scheduled'],
                  ['Requests awaiting a response', s.pendingRequests],
                ]}
              />
            </CardBody>
          </Card>
        )}
        {session.canWrite && (
          <Card>
            <CardTitle component="h2">Synchronize</CardTitle>
            <CardBody>
              <Stack hasGutter>
                <Flex>
                  <Button onClick={syncNow} isDisabled={!!running || s?.mode !== 'NETWORK'}>Synchronize now</Button>
                  <Button variant="secondary" onClick={exportRequest} isDisabled={!!running}>Export request file</Button>
                  <JsonFileButton label="Import response file" disabled={!!running} onFile={(json) => void importResponse(json)} />
                </Flex>
                {running && (
                  <Flex gap={{ default: 'gapSm' }} role="status">
                    <Spinner size="md" aria-hidden="true" /> {running}…
                  </Flex>
                )}
                {result && <Alert variant={result.variant} isInline title={result.title} />}
              </Stack>
            </CardBody>
          </Card>
        )}
      </Stack>
    </PageFrame>
  );
}
