import type { NextFunction, Request, Response } from 'express';
import type { Logger } from 'pino';
import { AppError } from '../errors';

export const TRANSPORT_PATHS = ['/Transportgateway/services/DeviceRequestHandler', '/SmartTransport'];
export const OAUTH_TOKEN_PATH = '/backend/oauth/token';

type HttpishError = Error & { status?: number; type?: string; errors?: { path?: string; message: string }[] };

/** Turns a framework error (body parser, OpenAPI validator) into an AppError with a stable code. */
function toAppError(err: HttpishError, req: Request): AppError {
  if (err instanceof AppError) return err;
  const transport = TRANSPORT_PATHS.includes(req.path);
  if (err.type === 'entity.too.large') return new AppError('PAYLOAD_TOO_LARGE', 413, 'the request body is too large');
  if (err.type === 'parameters.too.many') return new AppError('PAYLOAD_TOO_LARGE', 413, 'the form has too many fields');
  if (err.type === 'charset.unsupported' || err.type === 'encoding.unsupported') {
    return new AppError(transport ? 'INVALID_MESSAGE' : 'UNSUPPORTED_MEDIA_TYPE', 415, err.message);
  }
  const sqlState = dataExceptionState(err);
  if (sqlState) {
    // A value PostgreSQL refuses (NUL in text, out-of-range number, malformed UUID...) is the caller's input.
    return new AppError(transport ? 'INVALID_MESSAGE' : 'VALIDATION_FAILED', 400, 'a value in the request is not acceptable', { sqlState });
  }
  const status = err.status ?? 500;
  if (err.type === 'entity.parse.failed') {
    return new AppError(transport ? 'INVALID_MESSAGE' : 'INVALID_JSON', 400, 'the request body is not valid JSON');
  }
  if (status === 400) {
    const errors = (err.errors ?? []).map((e) => ({ path: e.path, message: e.message }));
    const message = errors.length ? errors.map((e) => `${e.path ?? ''} ${e.message}`.trim()).join('; ') : err.message;
    return new AppError(transport ? 'INVALID_MESSAGE' : 'VALIDATION_FAILED', 400, message, { errors });
  }
  if (status === 404) return new AppError('NOT_FOUND', 404, `no such endpoint: ${req.method} ${req.path}`);
  if (status === 405) return new AppError('METHOD_NOT_ALLOWED', 405, `${req.method} is not allowed on ${req.path}`);
  if (status === 415) return new AppError(transport ? 'INVALID_MESSAGE' : 'UNSUPPORTED_MEDIA_TYPE', 415, err.message);
  if (status === 500 && err.errors) {
    return new AppError('RESPONSE_VALIDATION_FAILED', 500, `response does not match openapi.yaml: ${err.message}`);
  }
  if (status === 401) return new AppError('AUTHENTICATION_REQUIRED', 401, err.message);
  // Any other client error a framework raises (aborted or malformed request) stays a client error.
  if (status >= 400 && status < 500) return new AppError(transport ? 'INVALID_MESSAGE' : 'BAD_REQUEST', status, err.message);
  return new AppError('INTERNAL_ERROR', 500, 'internal error');
}

/**
 * The SQLSTATE of a PostgreSQL data exception (class 22) behind an error from node-postgres
 * (`code`) or from Prisma's driver adapter (`cause.originalCode`, `meta.driverAdapterError`), if any.
 */
function dataExceptionState(err: unknown): string | undefined {
  const pending: unknown[] = [err];
  for (let i = 0; i < 8 && pending.length; i++) {
    const e = pending.shift() as Record<string, unknown> | undefined;
    if (!e || typeof e !== 'object') continue;
    for (const key of ['code', 'originalCode']) {
      const v = e[key];
      if (typeof v === 'string' && /^22[0-9A-Z]{3}$/.test(v)) return v;
    }
    pending.push(e.cause, (e.meta as Record<string, unknown> | undefined)?.driverAdapterError);
  }
  return undefined;
}

/** The single place where errors become HTTP responses. */
export function errorHandler(logger: Logger) {
  return (err: HttpishError, req: Request, res: Response, _next: NextFunction) => {
    const appError = toAppError(err, req);
    // Deliberate 5xx answers (a Standby's NOT_ACTIVE_NODE, an unreachable upstream) are not faults of ours;
    // only unexpected errors get the error level and a stack.
    if (appError.status >= 500 && (!(err instanceof AppError) || appError.code === 'INTERNAL_ERROR')) logger.error({ err, reqId: req.id }, 'request failed');
    res.locals.errorCode = appError.code; // for the request log and metrics
    const retryAfter = appError.details?.retryAfterSeconds;
    if (typeof retryAfter === 'number') res.set('Retry-After', String(retryAfter));
    if (req.path === OAUTH_TOKEN_PATH) {
      // RFC 6749 section 5.2 error names for the fixed OAuth endpoint.
      const oauthError = appError.status === 401 ? 'invalid_client' : appError.status < 500 ? 'invalid_request' : 'server_error';
      res.status(appError.status).json({ error: (appError.details?.oauthError as string) ?? oauthError, error_description: appError.message });
      return;
    }
    const { retryAfterSeconds: _omit, ...details } = appError.details ?? {};
    res.status(appError.status).json({
      error: { code: appError.code, message: appError.message, ...(Object.keys(details).length ? { details } : {}) },
    });
  };
}
