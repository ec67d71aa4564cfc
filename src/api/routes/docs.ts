// GET /openapi.json (built once, served as bytes) and GET /docs: Swagger UI served from this
// service's own copy of swagger-ui-dist, no CDN, with its start-up script as a file so the CSP
// needs no inline scripts.
import { createRequire } from 'node:module';
import path from 'node:path';
import { Router } from 'express';
import type { OpenApiDocument } from '../openapi.js';

const ASSETS_PATH = '/docs/assets';
/** The only files of the package served; the rest (maps, the demo index.html) stay private. */
const ASSETS = new Set(['swagger-ui.css', 'swagger-ui-bundle.js', 'favicon-32x32.png', 'favicon-16x16.png']);

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

export function docsRouter(deps: { document: OpenApiDocument }): Router {
  const router = Router();
  const documentJson = Buffer.from(JSON.stringify(deps.document));
  const assetsDir = swaggerUiDir();

  router.get('/openapi.json', (_req, res) => {
    res.type('application/json').send(documentJson);
  });

  router.get('/docs', (_req, res) => {
    res.type('html').setHeader('cache-control', 'no-cache').send(PAGE);
  });

  router.get(`${ASSETS_PATH}/init.js`, (_req, res) => {
    res.type('application/javascript').setHeader('cache-control', 'no-cache').send(INIT_SCRIPT);
  });

  router.get(`${ASSETS_PATH}/:file`, (req, res, next) => {
    const file = req.params.file;
    if (!ASSETS.has(file)) {
      next();
      return;
    }
    res.sendFile(path.join(assetsDir, file), { maxAge: '1d' });
  });

  return router;
}
