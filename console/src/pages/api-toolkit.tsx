import { useState } from 'react';
import { Alert, Button, ClipboardCopy, DescriptionList, DescriptionListDescription, DescriptionListGroup, DescriptionListTerm, Flex, Modal, ModalBody, ModalFooter, ModalHeader, Stack } from '@patternfly/react-core';
import { api, enc } from '../api';
import { ConfirmModal, FormModal } from '../components/form';
import { dateTime } from '../components/format';
import { useLoad } from '../components/hooks';
import { PageFrame } from '../components/page';
import { AccountPicker } from '../components/pickers';
import { DataTable } from '../components/table';
import { navigate, useQuery } from '../router';
import { useSession } from '../session';

type ApiClient = { clientId: string; name: string; accountName: string; createdAt: string; permission?: 'read' | 'manage' };
type Secret = { clientId: string; clientSecret: string };

/** The secret is shown once, right after it is made; the server keeps only its hash. */
function SecretModal({ secret, onClose }: { secret: Secret; onClose: () => void }) {
  return (
    <Modal isOpen variant="medium" onClose={onClose} aria-labelledby="secret-title">
      <ModalHeader title="Client secret" labelId="secret-title" description="Copy the secret now: it cannot be shown again." />
      <ModalBody>
        <DescriptionList>
          {(
            [
              ['Client ID', secret.clientId],
              ['Client secret', secret.clientSecret],
            ] as const
          ).map(([term, value]) => (
            <DescriptionListGroup key={term}>
              <DescriptionListTerm>{term}</DescriptionListTerm>
              <DescriptionListDescription>
                <ClipboardCopy isReadOnly hoverTip="Copy" clickTip="Copied" textAriaLabel={term} toggleAriaLabel={`Show ${term}`}>
                  {value}
                </ClipboardCopy>
              </DescriptionListDescription>
            </DescriptionListGroup>
          ))}
        </DescriptionList>
      </ModalBody>
      <ModalFooter>
        <Button onClick={onClose}>Done</Button>
      </ModalFooter>
    </Modal>
  );
}

export function ApiToolkitPage() {
  const session = useSession();
  const account = useQuery().get('account') ?? undefined;
  const [modal, setModal] = useState<{ kind: 'create' } | { kind: 'delete' | 'rotate'; client: ApiClient }>();
  const [secret, setSecret] = useState<Secret>();
  const clients = useLoad(
    () => (account ? api<{ apiClients: ApiClient[] }>('GET', `/api/v1/accounts/${enc(account)}/api-clients`).then((r) => r.apiClients) : Promise.resolve(undefined)),
    [account],
  );
  const close = () => setModal(undefined);
  const createButton = session.canWrite && account ? <Button onClick={() => setModal({ kind: 'create' })}>New API client</Button> : undefined;

  return (
    <PageFrame title="API Toolkit" description="OAuth 2.0 clients that read an account's licenses and alerts through the API Toolkit." actions={createButton}>
      <Stack hasGutter>
        <AccountPicker account={account} onChange={(a) => navigate(`/admin/api-toolkit?account=${enc(a)}`)} />
        {!account ? (
          <Alert variant="info" isInline title="Choose a local account to see its API clients." />
        ) : (
          <DataTable
            label="API clients"
            rows={clients.data}
            error={clients.error}
            rowKey={(c) => c.clientId}
            empty={{ title: 'No API clients', body: session.canWrite ? 'Create a client for each integration that reads this account.' : 'An admin creates API clients.', action: createButton }}
            columns={[
              { title: 'Name', render: (c) => c.name },
              { title: 'Client ID', render: (c) => <span className="slm-break">{c.clientId}</span> },
              { title: 'Permission', render: (c) => c.permission ?? 'read' },
              { title: 'Created', render: (c) => dateTime(c.createdAt) },
              {
                title: 'Actions',
                render: (c) =>
                  session.canWrite && (
                    <Flex gap={{ default: 'gapSm' }} flexWrap={{ default: 'nowrap' }}>
                      <Button size="sm" variant="secondary" onClick={() => setModal({ kind: 'rotate', client: c })} aria-label={`Rotate secret of ${c.name}`}>Rotate secret</Button>
                      <Button size="sm" variant="secondary" isDanger onClick={() => setModal({ kind: 'delete', client: c })} aria-label={`Delete ${c.name}`}>Delete</Button>
                    </Flex>
                  ),
              },
            ]}
          />
        )}
      </Stack>
      {modal?.kind === 'create' && account && (
        <FormModal
          title="New API client"
          submitLabel="Create"
          fields={[
            { name: 'name', label: 'Name', required: true },
            { name: 'permission', label: 'Permission', type: 'select', options: [{ value: 'read', label: 'Read licenses and alerts' }, { value: 'manage', label: 'Manage' }] },
          ]}
          onClose={close}
          onSubmit={async (v) => {
            const body = v.permission === 'read' ? { name: v.name } : { name: v.name, permission: v.permission };
            setSecret(await api<Secret>('POST', `/api/v1/accounts/${enc(account)}/api-clients`, body));
            close();
            clients.reload();
          }}
        />
      )}
      {modal?.kind === 'rotate' && account && (
        <ConfirmModal
          title={`Rotate the secret of ${modal.client.name}?`}
          body="The current secret stops working; integrations need the new one."
          confirmLabel="Rotate"
          onClose={close}
          onConfirm={async () => {
            setSecret(await api<Secret>('POST', `/api/v1/accounts/${enc(account)}/api-clients/${enc(modal.client.clientId)}/rotate-secret`));
            close();
          }}
        />
      )}
      {modal?.kind === 'delete' && account && (
        <ConfirmModal
          title={`Delete ${modal.client.name}?`}
          body="Its access tokens stop working."
          confirmLabel="Delete"
          onClose={close}
          onConfirm={async () => {
            await api('DELETE', `/api/v1/accounts/${enc(account)}/api-clients/${enc(modal.client.clientId)}`);
            close();
            session.notify(`API client ${modal.client.name} deleted`);
            clients.reload();
          }}
        />
      )}
      {secret && <SecretModal secret={secret} onClose={() => setSecret(undefined)} />}
    </PageFrame>
  );
}
