import { existsSync } from 'node:fs';
import path from 'node:path';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import helmet from 'helmet';
import { PROJECT_ROOT } from '../config/paths';

/** Where `npm run build` puts the console (vite, console/vite.config.ts). */
export const CONSOLE_DIR = path.join(PROJECT_ROOT, 'dist', 'console');

/** The console's client-side routes: a reload there gets index.html; every other path stays the API's (JSON 404 included). */
const CLIENT_ROUTES = /^\/(?:$|index\.html$|admin(?:\/|$)|licensing(?:\/|$))/;

/**
 * Nothing inline and nothing from elsewhere: the bundle is a script file and a stylesheet; PatternFly's
 * fonts and icons are files beside it (some icons are data: URIs in its CSS). React sets `style`
 * through the CSSOM, which style-src does not govern, so 'unsafe-inline' is not needed.
 */
const consoleCsp = helmet.contentSecurityPolicy({
  useDefaults: false,
  directives: {
    defaultSrc: ["'none'"],
    scriptSrc: ["'self'"],
    styleSrc: ["'self'"],
    imgSrc: ["'self'", 'data:'],
    fontSrc: ["'self'", 'data:'],
    connectSrc: ["'self'"],
    manifestSrc: ["'self'"],
    baseUri: ["'none'"],
    formAction: ["'self'"],
    frameAncestors: ["'none'"],
    objectSrc: ["'none'"],
  },
});

/**
 * The admin console: its built files under /assets/, and index.html at `/` and on its client routes
 * (/admin/..., /licensing/...), so a reload keeps the page. Mounted before the OpenAPI validator;
 * every other path (/api, /backend, /Transportgateway, /SmartTransport, /ha, /oauth, /metrics, unknown
 * ones) falls through to the server untouched. Without a built console (`npm run build` not run)
 * nothing is served and `/` stays a 404.
 */
export function consoleRoutes(dir = CONSOLE_DIR): Router {
  const router = express.Router();
  if (!existsSync(path.join(dir, 'index.html'))) return router;
  const assets = express.static(dir, { index: false, redirect: false, fallthrough: true, immutable: true, maxAge: '365d' });
  router.use((req: Request, res: Response, next: NextFunction) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return next();
    const asset = req.path.startsWith('/assets/');
    if (!asset && !CLIENT_ROUTES.test(req.path)) return next();
    consoleCsp(req, res, () => {
      if (asset) return assets(req, res, next);
      res.set('Cache-Control', 'no-cache');
      res.sendFile(path.join(dir, 'index.html'));
    });
  });
  return router;
}
