// The demo page: GET / and /s/<id> serve page.html; /demo/* its script, styles and icon. The
// script (demo.ts with the SDK) is bundled by esbuild in memory, once per process, when the
// router is created — about 50 ms in esbuild's own process, so `npm start` needs no build step.
// Scripts and styles are files of this origin, never inline, so the CSP stays `'self'`.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { Router, type NextFunction, type Request, type Response } from 'express';
import type { Logger } from '../monitoring/logger.js';

interface Asset {
  body: Buffer;
  contentType: string;
  etag: string;
}

/** Where page.html, styles.css and icon.svg are: beside this file (`npm run build` copies them to dist/). */
function sourceDir(): string {
  return path.dirname(fileURLToPath(import.meta.url));
}

/** The script's entry: demo.ts when run from source (tsx), tsc's demo.js when run from dist/. */
function entryPoint(): string {
  const source = path.join(sourceDir(), 'demo.ts');
  return existsSync(source) ? source : path.join(sourceDir(), 'demo.js');
}

function asset(body: Buffer | string, contentType: string): Asset {
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  const etag = `"${createHash('sha256').update(bytes).digest('base64url').slice(0, 22)}"`;
  return { body: bytes, contentType, etag };
}

function readAsset(dir: string, file: string, contentType: string): Asset {
  return asset(readFileSync(path.join(dir, file)), contentType);
}

let bundling: Promise<Asset> | null = null;

/** demo.ts and everything it imports (the SDK), as one browser module. Built once per process. */
export function demoBundle(): Promise<Asset> {
  bundling ??= build({
    entryPoints: [entryPoint()],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    // Phones a few years old: Safari 15, Chrome 100.
    target: ['es2020', 'safari15', 'chrome100'],
    minify: true,
    legalComments: 'none',
    charset: 'utf8',
    write: false,
    logLevel: 'silent',
  }).then((result) => {
    const output = result.outputFiles[0];
    if (output === undefined) throw new Error('esbuild produced no output for the demo page');
    return asset(Buffer.from(output.contents), 'text/javascript; charset=utf-8');
  });
  return bundling;
}

/**
 * Revalidated on every load (no-cache) and answered 304 when unchanged: a restart with a new
 * bundle is picked up at once, and an unchanged one costs a header.
 */
function send(req: Request, res: Response, file: Asset): void {
  res.setHeader('cache-control', 'no-cache');
  res.setHeader('etag', file.etag);
  if (req.headers['if-none-match'] === file.etag) {
    res.status(304).end();
    return;
  }
  res.type(file.contentType).send(file.body);
}

export function demoRouter(deps: { logger: Logger }): Router {
  const dir = sourceDir();
  const page = readAsset(dir, 'page.html', 'text/html; charset=utf-8');
  const styles = readAsset(dir, 'styles.css', 'text/css; charset=utf-8');
  const icon = readAsset(dir, 'icon.svg', 'image/svg+xml');
  const script = demoBundle();
  // Said at startup, not at the first visit; requests for the script then answer 500.
  script.catch((err: unknown) => deps.logger.error({ err }, 'the demo page script could not be bundled'));

  const router = Router();
  const sendPage = (req: Request, res: Response): void => send(req, res, page);
  router.get('/', sendPage);
  router.get('/s/:sessionId', sendPage);
  router.get('/demo/styles.css', (req, res) => send(req, res, styles));
  router.get('/demo/icon.svg', (req, res) => send(req, res, icon));
  router.get('/demo/demo.js', (req: Request, res: Response, next: NextFunction) => {
    script.then((file) => send(req, res, file), next);
  });
  return router;
}
