import { useState } from 'react';
import { Button, Card, CardBody, CardTitle, ClipboardCopy, Content, Flex, Stack } from '@patternfly/react-core';
import { api, enc } from '../api';
import { ConfirmModal, FormModal } from '../components/form';
import { date, StatusLabel } from '../components/format';
import { useLoad } from '../components/hooks';
import { DataTable } from '../components/table';
import { useSession } from '../session';
import type { RegistrationToken } from '../types';

const TRANSPORT_PATH = '/Transportgateway/services/DeviceRequestHandler';

/** The URL products are configured with: the Host Common Name on this server's HTTPS port. */
function TransportUrl() {
  const hcn = useLoad(() => api<{ name: string }>('GET', '/api/v1/settings/host-common-name'), []);
  if (!hcn.data) return null;
  const host = hcn.data.name.includes(':') ? `[${hcn.data.name}]` : hcn.data.name;
  const url = `https://${host}${window.location.port ? `:${window.location.port}` : ''}${TRANSPORT_PATH}`;
  return (
    <Card>
      <CardTitle component="h2">Transport URL</CardTitle>
      <CardBody>
        <Content component="p">Configure products with this URL (Host Common Name {hcn.data.name}) and a registration token below.</Content>
        <ClipboardCopy isReadOnly hoverTip="Copy" clickTip="Copied" textAriaLabel="Transport URL" toggleAriaLabel="Show transport URL" data-testid="transport-url">
          {url}
        </ClipboardCopy>
      </CardBody>
    </Card>
  );
}

export function InventoryTab({ account, va }: { account: string; va: string }) {
  const session = useSession();
  const [creating, setCreating] = useState(false);
  const [revoking, setRevoking] = useState<RegistrationToken>();
  const path = `/api/v1/accounts/${enc(account)}/virtual-accounts/${enc(va)}/tokens`;
  const tokens = useLoad(() => api<{ tokens: RegistrationToken[] }>('GET', path).then((r) => r.tokens), [path]);
  const copy = async (t: RegistrationToken) => {
    try {
      await navigator.clipboard.writeText(t.token!);
      session.notify(`Token "${t.description}" copied to the clipboard`);
    } catch {
      session.notify('The browser refused the clipboard: select the token and copy it by hand', 'warning');
    }
  };
  const createButton = session.canWrite ? <Button onClick={() => setCreating(true)}>New token</Button> : undefined;

  return (
    <Stack hasGutter>
      <TransportUrl />
      <Card>
        <CardTitle component="h2">Product Instance Registration Tokens</CardTitle>
        <CardBody>
          <Stack hasGutter>
            {createButton && <Flex>{createButton}</Flex>}
            <DataTable
              label="Registration tokens"
              rows={tokens.data}
              error={tokens.error}
              rowKey={(t) => t.id}
              empty={{ title: 'No registration tokens', body: session.canWrite ? 'Create a token and paste it into your products to register them here.' : 'An admin creates registration tokens.', action: createButton }}
              columns={[
                { title: 'Description', render: (t) => t.description },
                { title: 'Token', render: (t) => (t.token ? <span className="slm-token" title={t.token}>{t.token}</span> : 'hidden') },
                { title: 'Expires', render: (t) => date(t.expiresAt), nowrap: true },
                { title: 'Uses', render: (t) => `${t.uses} of ${t.maxUses}`, nowrap: true },
                { title: 'Export-controlled', render: (t) => (t.exportControlled ? 'allowed' : 'not allowed') },
                { title: 'Created by', render: (t) => t.createdBy },
                { title: 'Status', render: (t) => <StatusLabel value={t.status} /> },
                {
                  title: 'Actions',
                  render: (t) => (
                    <Flex gap={{ default: 'gapSm' }} flexWrap={{ default: 'nowrap' }}>
                      {t.token && (
                        <Button size="sm" variant="secondary" onClick={() => copy(t)} aria-label={`Copy token ${t.description}`}>
                          Copy
                        </Button>
                      )}
                      {session.canWrite && t.status === 'ACTIVE' && (
                        <Button size="sm" variant="secondary" isDanger onClick={() => setRevoking(t)} aria-label={`Revoke token ${t.description}`}>
                          Revoke
                        </Button>
                      )}
                    </Flex>
                  ),
                },
              ]}
            />
          </Stack>
        </CardBody>
      </Card>
      {creating && (
        <FormModal
          title="New registration token"
          submitLabel="Create token"
          fields={[
            { name: 'description', label: 'Description', required: true },
            { name: 'expiresInDays', label: 'Expires after (days)', type: 'number', required: true, initial: '30', helper: '1 to 365 days.' },
            { name: 'maxUses', label: 'Maximum number of uses', type: 'number', required: true, initial: '1', helper: 'How many products may register with it.' },
            { name: 'exportControlled', label: 'Allow export-controlled functionality on the products registered with this token', type: 'checkbox' },
          ]}
          onClose={() => setCreating(false)}
          onSubmit={async (v) => {
            await api('POST', path, { description: v.description, expiresInDays: Number(v.expiresInDays), maxUses: Number(v.maxUses), exportControlled: v.exportControlled === true });
            setCreating(false);
            session.notify('Registration token created');
            tokens.reload();
          }}
        />
      )}
      {revoking && (
        <ConfirmModal
          title={`Revoke "${revoking.description}"?`}
          body="Products cannot register with it any more; products registered with it stay registered."
          confirmLabel="Revoke"
          onClose={() => setRevoking(undefined)}
          onConfirm={async () => {
            await api('POST', `/api/v1/tokens/${enc(revoking.id)}/revoke`);
            setRevoking(undefined);
            session.notify('Token revoked');
            tokens.reload();
          }}
        />
      )}
    </Stack>
  );
}
