import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { pinoHttp } from 'pino-http';
import { TRANSPORT_PATHS } from './error-handler';

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;
/** Codes of a 5xx that is a fault of ours; every other 5xx is a deliberate answer (NOT_ACTIVE_NODE, UPSTREAM_UNREACHABLE, ...). */
const FAULT_CODES = new Set(['INTERNAL_ERROR', 'RESPONSE_VALIDATION_FAILED']);

/**
 * The server's own warm-up requests (a cluster node compiles its validators before serving) carry
 * this header; its value is random per process, so no client can hide its requests from the log.
 */
export const WARM_UP_HEADER = 'x-slm-warm-up';
const WARM_UP_VALUE = randomBytes(16).toString('hex');
export const warmUpHeaders = () => ({ [WARM_UP_HEADER]: WARM_UP_VALUE });
export const isWarmUp = (req: IncomingMessage) => req.headers[WARM_UP_HEADER] === WARM_UP_VALUE;

/** The error code the error handler answered with (undefined on success). */
export const errorCodeOf = (res: ServerResponse): string | undefined => (res as { locals?: { errorCode?: string } }).locals?.errorCode;

function levelFor(req: IncomingMessage, res: ServerResponse): 'error' | 'warn' | 'info' | 'debug' {
  const status = res.statusCode;
  const code = errorCodeOf(res);
  if (status >= 500) return code === undefined || FAULT_CODES.has(code) ? 'error' : 'warn';
  if (status >= 400) return 'warn';
  return TRANSPORT_PATHS.includes((req.url ?? '').split('?')[0]) ? 'debug' : 'info';
}

/**
 * One line per request: id, method, URL, address, status, time and the error code if any. No
 * headers (serializing every header of every product message cost more CPU than its SQL), no
 * stack: a fault of ours is logged once, with its stack, by the error handler.
 */
export function requestLog(logger: Logger) {
  return pinoHttp({
    logger,
    genReqId: requestId,
    autoLogging: { ignore: (req) => req.url === '/healthz' || req.url === '/ha/role' || isWarmUp(req) },
    quietReqLogger: true,
    serializers: {
      req: (req: { id: unknown; method: string; url: string; remoteAddress?: string }) => ({ id: req.id, method: req.method, url: req.url, remoteAddress: req.remoteAddress }),
      res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
    },
    customLogLevel: (req, res) => levelFor(req, res),
    customSuccessMessage: (req, res, ms) => answeredMessage(req, res, ms),
    customErrorMessage: (req, res) => failureMessage(req, res),
    customSuccessObject: (_req, res, val) => ({ ...val, code: errorCodeOf(res) }),
    customErrorObject: (_req, res, _err, val) => ({ res: val.res, responseTime: val.responseTime, code: errorCodeOf(res) }),
  });
}

function requestId(req: IncomingMessage, res: ServerResponse): string {
  const incoming = req.headers['x-request-id'];
  const id = typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
  res.setHeader('X-Request-Id', id);
  return id;
}

const answeredMessage = (req: IncomingMessage, res: ServerResponse, ms: number) => `${req.method} ${req.url} ${res.statusCode} ${Math.round(ms)}ms ${errorCodeOf(res) ?? ''}`.trimEnd();
const failureMessage = (req: IncomingMessage, res: ServerResponse) => `${req.method} ${req.url} ${res.statusCode} ${errorCodeOf(res) ?? ''}`.trimEnd();

/**
 * The request log of product messages. Their successful lines are debug lines, so unless debug is
 * on only refused messages are written, and they are written without pino-http's per-request child
 * logger and serializers (a few percent of the server's CPU per message at the top of the profile);
 * the line and the X-Request-Id answer header are the same as requestLog's.
 */
export function productMessageLog(logger: Logger) {
  if (logger.isLevelEnabled('debug')) return requestLog(logger);
  return (req: IncomingMessage & { id?: unknown }, res: ServerResponse, next: () => void) => {
    const started = performance.now();
    req.id = requestId(req, res);
    res.once('finish', () => {
      if (res.statusCode < 400) return;
      const ms = performance.now() - started;
      logger[levelFor(req, res)]({
        req: { id: req.id, method: req.method, url: req.url, remoteAddress: req.socket.remoteAddress },
        res: { statusCode: res.statusCode },
        responseTime: Math.round(ms),
        code: errorCodeOf(res),
      }, res.statusCode >= 500 ? failureMessage(req, res) : answeredMessage(req, res, ms));
    });
    next();
  };
}
