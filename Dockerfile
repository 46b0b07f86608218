# One image for every vr-lister process: api, worker create, worker resolve, migrate, simulator, start.

# Node 26, the current LTS (Active LTS since October 2026; Node 20 reached its end of life in April 2026).
FROM node:26-trixie-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY simulator ./simulator
COPY drizzle ./drizzle
COPY data ./data
# `npm ci` runs the package's `prepare` script, which compiles src/ into dist/ and the simulator into
# simulator/dist (the demo's `simulator` service; the product loads it only when asked to).
RUN npm ci --no-audit --no-fund

FROM node:26-trixie-slim AS runtime
# Debian's Chromium: Playwright can't download its own browser, and needs none. Xvfb (and xauth
# for xvfb-run) gives VR_HEADED=on and `vr-lister login --headed` a display inside the container.
RUN apt-get update \
  && apt-get install -y --no-install-recommends chromium fonts-liberation xvfb xauth \
  && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production \
    CHROMIUM_PATH=/usr/bin/chromium \
    API_HOST=0.0.0.0
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY --from=build /app/simulator/dist ./simulator/dist
COPY drizzle ./drizzle
COPY data ./data
# The evidence folder (compose's shared `artifacts` volume takes its owner and mode from here): the
# V&R session never goes in it, but the pages it shows are the seller's, so only the app reads it.
RUN install -d -o node -g node -m 0700 /app/artifacts
# Not root: Chromium then runs in its sandbox, given the user namespaces it needs (compose.yaml's
# seccomp profile, deploy/chromium-seccomp.json).
USER node
EXPOSE 3000
# Postgres and Redis answer (and, with --worker, a worker of that kind is connected). compose.yaml
# sets a check per service; the simulator's is an HTTP probe.
HEALTHCHECK --interval=30s --timeout=10s --start-period=20s --retries=3 \
  CMD ["node", "dist/cli.js", "health"]
# Exec form, so SIGTERM reaches Node and the current listing can finish.
ENTRYPOINT ["node", "dist/cli.js"]
CMD ["api"]
