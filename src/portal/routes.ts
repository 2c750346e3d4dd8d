// The consumer portal's page and assets: our own files from src/portal/web, Preact and htm from their npm
// packages, all from this server (no CDN). The page's one inline script, the import map, is allowed by hash.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Router from '@koa/router';
import { z } from 'zod';
import type { RouteDocs } from '../http/openapi';

const WEB = join(__dirname, 'web');
const JS = 'text/javascript; charset=utf-8';

/** What the page may load, by the name it asks for. */
const ASSETS: Record<string, { file: string; type: string }> = {
  'app.js': { file: join(WEB, 'app.mjs'), type: JS },
  'style.css': { file: join(WEB, 'style.css'), type: 'text/css; charset=utf-8' },
  'preact.js': { file: require.resolve('preact'), type: JS },
  'hooks.js': { file: require.resolve('preact/hooks'), type: JS },
  // htm's main entry is CommonJS; its ES module sits next to it.
  'htm.js': { file: join(dirname(require.resolve('htm')), 'htm.mjs'), type: JS },
};

const IMPORT_MAP = JSON.stringify({
  imports: {
    preact: '/portal/assets/preact.js',
    'preact/hooks': '/portal/assets/hooks.js',
    htm: '/portal/assets/htm.js',
  },
});
const PAGE = readFileSync(join(WEB, 'index.html'), 'utf8').replace('{"imports": {}}', IMPORT_MAP);
const CSP = [
  "default-src 'self'",
  `script-src 'self' 'sha256-${createHash('sha256').update(IMPORT_MAP).digest('base64')}'`,
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join('; ');

export const portalDocs: RouteDocs = {
  'GET /portal': {
    tag: 'Consumers',
    auth: 'none',
    summary: 'The consumer portal',
    description: 'Opened with a portal session’s `url`, whose fragment carries the token.',
    responses: { 200: { description: 'The portal page.', schema: z.string(), contentType: 'text/html' } },
  },
};

const cache = new Map<string, Buffer>();

export function portalRoutes(): Router {
  const router = new Router();
  router.get('/portal', (ctx) => {
    ctx.set('content-security-policy', CSP);
    ctx.set('referrer-policy', 'no-referrer');
    ctx.set('cache-control', 'no-store');
    ctx.type = 'text/html; charset=utf-8';
    ctx.body = PAGE;
  });
  router.get('/portal/assets/:asset', (ctx) => {
    const asset = ASSETS[ctx.params.asset];
    if (!asset) return; // 404 through the error middleware
    let data = cache.get(asset.file);
    if (!data) {
      data = readFileSync(asset.file);
      cache.set(asset.file, data);
    }
    ctx.type = asset.type;
    ctx.set('cache-control', 'no-cache');
    ctx.body = data;
  });
  return router;
}
