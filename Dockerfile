# Build: the single executable (Bun runtime, code, migrations, writer thread), from the locked
# dependencies, with the project's own build script.
FROM oven/bun:1.4.4 AS build
WORKDIR /src
COPY package.json package-lock.json bunfig.toml tsconfig.json ./
RUN bun install
COPY src ./src
RUN bun run build && mkdir -p /data

# Run: glibc and libstdc++ only (the SQLite addon needs them), no shell, a non-root user,
# the database on a volume. Configure with TOLLGATE_* variables.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/dist/tollgate /usr/local/bin/tollgate
COPY --from=build --chown=nonroot:nonroot /data /data
WORKDIR /data
ENV TOLLGATE_SERVER_HOST=0.0.0.0 \
    TOLLGATE_SERVER_PORT=8080 \
    TOLLGATE_DATABASE_PATH=/data/tollgate.db
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=5s --start-period=5s --retries=3 CMD ["/usr/local/bin/tollgate", "healthcheck"]
# Replace the development key before exposing this anywhere, e.g.
#   -e TOLLGATE_AUTH_API_KEY_KEYS='{"<sha256 of your key>":{"tenant_id":"…","user_id":"…"}}'
# or bootstrap one: docker run --rm -v tollgate:/data tollgate keys create --tenant acme --roles super_admin
ENTRYPOINT ["/usr/local/bin/tollgate"]
CMD ["serve"]
