// The SDK's browser build: @synckairos/client bundled by esbuild into one ES module with its
// source map, served at /sdk/client.js for `<script type="module">` pages on any origin. The
// demo page imports this same file rather than a copy of its own.
import { createRequire } from 'node:module';
import { build } from 'esbuild';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from '../monitoring/logger.js';
import { asset, sendAsset, type Asset } from './assets.js';

export const SDK_SCRIPT_PATH = '/sdk/client.js';
const SDK_MAP_PATH = '/sdk/client.js.map';

/** Phones a few years old: Safari 15, Chrome 100. */
export const BROWSER_TARGETS = ['es2020', 'safari15', 'chrome100'];

/**
 * Cached for a while and then revalidated (the URL has no version): a new release reaches
 * browsers within five minutes, an unchanged one costs a 304.
 */
const SDK_CACHE_CONTROL = 'public, max-age=300, must-revalidate';

interface SdkBuild {
  script: Asset;
  map: Asset;
}

let bundling: Promise<SdkBuild> | null = null;

/** The package's compiled entry (dist/index.js), bundled once per process. */
export function sdkBundle(): Promise<SdkBuild> {
  bundling ??= build({
    entryPoints: [createRequire(import.meta.url).resolve('@synckairos/client')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: BROWSER_TARGETS,
    minify: true,
    sourcemap: 'external',
    outfile: 'client.js',
    legalComments: 'none',
    charset: 'utf8',
    write: false,
    logLevel: 'silent',
  }).then((result) => {
    const script = result.outputFiles.find((file) => file.path.endsWith('client.js'));
    const map = result.outputFiles.find((file) => file.path.endsWith('client.js.map'));
    if (script === undefined || map === undefined) throw new Error('esbuild produced no SDK bundle');
    const text = `${script.text.trimEnd()}\n//# sourceMappingURL=client.js.map\n`;
    return {
      script: asset(text, 'text/javascript; charset=utf-8'),
      map: asset(map.contents, 'application/json; charset=utf-8'),
    };
  });
  return bundling;
}

/** Any page may import the SDK: it is public code, so it is shared across origins. */
function shareAcrossOrigins(reply: FastifyReply): void {
  reply.header('access-control-allow-origin', '*');
  reply.header('cross-origin-resource-policy', 'cross-origin');
}

export function sdkRoutes(app: FastifyInstance, deps: { logger: Logger }): void {
  const bundle = sdkBundle();
  bundle.catch((err: unknown) => deps.logger.error({ err }, 'the SDK browser build could not be bundled'));
  const serve = (pick: (built: SdkBuild) => Asset) => async (req: FastifyRequest, reply: FastifyReply) => {
    const built = await bundle;
    shareAcrossOrigins(reply);
    return sendAsset(req, reply, pick(built), SDK_CACHE_CONTROL);
  };
  app.get(
    SDK_SCRIPT_PATH,
    serve((built) => built.script),
  );
  app.get(
    SDK_MAP_PATH,
    serve((built) => built.map),
  );
}
