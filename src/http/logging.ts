export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";

/** json: one object per line, for collectors. pretty: one readable line, for a person at a terminal. */
export type LogFormat = "json" | "pretty";

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
}

export type LogSink = (line: string) => void;

const stdoutSink: LogSink = (line) => process.stdout.write(`${line}\n`);

/** `logging.format: auto` means readable lines at a terminal and JSON everywhere else. */
export function resolveLogFormat(
  configured: LogFormat | "auto",
  isTerminal = process.stdout.isTTY === true,
): LogFormat {
  if (configured !== "auto") return configured;
  return isTerminal ? "pretty" : "json";
}

/**
 * One line per entry. Callers pass only what is safe to keep: ids, routes, statuses and
 * durations; never a key, a token, a password or a request body.
 */
export function createLogger(level: LogLevel, options: { format?: LogFormat; sink?: LogSink } = {}): Logger {
  const threshold = RANK[level];
  const sink = options.sink ?? stdoutSink;
  const render = options.format === "pretty" ? prettyLine : jsonLine;
  const write = (lvl: Exclude<LogLevel, "silent">) => (msg: string, fields?: LogFields) => {
    if (RANK[lvl] < threshold) return;
    sink(render(new Date(), lvl, msg, fields));
  };
  return { debug: write("debug"), info: write("info"), warn: write("warn"), error: write("error") };
}

function jsonLine(time: Date, level: string, msg: string, fields?: LogFields): string {
  return JSON.stringify({ time: time.toISOString(), level, msg, ...fields });
}

/** `10:04:31.207 INFO  request method=GET route=/v1/users/me status=200 duration_ms=0.41` */
function prettyLine(time: Date, level: string, msg: string, fields?: LogFields): string {
  let line = `${time.toISOString().slice(11, 23)} ${level.toUpperCase().padEnd(5)} ${msg}`;
  for (const [key, value] of Object.entries(fields ?? {})) {
    if (value === undefined) continue;
    const text = typeof value === "string" ? value : JSON.stringify(value);
    line += ` ${key}=${/[\s"=]/.test(text) ? JSON.stringify(text) : text}`;
  }
  return line;
}
