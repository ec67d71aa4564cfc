// GET /openapi.json (built once, served as bytes) and GET /docs: Swagger UI served from this
// service's own copy of swagger-ui-dist, no CDN, with its start-up script as a file so the CSP
// needs no inline scripts.
import { createRequire } from 'node:module';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { readAsset, sendAsset, type Asset } from '../../demo/assets.js';
import type { OpenApiDocument } from '../openapi.js';

const ASSETS_PATH = '/docs/assets';
/** The only files of the package served; the rest (maps, the demo index.html) stay private. */
const ASSETS: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
  'favicon-16x16.png': 'image/png',
};
/** Swagger UI changes only with a release of this service. */
const ASSETS_CACHE_CONTROL = 'public, max-age=86400';

function swaggerUiDir(): string {
  return path.dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
}

const PAGE = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>SyncKairos API</title>
    <link rel="stylesheet" href="${ASSETS_PATH}/swagger-ui.css" />
    <link rel="icon" type="image/png" href="${ASSETS_PATH}/favicon-32x32.png" sizes="32x32" />
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="${ASSETS_PATH}/swagger-ui-bundle.js"></script>
    <script src="${ASSETS_PATH}/init.js"></script>
  </body>
</html>
`;

const INIT_SCRIPT = `window.ui = SwaggerUIBundle({
  url: '/openapi.json',
  dom_id: '#swagger-ui',
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis],
  layout: 'BaseLayout',
});
`;

export function docsRoutes(app: FastifyInstance, deps: { document: OpenApiDocument }): void {
  const documentJson = Buffer.from(JSON.stringify(deps.document));
  const assetsDir = swaggerUiDir();
  // Read once, when first asked for: the bundle is 1.5 MB that most processes never serve.
  const assets = new Map<string, Asset>();

  app.get('/openapi.json', async (_req, reply) =>
    reply.type('application/json; charset=utf-8').send(documentJson),
  );

  app.get('/docs', async (_req, reply) =>
    reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(PAGE),
  );

  app.get(`${ASSETS_PATH}/init.js`, async (_req, reply) =>
    reply.type('application/javascript; charset=utf-8').header('cache-control', 'no-cache').send(INIT_SCRIPT),
  );

  app.get<{ Params: { file: string } }>(`${ASSETS_PATH}/:file`, async (req, reply) => {
    const file = req.params.file;
    const contentType = Object.hasOwn(ASSETS, file) ? ASSETS[file] : undefined;
    if (contentType === undefined) return reply.callNotFound();
    let asset = assets.get(file);
    if (asset === undefined) {
      asset = readAsset(assetsDir, file, contentType);
      assets.set(file, asset);
    }
    return sendAsset(req, reply, asset, ASSETS_CACHE_CONTROL);
  });
}
