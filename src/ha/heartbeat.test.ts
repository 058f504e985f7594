import { randomBytes } from 'node:crypto';
import { ClusterEndpoint, PeerLink, sign, signedRequest, verify } from './heartbeat';

describe('cluster message signatures', () => {
  const key = randomBytes(32);
  const now = 1_800_000_000_000;
  test('When a message is signed with the key, then it verifies', () => {
    expect(verify(key, sign(key, 'POST', '/ha/heartbeat', '{"a":1}', now), 'POST', '/ha/heartbeat', '{"a":1}', now + 10)).toBe(true);
  });
  test('When the body, path, key or time differ, then it does not verify', () => {
    const header = sign(key, 'POST', '/ha/heartbeat', '{"a":1}', now);
    expect(verify(key, header, 'POST', '/ha/heartbeat', '{"a":2}', now)).toBe(false);
    expect(verify(key, header, 'POST', '/ha/cluster', '{"a":1}', now)).toBe(false);
    expect(verify(randomBytes(32), header, 'POST', '/ha/heartbeat', '{"a":1}', now)).toBe(false);
    expect(verify(key, header, 'POST', '/ha/heartbeat', '{"a":1}', now + 31_000)).toBe(false);
    expect(verify(key, 'garbage', 'POST', '/ha/heartbeat', '{"a":1}', now)).toBe(false);
  });
});

describe('PeerLink', () => {
  test('When the last heartbeat is older than the timeout, then the peer is disconnected', () => {
    const link = new PeerLink(3000);
    expect(link.connected(0)).toBe(false);
    link.record({ node: 'p', role: 'active', system: {} as never, sentAt: '' }, 1000);
    expect(link.connected(3999)).toBe(true);
    expect(link.connected(4001)).toBe(false);
  });
});

describe('ClusterEndpoint', () => {
  const key = randomBytes(32);
  let endpoint: ClusterEndpoint;
  let port: number;
  beforeAll(async () => {
    endpoint = new ClusterEndpoint(key, { 'POST /echo': (body) => ({ got: body }) });
    port = (await endpoint.listen('127.0.0.1', 0)).port;
  });
  afterAll(() => endpoint.close());

  test('When a signed request arrives, then the signed answer verifies', async () => {
    await expect(signedRequest(key, '127.0.0.1', port, 'POST', '/echo', { x: 1 })).resolves.toEqual({ got: { x: 1 } });
  });
  test('When the caller holds another key, then it is refused with HA_SIGNATURE_INVALID', async () => {
    await expect(signedRequest(randomBytes(32), '127.0.0.1', port, 'POST', '/echo', { x: 1 })).rejects.toMatchObject({ code: 'HA_SIGNATURE_INVALID' });
  });
  test('When nobody listens, then the call fails with HA_PEER_UNREACHABLE', async () => {
    await expect(signedRequest(key, '127.0.0.1', 1, 'GET', '/x')).rejects.toMatchObject({ code: 'HA_PEER_UNREACHABLE' });
  });
});
