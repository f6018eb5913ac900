# Build: the single executable, from the locked dependencies (npm ci installs Bun itself, as a
# dev dependency), with the project's own build script.
FROM node:22-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json bunfig.toml tsconfig.json ./
RUN npm ci --no-audit --no-fund
COPY src ./src
RUN npm run build && mkdir -p /data

# Run: the executable alone. It carries the Bun runtime, the code, the migrations, the event
# writer thread, the Swagger UI and SQLite's addon; it needs glibc and libstdc++ from the
# image, nothing else (no shell, no Node). A non-root user; the database on the volume.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/dist/tollgate /usr/local/bin/tollgate
COPY --from=build --chown=nonroot:nonroot /data /data
WORKDIR /data
ENV NODE_ENV=production \
    TOLLGATE_SERVER_HOST=0.0.0.0 \
    TOLLGATE_SERVER_PORT=8080 \
    TOLLGATE_DATABASE_PATH=/data/tollgate.db
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=5s --start-period=5s --retries=3 CMD ["/usr/local/bin/tollgate", "healthcheck"]
# Replace the development key before exposing this anywhere, e.g.
#   docker run -e TOLLGATE_AUTH_API_KEY_KEYS='{"<sha256 of your key>":{"tenant_id":"…","user_id":"…"}}' …
# or bootstrap a key beside the running server (same volume):
#   docker run --rm -v tollgate-data:/data tollgate keys create --tenant acme --roles super_admin
ENTRYPOINT ["/usr/local/bin/tollgate"]
CMD ["serve"]
