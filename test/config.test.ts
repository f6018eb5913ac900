import { describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { ConfigError, DEFAULT_CONFIG, DEV_KEY_HASH, loadConfig } from "../src/config";
import { tempDir } from "./support/temp";

const SHIPPED_CONFIG = join(import.meta.dir, "..", "config.yaml");

function withFile(yaml: string): string {
  const dir = tempDir("config-");
  writeFileSync(join(dir, "config.yaml"), yaml);
  return dir;
}

describe("loadConfig", () => {
  test("no file anywhere: the built-in defaults, development key included as its hash", () => {
    const config = loadConfig({ env: {}, cwd: tempDir("config-") });
    expect(config).toEqual(DEFAULT_CONFIG);
    expect(Object.keys(config.auth.api_key.keys)).toEqual([DEV_KEY_HASH]);
  });

  test("the shipped config.yaml equals the defaults and never holds the key in clear", async () => {
    const shipped = await Bun.file(SHIPPED_CONFIG).text();
    expect(shipped).not.toContain("0cc505d7b917e0b1f25ccbea029dd43f4002edfea46b7f941f281911246768fe");
    expect(loadConfig({ path: SHIPPED_CONFIG, env: {} })).toEqual(DEFAULT_CONFIG);
  });

  test("a partial file keeps the other defaults", () => {
    const cwd = withFile("server:\n  port: 9191\n");
    const config = loadConfig({ env: {}, cwd });
    expect(config.server).toEqual({ host: "127.0.0.1", port: 9191, public_url: "", allowed_hosts: [] });
    expect(config.database).toEqual(DEFAULT_CONFIG.database);
  });

  test("keys in a file replace the default map, so production can drop the development key", () => {
    const hash = "a".repeat(64);
    const cwd = withFile(`auth:\n  api_key:\n    keys:\n      ${hash}:\n        tenant_id: t1\n        user_id: u1\n`);
    const { keys } = loadConfig({ env: {}, cwd }).auth.api_key;
    expect(Object.keys(keys)).toEqual([hash]);
    expect(keys[hash]).toEqual({ tenant_id: "t1", user_id: "u1", name: "Config key", is_active: true });
  });

  test("--config wins over TOLLGATE_CONFIG, which wins over the working directory", () => {
    const a = join(withFile("server:\n  port: 1111\n"), "config.yaml");
    const b = join(withFile("server:\n  port: 2222\n"), "config.yaml");
    const cwd = withFile("server:\n  port: 3333\n");
    expect(loadConfig({ path: a, env: { TOLLGATE_CONFIG: b }, cwd }).server.port).toBe(1111);
    expect(loadConfig({ env: { TOLLGATE_CONFIG: b }, cwd }).server.port).toBe(2222);
    expect(loadConfig({ env: {}, cwd }).server.port).toBe(3333);
  });

  test("TOLLGATE_* variables override every value; the keys map takes JSON", () => {
    const hash = "b".repeat(64);
    const config = loadConfig({
      cwd: tempDir("config-"),
      env: {
        TOLLGATE_SERVER_HOST: "0.0.0.0",
        TOLLGATE_SERVER_PORT: "9000",
        TOLLGATE_DATABASE_PATH: "/data/x.db",
        TOLLGATE_AUTH_API_KEY_HEADER: "X-Key",
        TOLLGATE_AUTH_API_KEY_CACHE_SIZE: "50",
        TOLLGATE_LOGGING_LEVEL: "warn",
        TOLLGATE_AUTH_API_KEY_KEYS: JSON.stringify({ [hash]: { tenant_id: "t", user_id: "u", is_active: false } }),
      },
    });
    expect(config.server).toEqual({ host: "0.0.0.0", port: 9000, public_url: "", allowed_hosts: [] });
    expect(config.database.path).toBe("/data/x.db");
    expect(config.auth.api_key.header).toBe("x-key");
    expect(config.auth.api_key.cache_size).toBe(50);
    expect(config.logging.level).toBe("warn");
    expect(config.auth.api_key.keys).toEqual({
      [hash]: { tenant_id: "t", user_id: "u", name: "Config key", is_active: false },
    });
  });

  test.each([
    ["a port out of range", { TOLLGATE_SERVER_PORT: "70000" }, "server.port"],
    ["a port that is not a number", { TOLLGATE_SERVER_PORT: "eighty" }, "server.port"],
    ["an unknown log level", { TOLLGATE_LOGGING_LEVEL: "loud" }, "logging.level"],
    ["an unknown event durability", { TOLLGATE_EVENTS_DURABILITY: "none" }, "events.durability"],
    ["keys that are not JSON", { TOLLGATE_AUTH_API_KEY_KEYS: "{nope" }, "TOLLGATE_AUTH_API_KEY_KEYS"],
    [
      "a key that is not a SHA-256 hex",
      { TOLLGATE_AUTH_API_KEY_KEYS: '{"short":{"tenant_id":"t","user_id":"u"}}' },
      "auth.api_key.keys",
    ],
    ["a key without its tenant", { TOLLGATE_AUTH_API_KEY_KEYS: `{"${"c".repeat(64)}":{"user_id":"u"}}` }, "tenant_id"],
  ])("a bad value stops the start and names the field: %s", (_name, env, field) => {
    expect(() => loadConfig({ env, cwd: tempDir("config-") })).toThrow(ConfigError);
    expect(() => loadConfig({ env, cwd: tempDir("config-") })).toThrow(field);
  });

  /** The message a bad environment gives, in a folder with no config file. */
  function errorFor(env: Record<string, string>): string {
    try {
      loadConfig({ env, cwd: tempDir("config-") });
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      return (err as Error).message;
    }
    throw new Error("no error");
  }

  test("a choice says what it accepts", () => {
    expect(errorFor({ TOLLGATE_LOGGING_LEVEL: "loud" })).toBe(
      "Invalid config: logging.level: must be one of debug, info, warn, error, silent",
    );
    expect(errorFor({ TOLLGATE_LOGGING_FORMAT: "fancy" })).toBe(
      "Invalid config: logging.format: must be one of auto, pretty, json",
    );
    expect(loadConfig({ env: { TOLLGATE_LOGGING_FORMAT: "pretty" }, cwd: tempDir("config-") }).logging.format).toBe(
      "pretty",
    );
  });

  test("a key listed in clear instead of its SHA-256 points to `tollgate keys hash`, without echoing the key", () => {
    const stored = `sk_test_${"ab".repeat(32)}`;
    const devKey = "0cc505d7b917e0b1f25ccbea029dd43f4002edfea46b7f941f281911246768fe";
    for (const key of [stored, devKey]) {
      const message = errorFor({
        TOLLGATE_AUTH_API_KEY_KEYS: JSON.stringify({ [key]: { tenant_id: "t", user_id: "u" } }),
      });
      expect(message).toStartWith(
        `Invalid config: auth.api_key.keys: the entry "${key.slice(0, 4)}…" is not the SHA-256`,
      );
      expect(message).toContain('run "tollgate keys hash <key>"');
      expect(message).not.toContain(key.slice(0, 12));
    }
  });

  test("a host that is not a host, and a database path that is a folder, are named", () => {
    for (const host of ["http://0.0.0.0", "127.0.0.1:8080", "bad host"]) {
      expect(errorFor({ TOLLGATE_SERVER_HOST: host })).toBe(
        `Invalid config: server.host: "${host}" is not a host name or an IP address (such as 127.0.0.1, 0.0.0.0 or ::1); the port goes in server.port`,
      );
    }
    for (const host of ["localhost", "::", "10.0.0.7", "tollgate.internal"]) {
      expect(loadConfig({ env: { TOLLGATE_SERVER_HOST: host }, cwd: tempDir("config-") }).server.host).toBe(host);
    }
    const folder = tempDir("data-");
    expect(errorFor({ TOLLGATE_DATABASE_PATH: folder })).toBe(
      `Invalid config: database.path: "${folder}" is a folder; give the path of the database file, such as ${folder}/tollgate.db`,
    );
  });

  test("a misspelt section in the file is refused, not ignored", () => {
    const cwd = withFile("sever:\n  port: 1\n");
    expect(() => loadConfig({ env: {}, cwd })).toThrow("sever");
  });

  test("invalid YAML and a missing explicit file are reported", () => {
    expect(() => loadConfig({ env: {}, cwd: withFile("server: [unclosed\n") })).toThrow("not valid YAML");
    expect(() => loadConfig({ path: "/nonexistent/config.yaml", env: {} })).toThrow("Config file not found");
  });
});
