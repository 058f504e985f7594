import type { NextFunction, Request, Response } from 'express';
import { OAUTH_TOKEN_PATH } from '../http/error-handler';

/**
 * SSM On-Prem integrations call the API Toolkit under two spellings: newer releases use
 * `/oauth/token`, older ones `/backend/oauth/token`, and some prefix the toolkit operations with
 * `/backend`. Requests under an alias are rewritten to the one path that openapi.yaml describes
 * before anything else looks at them (the OpenAPI validator matches `originalUrl`, so both are
 * rewritten), so validation, guards, limits, errors and the request log are the same on both.
 */
const TOOLKIT_OPERATION = /^\/backend(\/api\/v1\/(?:accounts\/[^/?]+\/(?:licenses|alerts|virtual-accounts(?:\/[^/?]+\/(?:tokens|product-instances))?)|tokens\/[^/?]+\/revoke))(?=\/?(?:\?|$))/;
const OAUTH_ALIAS = /^\/oauth\/token(?=\/?(?:\?|$))/;

export function canonicalToolkitUrl(url: string): string {
  if (OAUTH_ALIAS.test(url)) return url.replace(OAUTH_ALIAS, OAUTH_TOKEN_PATH);
  return url.replace(TOOLKIT_OPERATION, '$1');
}

export function toolkitPathAliases(req: Request, _res: Response, next: NextFunction): void {
  const url = canonicalToolkitUrl(req.url);
  if (url !== req.url) {
    req.url = url;
    req.originalUrl = url;
  }
  next();
}
