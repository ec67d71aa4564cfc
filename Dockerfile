# syntax=docker/dockerfile:1
# SyncKairos: compiled to plain JavaScript (npm run build), run by node as the unprivileged
# `node` user, with production dependencies only. Build from the repository root:
#   docker build -t synckairos .

# ---- build: all dependencies, TypeScript → dist/ (with the Lua scripts and assets beside it)
FROM node:20-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages/client/package.json ./packages/client/
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/copy-assets.mjs ./scripts/
COPY packages/client/tsconfig.json packages/client/tsconfig.build.json ./packages/client/
COPY packages/client/src ./packages/client/src
COPY src ./src
RUN npm run build

# ---- production dependencies only
FROM node:20-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# The SDK is a workspace the server imports like any package: node_modules links to it.
COPY packages/client/package.json ./packages/client/
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# ---- runtime
FROM node:20-slim
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    DATA_DIR=/app/data
WORKDIR /app
# Code and dependencies stay owned by root: the service can read them, not change them.
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/packages/client/package.json ./packages/client/
COPY --from=build /app/packages/client/dist ./packages/client/dist
COPY package.json ./
# The audit migrations are read from ../../migrations relative to dist/audit/.
COPY migrations ./migrations
# The one writable place: embedded-mode data (the sessions, and PGlite when no DATABASE_URL is set).
RUN mkdir -p /app/data && chown node:node /app/data
USER node
EXPOSE 3000
# node itself is PID 1 (no npm wrapper), so SIGTERM reaches the graceful shutdown; it exits
# within 10 s, so give the platform's stop timeout more than that.
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/index.js"]
