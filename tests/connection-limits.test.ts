import net from 'node:net';
import tls from 'node:tls';
import { startTestServer, type TestServer } from './support/test-server';

/** Resolves with how long the server took to close the socket (or rejects after `limitMs`). */
function closedWithin(socket: net.Socket, limitMs: number): Promise<number> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`still open after ${limitMs} ms`)), limitMs);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(Date.now() - started);
    });
    socket.on('error', () => undefined);
    // Flowing mode: a paused socket never reports the server's end.
    socket.resume();
  });
}

function tlsConnect(server: TestServer): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port: server.address.port, ca: server.ca });
    socket.once('secureConnect', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Sends one GET /healthz on the socket and resolves with the status line. */
function get(socket: tls.TLSSocket): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const onData = (d: Buffer) => {
      buf += d.toString('utf8');
      if (buf.includes('\r\n\r\n') && buf.includes('"ok"')) {
        socket.off('data', onData);
        resolve(buf.split('\r\n')[0]);
      }
    };
    socket.on('data', onData);
    socket.once('error', reject);
    socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n');
  });
}

describe('HTTPS listener limits (issue 9, finding 10)', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer({
      env: {
        SLM_HTTP_HEADERS_TIMEOUT_SECONDS: '1',
        SLM_HTTP_REQUEST_TIMEOUT_SECONDS: '2',
        SLM_HTTP_KEEP_ALIVE_SECONDS: '4',
        SLM_HTTP_IDLE_TIMEOUT_SECONDS: '3',
        SLM_HTTP_MAX_CONNECTIONS: '6',
      },
    });
  });
  afterAll(() => server.close());

  test('When a TCP connection never starts TLS, then the server closes it after the handshake timeout', async () => {
    const socket = net.connect(server.address.port, '127.0.0.1');
    expect(await closedWithin(socket, 6000)).toBeLessThan(6000);
  });

  test('When a TLS connection never sends a request, then the server closes it after the header timeout', async () => {
    const socket = await tlsConnect(server);
    expect(await closedWithin(socket, 6000)).toBeLessThan(6000);
  });

  test('When a request body trickles in slower than the request timeout allows, then the connection is closed', async () => {
    const socket = await tlsConnect(server);
    socket.write('POST /api/v1/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{');
    const trickle = setInterval(() => socket.writable && socket.write(' '), 300);
    try {
      expect(await closedWithin(socket, 8000)).toBeLessThan(8000);
    } finally {
      clearInterval(trickle);
    }
  });

  test('When a product keeps its connection alive between messages, then the next request on it still works', async () => {
    const socket = await tlsConnect(server);
    try {
      expect(await get(socket)).toBe('HTTP/1.1 200 OK');
      // Longer than the header timeout, shorter than keep-alive and idle timeouts.
      await new Promise((r) => setTimeout(r, 1800));
      expect(await get(socket)).toBe('HTTP/1.1 200 OK');
    } finally {
      socket.destroy();
    }
  });

  test('When more connections than the cap are open, then the extra one is refused and the others keep working', async () => {
    const sockets = await Promise.all(Array.from({ length: 6 }, () => tlsConnect(server)));
    try {
      const extra = net.connect(server.address.port, '127.0.0.1');
      expect(await closedWithin(extra, 900)).toBeLessThan(900);
      expect(await get(sockets[0])).toBe('HTTP/1.1 200 OK');
    } finally {
      sockets.forEach((s) => s.destroy());
    }
  });
});
