// `npm test`: the suite on each store engine at once, then one combined count. SQLite runs every
// file; PostgreSQL (a private cluster its run starts, test-store.ts) every file but those in
// SQLITE_ONLY (postgres-suite.ts), which are SQLite's own or open no store. The two runs go side
// by side: most of a run's time is spent waiting (on processes, the browser, the database), so
// together they take little longer than the longer one. SQLite's output is shown as it comes,
// PostgreSQL's once it ends. Arguments are passed to both runs of `bun test` (a file filter,
// -t), so `npm test -- test/customers.test.ts` runs that file on both engines.
import { Glob } from "bun";
import { join } from "node:path";
import { postgresBin } from "./postgres";
import { SQLITE_ONLY } from "./postgres-suite";

const root = join(import.meta.dir, "..", "..");
const args = process.argv.slice(2);

interface Counts {
  pass: number;
  fail: number;
  status: number;
}

async function runSuite(
  files: string[],
  env: Record<string, string>,
  show: (text: string, to: NodeJS.WriteStream) => void,
): Promise<Counts> {
  const options = args.filter((a) => !a.endsWith(".ts"));
  const child = Bun.spawn([process.execPath, "test", "--timeout", "30000", ...files, ...options], {
    cwd: root,
    env: { ...process.env, ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  let output = "";
  const relay = async (stream: ReadableStream<Uint8Array>, to: NodeJS.WriteStream) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      const text = decoder.decode(chunk, { stream: true });
      output += text;
      show(text, to);
    }
  };
  await Promise.all([relay(child.stdout, process.stdout), relay(child.stderr, process.stderr)]);
  const status = await child.exited;
  const count = (word: string) =>
    Number(
      output
        .match(new RegExp(`^ *(\\d+) ${word}$`, "gm"))
        ?.at(-1)
        ?.trim()
        .split(" ")[0] ?? 0,
    );
  return { pass: count("pass"), fail: count("fail"), status };
}

/** The files the PostgreSQL run takes: those asked for (or all), less SQLITE_ONLY. */
function postgresFiles(): string[] {
  const asked = args.filter((a) => a.endsWith(".ts"));
  const all = asked.length > 0 ? asked : [...new Glob("test/**/*.test.ts").scanSync(root)].sort();
  return all.filter((file) => !Object.keys(SQLITE_ONLY).some((only) => file.endsWith(`/${only}`) || file === only));
}

console.log("\n=== SQLite (PostgreSQL runs beside it; its output follows) ===\n");
const sqliteRun = runSuite(
  args.filter((a) => a.endsWith(".ts")),
  { TOLLGATE_TEST_STORE: "sqlite" },
  (text, to) => to.write(text),
);
let postgresRun: Promise<Counts> | null = null;
const postgresOutput: { text: string; to: NodeJS.WriteStream }[] = [];
if (postgresBin() !== null) {
  const files = postgresFiles();
  if (files.length > 0) {
    postgresRun = runSuite(files, { TOLLGATE_TEST_STORE: "postgres" }, (text, to) => postgresOutput.push({ text, to }));
  }
} else {
  console.log("\nPostgreSQL is not installed (apt-get install postgresql): the PostgreSQL run is skipped.");
  // .ci/run installs it: there, its absence is a failure, not a skip.
  if (process.env.CI === "true") process.exitCode = 1;
}
const sqlite = await sqliteRun;
const postgres = postgresRun && (await postgresRun);
if (postgres) {
  console.log("\n=== PostgreSQL ===\n");
  for (const { text, to } of postgresOutput) to.write(text);
}

const pass = sqlite.pass + (postgres?.pass ?? 0);
const fail = sqlite.fail + (postgres?.fail ?? 0);
console.log(
  `\nBoth engines: SQLite ${sqlite.pass} pass, ${sqlite.fail} fail; PostgreSQL ${postgres ? `${postgres.pass} pass, ${postgres.fail} fail` : "not run"}`,
);
// In the form `bun test` ends with, which .ci/run reads (the last such lines count).
console.log(` ${pass} pass`);
console.log(` ${fail} fail`);
if (sqlite.status !== 0 || (postgres !== null && postgres.status !== 0)) process.exitCode = 1;
