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
    genReqId: (req, res) => {
      const incoming = req.headers['x-request-id'];
      const id = typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
      res.setHeader('X-Request-Id', id);
      return id;
    },
    autoLogging: { ignore: (req) => req.url === '/healthz' || req.url === '/ha/role' || isWarmUp(req) },
    quietReqLogger: true,
    serializers: {
      req: (req: { id: unknown; method: string; url: string; remoteAddress?: string }) => ({ id: req.id, method: req.method, url: req.url, remoteAddress: req.remoteAddress }),
      res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
    },
    customLogLevel: (req, res) => levelFor(req, res),
    customSuccessMessage: (req, res, ms) => `${req.method} ${req.url} ${res.statusCode} ${Math.round(ms)}ms ${errorCodeOf(res) ?? ''}`.trimEnd(),
    customErrorMessage: (req, res) => `${req.method} ${req.url} ${res.statusCode} ${errorCodeOf(res) ?? ''}`.trimEnd(),
    customSuccessObject: (_req, res, val) => ({ ...val, code: errorCodeOf(res) }),
    customErrorObject: (_req, res, _err, val) => ({ res: val.res, responseTime: val.responseTime, code: errorCodeOf(res) }),
  });
}
