import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
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
    // The lane below calls the limiters without express (no request.app); trust proxy is off app-wide.
    validate: { trustProxy: false, xForwardedForHeader: false },
    handler: (req, _res, next) => {
      const reset = (req as { rateLimit?: RateLimitInfo }).rateLimit?.resetTime?.getTime() ?? Date.now() + RATE_WINDOW_MS;
      next(new AppError('RATE_LIMITED', 429, `too many ${what} from this address: retry later`, {
        retryAfterSeconds: Math.max(1, Math.ceil((reset - Date.now()) / 1000)),
      }));
    },
  });
}

/**
 * The message inside the request envelope openapi.yaml describes (TransportMessage), checked here
 * with the same answers the OpenAPI validator gave: that validator skips the transport paths, where
 * it cost 12% of the server's busy CPU per message (bench:transport, --cpu-prof).
 */
function messageOf(body: unknown): string {
  const message = (body as { message?: unknown } | undefined)?.message;
  if (typeof message !== 'string' || message.length === 0) throw badRequest('INVALID_MESSAGE', 'the body must be {"message": "<compact JWS>"}');
  return message;
}

function envelope(req: Request): string {
  if (!req.is('application/json')) throw new AppError('INVALID_MESSAGE', 415, 'the body must be application/json');
  return messageOf(req.body);
}

const LANE_ERROR = Symbol('product message refused in the lane');
type LaneRequest = IncomingMessage & { body?: unknown; ip?: string; [LANE_ERROR]?: unknown };
type Step = (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void;
const JSON_TYPE = /^application\/json\s*(;|$)/i;

/**
 * The product-message routes. `lane`: what every request gets before its route (request log,
 * metrics, security headers, body parsing, NUL check), given by the app. `listener` puts the
 * product-message lane in front of the app.
 */
export function transportRoutes(ctx: AppContext, lane: RequestHandler[]): { router: Router; listener: (app: RequestListener) => RequestListener } {
  const router = Router();
  // Per source address: products behind one NAT share a budget, so the default is generous
  // (SLM_TRANSPORT_RATE_LIMIT per minute); a single product sends a few messages a day.
  const limiter = perSource(ctx.config.transportRateLimit, false, 'messages');
  // Refused messages (a bad token, a forged signature) get a much smaller budget of their own
  // (SLM_TRANSPORT_FAILURE_LIMIT), so a sender of junk is stopped long before it costs real CPU,
  // while the successful traffic of the same address never uses this budget up.
  const failures = perSource(ctx.config.transportFailureLimit, true, 'refused messages');
  // A message the lane refused comes here with its error, every step already done: straight to the error handler.
  const refusedInLane: RequestHandler = (req, _res, next) => next((req as LaneRequest)[LANE_ERROR]);
  for (const path of TRANSPORT_PATHS) {
    router.post(path, refusedInLane, ...lane, failures, limiter, async (req, res) => {
      const answer = await ctx.transport.handle(envelope(req));
      res.status(answer.httpStatus).json(answer.body);
    });
    router.all(path, ...lane, (req) => {
      throw new AppError('METHOD_NOT_ALLOWED', 405, `${req.method} is not allowed on ${req.path}`);
    });
  }
  const steps = [...lane, failures, limiter] as unknown as Step[];
  return { router, listener: (app) => productMessageLane(steps, (message) => ctx.transport.handle(message), app) };
}

/**
 * Product messages without express: the same steps in the same order as the route above, then the
 * service, then the answer. Express's routing and response helpers were 0.15 ms of the 0.6-0.8 ms
 * of server CPU per authorize, and the limiters' async middleware 0.07 more (bench:transport and
 * A/B runs with --cpu-prof). Only the plain case takes the lane: a POST of JSON to a transport path
 * exactly as spelled; anything else goes to the app as before, and a message refused on the way
 * goes to the app with its error, whose one error handler answers it.
 */
function productMessageLane(steps: Step[], handle: (message: string) => Promise<{ httpStatus: number; body: unknown }>, app: RequestListener): RequestListener {
  return (incoming, res) => {
    const req = incoming as LaneRequest;
    if (req.method !== 'POST' || !TRANSPORT_PATHS.includes(req.url ?? '') || !JSON_TYPE.test(req.headers['content-type'] ?? '')) return app(req, res);
    // What express's request has and the limiters key on (trust proxy is off: the peer's address).
    req.ip = req.socket.remoteAddress;
    const refuse = (err: unknown) => {
      req[LANE_ERROR] = err;
      app(req, res);
    };
    const answer = async () => {
      const { httpStatus, body } = await handle(messageOf(req.body));
      const text = JSON.stringify(body);
      res.writeHead(httpStatus, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) }).end(text);
    };
    let step = 0;
    const next = (err?: unknown) => {
      if (err !== undefined) return refuse(err);
      const current = steps[step++];
      if (!current) return void answer().catch(refuse);
      try {
        current(req, res, next);
      } catch (thrown) {
        refuse(thrown);
      }
    };
    next();
  };
}
