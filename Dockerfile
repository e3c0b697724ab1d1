# syntax=docker/dockerfile:1
# One image per service, all from this file: `docker build --target ingest .` (or consumer, reporting,
# migrate). docker-compose.yml builds each target. Every target runs `node <package>/dist/…js` as PID 1
# in exec form, so SIGTERM from `docker stop` reaches the service's own shutdown handler.

ARG NODE_IMAGE=node:24-slim

# --- build: compile the TypeScript workspaces ----------------------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.base.json ./
COPY shared/package.json shared/
COPY shared/db/package.json shared/db/
COPY infra/package.json infra/
COPY ingest/package.json ingest/
COPY consumer/package.json consumer/
COPY reporting/package.json reporting/
# --ignore-scripts: the image's own Node 24 compiles; the `node` dev dependency's installer is not needed. So the
# root postinstall (patch-package) runs by hand: patches/ fixes kafkajs's quadratic grouping (see the patch).
COPY patches/ patches/
RUN npm ci --ignore-scripts --no-audit --no-fund && node node_modules/patch-package/index.js --error-on-fail
COPY shared/ shared/
COPY infra/ infra/
COPY ingest/ ingest/
COPY consumer/ consumer/
COPY reporting/ reporting/
RUN node node_modules/typescript/bin/tsc -b
# The dashboard's page and assets (esbuild + uPlot from the dev dependencies), served by reporting.
RUN node reporting/dashboard/build.mjs

# --- deps: production dependencies only (workspace packages are symlinks into /app) --------------
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
COPY shared/package.json shared/
COPY shared/db/package.json shared/db/
COPY infra/package.json infra/
COPY ingest/package.json ingest/
COPY consumer/package.json consumer/
COPY reporting/package.json reporting/
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# --- runtime: compiled JavaScript + production node_modules, no compiler, no sources -------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
# A workspace's own node_modules holds the versions that differ from the root's (ingest: ipaddr.js 2.x, while
# express keeps 1.x at the root).
COPY --from=deps /app/ingest/node_modules ./ingest/node_modules
# kafkajs as patched in the build stage (deps installs without scripts, and patch-package is a dev dependency).
COPY --from=build /app/node_modules/kafkajs ./node_modules/kafkajs
COPY --from=build /app/package.json ./
COPY --from=build /app/shared/package.json shared/
COPY --from=build /app/shared/dist shared/dist
COPY --from=build /app/shared/db/package.json shared/db/
COPY --from=build /app/shared/db/dist shared/db/dist
COPY --from=build /app/infra/package.json infra/
COPY --from=build /app/infra/dist infra/dist
COPY --from=build /app/ingest/package.json ingest/
COPY --from=build /app/ingest/dist ingest/dist
COPY --from=build /app/consumer/package.json consumer/
COPY --from=build /app/consumer/dist consumer/dist
COPY --from=build /app/reporting/package.json reporting/
COPY --from=build /app/reporting/dist reporting/dist
COPY --from=build /app/reporting/dashboard/dist reporting/dashboard/dist
# Shown by sitestream_build_info{commit}: docker compose build --build-arg GIT_COMMIT=$(git rev-parse --short HEAD)
ARG GIT_COMMIT=unknown
ENV GIT_COMMIT=${GIT_COMMIT}
USER node

FROM runtime AS ingest
EXPOSE 8000
CMD ["node", "ingest/dist/main.js"]

FROM runtime AS consumer
EXPOSE 8002
CMD ["node", "consumer/dist/main.js"]

FROM runtime AS reporting
EXPOSE 8001
CMD ["node", "reporting/dist/main.js"]

# One-shot: creates the database if missing and applies pending migrations, then exits 0.
FROM runtime AS migrate
CMD ["node", "infra/dist/db/cli.js"]
