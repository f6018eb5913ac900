# Build: one self-contained executable (Bun runtime, code, migrations) from the locked dependencies.
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY bunfig.toml tsconfig.json ./
COPY src ./src
RUN npm run build

# Run: a small glibc base, a non-root user, the database on a volume.
FROM debian:bookworm-slim
RUN useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin tollgate \
 && mkdir -p /data && chown tollgate /data
COPY --from=build /src/dist/tollgate /usr/local/bin/tollgate
USER tollgate
WORKDIR /data
ENV TOLLGATE_SERVER_HOST=0.0.0.0 \
    TOLLGATE_SERVER_PORT=8080 \
    TOLLGATE_DATABASE_PATH=/data/tollgate.db
VOLUME ["/data"]
EXPOSE 8080
# Replace the development key before exposing this anywhere, for example:
#   -e TOLLGATE_AUTH_API_KEY_KEYS='{"<sha256 of your key>":{"tenant_id":"…","user_id":"…"}}'
ENTRYPOINT ["/usr/local/bin/tollgate"]
CMD ["serve"]
