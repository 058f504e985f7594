import { createContext, useContext } from 'react';
import type { AlertProps } from '@patternfly/react-core';

export type SessionUser = { username: string; role: 'admin' | 'operator'; expiresAt?: string };

export type Session = {
  user: SessionUser;
  /** Admins write; operators see everything read-only (no write controls are shown). */
  canWrite: boolean;
  notify: (title: string, variant?: AlertProps['variant']) => void;
  logout: () => void;
};

export const SessionContext = createContext<Session | undefined>(undefined);

export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error('useSession outside the session');
  return s;
}
