import { Router, type Request, type RequestHandler } from 'express';
import { ipKeyGenerator, rateLimit, type RateLimitInfo } from 'express-rate-limit';
import type { AppContext } from '../app-context';
import { AppError, badRequest } from '../errors';
import { TRANSPORT_PATHS } from '../http/error-handler';

const RATE_WINDOW_MS = 60_000;

/** A per-source-address limit over one minute; `failuresOnly` counts only answers of 400 and above. */
function perSource(limit: number, failuresOnly: boolean, what: string) {
  return rateLimit({
    windowMs: RATE_WINDOW_MS,
    limit,
    standardHeaders: failuresOnly ? false : 'draft-7',
    legacyHeaders: false,
    skipSuccessfulRequests: failuresOnly,
    keyGenerator: (req) => ipKeyGenerator(req.ip ?? ''),
    handler: (req, _res, next) => {
      const reset = (req as { rateLimit?: RateLimitInfo }).rateLimit?.resetTime?.getTime() ?? Date.now() + RATE_WINDOW_MS;
      next(new AppError('RATE_LIMITED', 429, `too many ${what} from this address: retry later`, {
        retryAfterSeconds: Math.max(1, Math.ceil((reset - Date.now()) / 1000)),
      }));
    },
  });
}

/**
 * The request envelope openapi.yaml describes (TransportMessage), checked here with the same
 * answers the OpenAPI validator gave: that validator skips the transport paths, where it cost 12% of
 * the server's busy CPU per message (bench:transport, --cpu-prof).
 */
function envelope(req: Request): string {
  if (!req.is('application/json')) throw new AppError('INVALID_MESSAGE', 415, 'the body must be application/json');
  const message = (req.body as { message?: unknown } | undefined)?.message;
  if (typeof message !== 'string' || message.length === 0) throw badRequest('INVALID_MESSAGE', 'the body must be {"message": "<compact JWS>"}');
  return message;
}

/** `lane`: what every request gets before its route (request log, metrics, headers, body parsing), given by the app. */
export function transportRoutes(ctx: AppContext, lane: RequestHandler[]): Router {
  const router = Router();
  // Per source address: products behind one NAT share a budget, so the default is generous
  // (SLM_TRANSPORT_RATE_LIMIT per minute); a single product sends a few messages a day.
  const limiter = perSource(ctx.config.transportRateLimit, false, 'messages');
  // Refused messages (a bad token, a forged signature) get a much smaller budget of their own
  // (SLM_TRANSPORT_FAILURE_LIMIT), so a sender of junk is stopped long before it costs real CPU,
  // while the successful traffic of the same address never uses this budget up.
  const failures = perSource(ctx.config.transportFailureLimit, true, 'refused messages');
  for (const path of TRANSPORT_PATHS) {
    router.post(path, ...lane, failures, limiter, async (req, res) => {
      const answer = await ctx.transport.handle(envelope(req));
      res.status(answer.httpStatus).json(answer.body);
    });
    router.all(path, ...lane, (req) => {
      throw new AppError('METHOD_NOT_ALLOWED', 405, `${req.method} is not allowed on ${req.path}`);
    });
  }
  return router;
}
