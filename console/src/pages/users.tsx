import { useState } from 'react';
import { Alert, Button, Flex } from '@patternfly/react-core';
import { api, enc } from '../api';
import { ConfirmModal, FormModal } from '../components/form';
import { date, StatusLabel } from '../components/format';
import { useLoad } from '../components/hooks';
import { PageFrame } from '../components/page';
import { DataTable } from '../components/table';
import { useSession } from '../session';

type User = { username: string; role: 'admin' | 'operator'; createdAt: string };
const ROLES = [
  { value: 'operator', label: 'Operator (read only)' },
  { value: 'admin', label: 'Admin' },
];

export function UsersPage() {
  const session = useSession();
  const [modal, setModal] = useState<{ kind: 'create' } | { kind: 'role' | 'password' | 'delete'; user: User }>();
  const users = useLoad(() => api<{ users: User[] }>('GET', '/api/v1/users').then((r) => r.users), []);
  const close = () => setModal(undefined);
  const done = (message: string) => {
    close();
    session.notify(message);
    users.reload();
  };
  const createButton = session.canWrite ? <Button onClick={() => setModal({ kind: 'create' })}>New user</Button> : undefined;

  return (
    <PageFrame title="Users" description="Who can log in to this console and the admin API: admins change things, operators look." actions={createButton}>
      {users.error?.status === 403 ? (
        <Alert variant="info" isInline title="Only admins can see the users of this server." />
      ) : (
        <DataTable
          label="Users"
          rows={users.data}
          error={users.error}
          rowKey={(u) => u.username}
          empty={{ title: 'No users', body: 'Create a user.', action: createButton }}
          columns={[
            { title: 'Username', render: (u) => u.username },
            { title: 'Role', render: (u) => <StatusLabel value={u.role} /> },
            { title: 'Created', render: (u) => date(u.createdAt) },
            {
              title: 'Actions',
              render: (u) =>
                session.canWrite && (
                  <Flex gap={{ default: 'gapSm' }}>
                    <Button size="sm" variant="secondary" onClick={() => setModal({ kind: 'role', user: u })} aria-label={`Role of ${u.username}`}>
                      Role
                    </Button>
                    <Button size="sm" variant="secondary" onClick={() => setModal({ kind: 'password', user: u })} aria-label={`Reset password of ${u.username}`}>
                      Reset password
                    </Button>
                    <Button size="sm" variant="secondary" isDanger onClick={() => setModal({ kind: 'delete', user: u })} aria-label={`Delete ${u.username}`}>
                      Delete
                    </Button>
                  </Flex>
                ),
            },
          ]}
        />
      )}
      {modal?.kind === 'create' && (
        <FormModal
          title="New user"
          submitLabel="Create"
          fields={[
            { name: 'username', label: 'Username', required: true, autoComplete: 'off' },
            { name: 'password', label: 'Password', type: 'password', required: true, autoComplete: 'new-password', helper: 'At least 8 characters.' },
            { name: 'role', label: 'Role', type: 'select', options: ROLES },
          ]}
          onClose={close}
          onSubmit={async (v) => {
            await api('POST', '/api/v1/users', { username: v.username, password: v.password, role: v.role });
            done(`User ${v.username} created`);
          }}
        />
      )}
      {modal?.kind === 'role' && (
        <FormModal
          title={`Role of ${modal.user.username}`}
          submitLabel="Save"
          fields={[{ name: 'role', label: 'Role', type: 'select', options: ROLES, initial: modal.user.role }]}
          onClose={close}
          onSubmit={async (v) => {
            await api('PATCH', `/api/v1/users/${enc(modal.user.username)}`, { role: v.role });
            done(`${modal.user.username} is now ${v.role}`);
          }}
        />
      )}
      {modal?.kind === 'password' && (
        <FormModal
          title={`New password for ${modal.user.username}`}
          submitLabel="Set password"
          description="Their current sessions end."
          fields={[{ name: 'newPassword', label: 'New password', type: 'password', required: true, autoComplete: 'new-password', helper: 'At least 8 characters.' }]}
          onClose={close}
          onSubmit={async (v) => {
            await api('PUT', `/api/v1/users/${enc(modal.user.username)}/password`, { newPassword: v.newPassword });
            done(`Password of ${modal.user.username} reset`);
          }}
        />
      )}
      {modal?.kind === 'delete' && (
        <ConfirmModal
          title={`Delete ${modal.user.username}?`}
          body="The user can no longer log in."
          confirmLabel="Delete"
          onClose={close}
          onConfirm={async () => {
            await api('DELETE', `/api/v1/users/${enc(modal.user.username)}`);
            done(`User ${modal.user.username} deleted`);
          }}
        />
      )}
    </PageFrame>
  );
}
