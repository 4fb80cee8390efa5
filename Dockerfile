# syntax=docker/dockerfile:1
#
# One image for the three services. Which one runs is chosen at run time by SERVICE
# (registry | serving | scheduler), or at build time with --build-arg SERVICE=…:
#
#   docker build -t contender .
#   docker run -e SERVICE=serving -e REGISTRY_API_KEY=… -p 8080:8080 contender
#
# Listens on 0.0.0.0 and on the service's default port (8081 registry, 8080 serving, 8082
# scheduler) unless PORT says otherwise. Runs as uid 1000 (the image's `node` user).

ARG NODE_IMAGE=node:20-bookworm-slim

# ---------------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
ENV npm_config_fund=false npm_config_audit=false npm_config_update_notifier=false

# Manifests first, so the dependency layer is rebuilt only when a manifest or the lockfile
# changes. Keep this list in step with "workspaces" in package.json. The .npmrc sets
# onnxruntime-node-install=skip: onnxruntime-node's CPU build ships in the package, and its
# install script would otherwise download CUDA libraries.
COPY package.json package-lock.json .npmrc ./
COPY packages/fixtures/package.json packages/fixtures/
COPY packages/contracts/package.json packages/contracts/
COPY packages/platform/package.json packages/platform/
COPY packages/ml/package.json packages/ml/
COPY packages/sdk/package.json packages/sdk/
COPY packages/pipeline/package.json packages/pipeline/
COPY dags/package.json dags/
COPY services/registry/package.json services/registry/
COPY services/serving/package.json services/serving/
COPY services/scheduler/package.json services/scheduler/
RUN --mount=type=cache,target=/root/.npm npm ci

# Everything else .dockerignore lets through (sources, migrations, dags), then a clean build.
# Afterwards: dev dependencies pruned, compiled tests removed, and onnxruntime-node's native
# builds for other platforms (about 240 MB of darwin, win32 and the other Linux arch) dropped.
COPY . .
RUN npm run build \
 && npm prune --omit=dev \
 && find packages services -path '*/node_modules' -prune -o -path '*/dist/*' -name '*.test.*' -type f -print0 | xargs -0r rm -f \
 && arch="$(node -p process.arch)" \
 && for d in node_modules/onnxruntime-node/bin/napi-v*/*/*; do \
      case "$d" in */linux/"$arch") ;; *) rm -rf "$d" ;; esac; \
    done \
 && test -f node_modules/onnxruntime-node/bin/napi-v*/linux/"$arch"/onnxruntime_binding.node

# ---------------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0
WORKDIR /app

# Owned by root and read-only to the service; only /app/.data (model cache, prediction-log spill
# files) and /tmp (upload staging) are written at run time.
COPY --from=build /app /app
RUN mkdir -p /app/.data && chown 1000:1000 /app/.data

# Numeric, so Kubernetes' runAsNonRoot can verify it.
USER 1000:1000

ARG SERVICE=registry
ENV SERVICE=${SERVICE}
EXPOSE 8080 8081 8082

# Liveness only (the process answers). Readiness — dependencies reachable, models loaded — is
# /readyz, which docker-compose.yml and the Kubernetes manifests probe separately.
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "const p=process.env.PORT||{registry:8081,serving:8080,scheduler:8082}[process.env.SERVICE];fetch('http://127.0.0.1:'+p+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]

# exec: node becomes PID 1 and receives SIGTERM itself, so graceful shutdown (readiness off,
# in-flight requests finished, prediction log flushed) runs on `docker stop` and on pod deletion.
CMD ["sh", "-c", "exec node --enable-source-maps \"services/${SERVICE}/dist/main.js\""]
