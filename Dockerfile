# AERIOX Open: one image for the API (`serve`, the default) and the job workers (`worker`).
#
#   docker build -t aeriox-open .
#   docker run -p 8080:8080 -v aeriox-data:/data aeriox-open                 # embedded default
#   docker compose up -d                                                     # PostgreSQL + Redis + API + worker (compose.yaml)
#
# Stage 1 builds and packs the CLI exactly as it is published (one bundle plus the spec,
# migrations, catalogs and the /docs reference bundle under dist/resources). Stage 2 installs
# that tarball with its production dependencies only and runs the built JavaScript as the
# unprivileged `node` user; no sources, no dev dependencies, no pnpm.

FROM node:20-bookworm-slim AS build
WORKDIR /src
RUN npm install -g pnpm@12.4.2 --no-audit --no-fund --loglevel=error
COPY . .
RUN pnpm install --frozen-lockfile \
 && mkdir /pack \
 && pnpm --filter @aeriox/cli pack --pack-destination /pack \
 && mv /pack/*.tgz /pack/aeriox-cli.tgz

FROM node:20-bookworm-slim AS runtime
# MALLOC_ARENA_MAX=2: glibc's malloc keeps fewer per-thread arenas; a 1 GB V8 heap limit makes V8
# collect before the heap balloons under load (README, Environment).
ENV NODE_ENV=production \
    MALLOC_ARENA_MAX=2 \
    NODE_OPTIONS=--max-old-space-size=1024 \
    HOST=0.0.0.0 \
    PORT=8080 \
    DATA_DIR=/data
WORKDIR /app
COPY --from=build /pack/aeriox-cli.tgz /tmp/aeriox-cli.tgz
RUN echo '{"name":"aeriox-runtime","private":true}' > package.json \
 && npm install --omit=dev --no-audit --no-fund --loglevel=error /tmp/aeriox-cli.tgz \
 && rm /tmp/aeriox-cli.tgz \
 && npm cache clean --force \
 && mkdir -p /data && chown node:node /data
# DATA_DIR holds the embedded database (without DATABASE_URL), the assets, and the generated
# asset-URL secret; API and workers must share it (or ASSET_URL_SECRET and the assets folder).
VOLUME ["/data"]
USER node
EXPOSE 8080
# Liveness of the API; compose.yaml checks /readyz (database and Redis reachable) instead.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["node", "/app/node_modules/@aeriox/cli/dist/bin.js"]
CMD ["serve"]
