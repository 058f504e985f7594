import { useState, type FormEvent } from 'react';
import { LoginForm, LoginPage } from '@patternfly/react-core';
import { api, ApiError } from '../api';
import type { SessionUser } from '../session';

/** The server's users log in here; the server answers with the session cookie (the token in the body is ignored). */
export function LoginScreen({ message, onLoggedIn }: { message?: string; onLoggedIn: (user: SessionUser) => void }) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!username || !password) {
      setError('Enter your username and password.');
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      const res = await api<{ role: SessionUser['role'] }>('POST', '/api/v1/auth/login', { username, password });
      setPassword('');
      onLoggedIn({ username, role: res.role });
    } catch (err) {
      setError(err instanceof ApiError ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <LoginPage loginTitle="Log in to SLM On-Prem" loginSubtitle="Smart licensing, on premises" textContent="Administration and Licensing workspaces">
      <LoginForm
        showHelperText={Boolean(error ?? message)}
        helperText={error ?? message}
        usernameLabel="Username"
        usernameValue={username}
        onChangeUsername={(_e, v) => setUsername(v)}
        isValidUsername={!error}
        passwordLabel="Password"
        passwordValue={password}
        onChangePassword={(_e, v) => setPassword(v)}
        isValidPassword={!error}
        loginButtonLabel="Log in"
        isLoginButtonDisabled={busy}
        onLoginButtonClick={submit}
      />
    </LoginPage>
  );
}
