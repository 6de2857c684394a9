# syntax=docker/dockerfile:1
# Build stage: compile TypeScript, then drop dev dependencies. Both stages use
# the same base so better-sqlite3's native module matches the runtime.
FROM node:24-bookworm-slim AS build
# better-sqlite3 downloads a prebuilt binary; the toolchain is its fallback when none matches.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
# Scripts off so `prepare` (the build) waits for the sources; better-sqlite3 is the one native module.
RUN npm ci --no-audit --no-fund --ignore-scripts && npm rebuild better-sqlite3
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

FROM node:24-bookworm-slim
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8080 \
    DATA_DIR=/var/lib/access-broker
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
RUN mkdir -p /var/lib/access-broker && chown node:node /var/lib/access-broker
USER node
EXPOSE 8080
VOLUME ["/var/lib/access-broker"]
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8080) + '/readyz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# The flags of `npm start`: a 4 MB young generation, optimizing compiles on the main thread, and an old generation that
# grows by half its live size between full collections keep RSS low and flat under load (README, Performance).
CMD ["node", "--max-semi-space-size=4", "--no-concurrent-recompilation", "--heap-growing-percent=50", "dist/server.js"]
