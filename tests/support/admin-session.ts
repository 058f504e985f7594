import type { TestServer } from './test-server';

export const OPERATOR = { username: 'olga', password: 'operator-pass' };

/** An admin and an operator session on a test server, with request helpers that send a session (the admin's unless told). */
export async function adminSessions(server: TestServer) {
  const admin = await server.login();
  const get = (path: string, token = admin) => server.http().get(path).auth(token, { type: 'bearer' });
  const post = (path: string, body?: object, token = admin) => {
    const req = server.http().post(path).auth(token, { type: 'bearer' });
    return body === undefined ? req : req.send(body);
  };
  const created = await post('/api/v1/users', { ...OPERATOR, role: 'operator' });
  if (created.status !== 201) throw new Error(`operator creation failed: ${created.status} ${JSON.stringify(created.body)}`);
  const operator = await server.login(OPERATOR.username, OPERATOR.password);
  return { admin, operator, get, post };
}
export type AdminSessions = Awaited<ReturnType<typeof adminSessions>>;
