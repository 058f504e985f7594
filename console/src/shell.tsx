import { useEffect, useState, type ReactNode } from 'react';
import {
  Button, Masthead, MastheadBrand, MastheadContent, MastheadLogo, MastheadMain, MastheadToggle, Nav, NavGroup, NavItem, Page,
  PageSidebar, PageSidebarBody, PageToggleButton, SkipToContent, Toolbar, ToolbarContent, ToolbarGroup, ToolbarItem,
} from '@patternfly/react-core';
import BarsIcon from '@patternfly/react-icons/dist/esm/icons/bars-icon';
import { api } from './api';
import { FormModal } from './components/form';
import { StatusLabel } from './components/format';
import { match, navigate, usePath } from './router';
import { useSession } from './session';
import { AccountsPage } from './pages/accounts';
import { AccountDetailPage } from './pages/account-detail';
import { UsersPage } from './pages/users';
import { ApiToolkitPage } from './pages/api-toolkit';
import { CertificatesPage } from './pages/certificates';
import { SyncPage } from './pages/sync';
import { EventsPage } from './pages/events';
import { HaPage } from './pages/ha';
import { LicensingPage } from './pages/licensing';

const ADMIN_PAGES: [string, string][] = [
  ['/admin/accounts', 'Accounts'],
  ['/admin/users', 'Users'],
  ['/admin/api-toolkit', 'API Toolkit'],
  ['/admin/certificates', 'Security: Certificates'],
  ['/admin/sync', 'Synchronization'],
  ['/admin/events', 'Event Log'],
  ['/admin/ha', 'High Availability'],
];

function route(path: string): ReactNode {
  let m: Record<string, string> | undefined;
  if ((m = match('/admin/accounts/:account', path))) return <AccountDetailPage account={m.account} />;
  if ((m = match('/licensing/:account/:va/:tab', path))) return <LicensingPage account={m.account} va={m.va} tab={m.tab} />;
  if ((m = match('/licensing/:account/:va', path))) return <LicensingPage account={m.account} va={m.va} tab="alerts" />;
  if (path.startsWith('/licensing')) return <LicensingPage />;
  switch (path.replace(/\/$/, '')) {
    case '/admin/accounts': return <AccountsPage />;
    case '/admin/users': return <UsersPage />;
    case '/admin/api-toolkit': return <ApiToolkitPage />;
    case '/admin/certificates': return <CertificatesPage />;
    case '/admin/sync': return <SyncPage />;
    case '/admin/events': return <EventsPage />;
    case '/admin/ha': return <HaPage />;
    default: return null;
  }
}

export function Shell() {
  const session = useSession();
  const path = usePath();
  const [changingPassword, setChangingPassword] = useState(false);
  const page = route(path);

  useEffect(() => {
    if (!page) navigate('/admin/accounts', true);
  }, [page]);

  const go = (to: string) => (e: { preventDefault: () => void }) => {
    e.preventDefault();
    navigate(to);
  };

  const masthead = (
    <Masthead>
      <MastheadMain>
        <MastheadToggle>
          <PageToggleButton variant="plain" aria-label="Main navigation">
            <BarsIcon />
          </PageToggleButton>
        </MastheadToggle>
        <MastheadBrand>
          <MastheadLogo href="/" onClick={go('/admin/accounts')}>
            <span className="slm-brand">SLM On-Prem</span>
          </MastheadLogo>
        </MastheadBrand>
      </MastheadMain>
      <MastheadContent>
        <Toolbar isFullHeight>
          <ToolbarContent>
            <ToolbarGroup align={{ default: 'alignEnd' }} gap={{ default: 'gapSm' }}>
              <ToolbarItem visibility={{ default: 'hidden', md: 'visible' }}>
                <span data-testid="current-user">{session.user.username}</span> <StatusLabel value={session.user.role} />
              </ToolbarItem>
              <ToolbarItem>
                <Button variant="secondary" size="sm" onClick={() => setChangingPassword(true)}>
                  Change password
                </Button>
              </ToolbarItem>
              <ToolbarItem>
                <Button variant="secondary" size="sm" onClick={session.logout}>
                  Log out
                </Button>
              </ToolbarItem>
            </ToolbarGroup>
          </ToolbarContent>
        </Toolbar>
      </MastheadContent>
    </Masthead>
  );

  const sidebar = (
    <PageSidebar>
      <PageSidebarBody>
        <Nav aria-label="Workspaces">
          <NavGroup title="Administration">
            {ADMIN_PAGES.map(([to, label]) => (
              <NavItem key={to} to={to} isActive={path === to || path.startsWith(`${to}/`)} onClick={go(to)}>
                {label}
              </NavItem>
            ))}
          </NavGroup>
          <NavGroup title="Licensing">
            <NavItem to="/licensing" isActive={path.startsWith('/licensing')} onClick={go('/licensing')}>
              Accounts and licenses
            </NavItem>
          </NavGroup>
        </Nav>
      </PageSidebarBody>
    </PageSidebar>
  );

  return (
    <Page
      masthead={masthead}
      sidebar={sidebar}
      isManagedSidebar
      skipToContent={<SkipToContent href="#main">Skip to content</SkipToContent>}
      mainContainerId="main"
    >
      {page}
      {changingPassword && (
        <FormModal
          title="Change your password"
          submitLabel="Change password"
          fields={[
            { name: 'currentPassword', label: 'Current password', type: 'password', required: true, autoComplete: 'current-password' },
            { name: 'newPassword', label: 'New password', type: 'password', required: true, autoComplete: 'new-password', helper: 'At least 8 characters.' },
          ]}
          onClose={() => setChangingPassword(false)}
          onSubmit={async (v) => {
            await api('PUT', '/api/v1/users/me/password', { currentPassword: v.currentPassword, newPassword: v.newPassword });
            setChangingPassword(false);
            session.notify('Your password was changed');
          }}
        />
      )}
    </Page>
  );
}
