import type { NextFunction, Request, Response } from 'express';

/** A 400 shaped like the validator's, so the one error mapper gives it the route's usual code. */
const rejected = (path: string, message: string) => Object.assign(new Error(message), { status: 400, errors: [{ path, message }] });

/** True when a parsed JSON value or query holds a NUL character in any key or string (walked without recursion). */
export function containsNul(value: unknown): boolean {
  const pending: unknown[] = [value];
  while (pending.length) {
    const v = pending.pop();
    if (typeof v === 'string') {
      if (v.includes('\u0000')) return true;
    } else if (v && typeof v === 'object') {
      for (const [k, child] of Object.entries(v)) {
        if (k.includes('\u0000')) return true;
        pending.push(child);
      }
    }
  }
  return false;
}

/**
 * Refuses NUL characters anywhere in the URL or the parsed body before any handler runs: PostgreSQL
 * text cannot hold them, and no field of ours has a use for them.
 */
export function rejectNulBytes(req: Request, _res: Response, next: NextFunction) {
  // originalUrl is express's; the product-message lane's raw request has url only.
  if (/%00/.test(req.originalUrl ?? req.url)) return next(rejected('url', 'the URL must not contain NUL (%00)'));
  if (containsNul(req.body)) return next(rejected('body', 'the body must not contain NUL characters'));
  next();
}
