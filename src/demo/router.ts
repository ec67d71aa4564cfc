// The demo page: GET / and /s/<id> serve page.html; /demo/* its script, styles and icon. The
// script (demo.ts) is bundled by esbuild in memory, once per process, when the router is
// created — about 50 ms in esbuild's own process, so `npm start` needs no build step. It imports
// the SDK from /sdk/client.js, the browser build every page gets. Scripts and styles are files
// of this origin, never inline, so the CSP stays `'self'`.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from '../monitoring/logger.js';
import { readAsset, asset, sendAsset, type Asset } from './assets.js';
import { BROWSER_TARGETS, SDK_SCRIPT_PATH } from './sdk.js';

/** Where page.html, styles.css and icon.svg are: beside this file (`npm run build` copies them to dist/). */
function sourceDir(): string {
  return path.dirname(fileURLToPath(import.meta.url));
}

/** The script's entry: demo.ts when run from source (tsx), tsc's demo.js when run from dist/. */
function entryPoint(): string {
  const source = path.join(sourceDir(), 'demo.ts');
  return existsSync(source) ? source : path.join(sourceDir(), 'demo.js');
}

/** The SDK is not bundled in: the demo imports the service's own browser build of it. */
const sdkFromService: Plugin = {
  name: 'sdk-from-service',
  setup(pluginBuild) {
    pluginBuild.onResolve({ filter: /^@synckairos\/client$/ }, () => ({
      path: SDK_SCRIPT_PATH,
      external: true,
    }));
  },
};

let bundling: Promise<Asset> | null = null;

/** demo.ts and everything it imports but the SDK, as one browser module. Built once per process. */
export function demoBundle(): Promise<Asset> {
  bundling ??= build({
    entryPoints: [entryPoint()],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: BROWSER_TARGETS,
    plugins: [sdkFromService],
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
function send(req: FastifyRequest, reply: FastifyReply, file: Asset): FastifyReply {
  return sendAsset(req, reply, file, 'no-cache');
}

export function demoRoutes(app: FastifyInstance, deps: { logger: Logger }): void {
  const dir = sourceDir();
  const page = readAsset(dir, 'page.html', 'text/html; charset=utf-8');
  const styles = readAsset(dir, 'styles.css', 'text/css; charset=utf-8');
  const icon = readAsset(dir, 'icon.svg', 'image/svg+xml');
  const script = demoBundle();
  // Said at startup, not at the first visit; requests for the script then answer 500.
  script.catch((err: unknown) => deps.logger.error({ err }, 'the demo page script could not be bundled'));

  const sendPage = async (req: FastifyRequest, reply: FastifyReply) => send(req, reply, page);
  app.get('/', sendPage);
  app.get('/s/:sessionId', sendPage);
  app.get('/demo/styles.css', async (req, reply) => send(req, reply, styles));
  app.get('/demo/icon.svg', async (req, reply) => send(req, reply, icon));
  app.get('/demo/demo.js', async (req, reply) => send(req, reply, await script));
}
