import { useCallback, useEffect, useMemo, useState } from 'react';
import { Alert, AlertActionCloseButton, AlertGroup, Bullseye, Spinner, type AlertProps } from '@patternfly/react-core';
import { api, ApiError, onSessionLost } from './api';
import { SessionContext, type Session, type SessionUser } from './session';
import { LoginScreen } from './pages/login';
import { Shell } from './shell';

const LOST_MESSAGES: Record<string, string> = {
  SESSION_EXPIRED: 'Your session has expired. Log in again.',
  SESSION_REVOKED: 'Your session was ended (logged out elsewhere, or your password or account changed). Log in again.',
  SESSION_INVALID: 'Your session is no longer valid. Log in again.',
};

type Toast = { key: number; title: string; variant: AlertProps['variant'] };

export function App() {
  const [user, setUser] = useState<SessionUser | null | undefined>(undefined);
  const [loginMessage, setLoginMessage] = useState<string>();
  const [toasts, setToasts] = useState<Toast[]>([]);

  const lose = useCallback((err: ApiError) => {
    setUser(null);
    setLoginMessage(LOST_MESSAGES[err.code]);
  }, []);

  useEffect(() => {
    onSessionLost(lose);
    api<SessionUser>('GET', '/api/v1/auth/session').then(setUser, (err: ApiError) => {
      setUser(null);
      // No cookie at all is a first visit, not a lost session.
      if (err.code !== 'AUTHENTICATION_REQUIRED' && err.status === 401) setLoginMessage(LOST_MESSAGES[err.code]);
    });
  }, [lose]);

  const notify = useCallback((title: string, variant: AlertProps['variant'] = 'success') => {
    const key = Date.now() + Math.random();
    setToasts((t) => [...t, { key, title, variant }]);
    setTimeout(() => setToasts((t) => t.filter((x) => x.key !== key)), 6000);
  }, []);

  const session = useMemo<Session | undefined>(
    () =>
      user
        ? {
            user,
            canWrite: user.role === 'admin',
            notify,
            logout: () => {
              api('POST', '/api/v1/auth/logout').catch(() => undefined).finally(() => {
                setUser(null);
                setLoginMessage('You have logged out.');
              });
            },
          }
        : undefined,
    [user, notify],
  );

  if (user === undefined) {
    return (
      <Bullseye>
        <Spinner aria-label="Loading the console" />
      </Bullseye>
    );
  }
  return (
    <>
      <AlertGroup isToast isLiveRegion>
        {toasts.map((t) => (
          <Alert key={t.key} variant={t.variant} title={t.title} actionClose={<AlertActionCloseButton onClose={() => setToasts((all) => all.filter((x) => x.key !== t.key))} />} />
        ))}
      </AlertGroup>
      {session ? (
        <SessionContext.Provider value={session}>
          <Shell />
        </SessionContext.Provider>
      ) : (
        <LoginScreen
          message={loginMessage}
          onLoggedIn={(u) => {
            setLoginMessage(undefined);
            setUser(u);
          }}
        />
      )}
    </>
  );
}
