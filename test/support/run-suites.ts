// `npm test`: the suite on each store engine, one after the other, then one combined count.
// SQLite runs every file; PostgreSQL (a private cluster the run starts, test-store.ts) runs the
// files listed in POSTGRES_SUITE, those whose behaviour is the store's and not SQLite's own (its
// files, WAL, the store lock, the writer thread). Arguments are passed to both runs of `bun test`
// (a file filter, -t), so `npm test -- test/customers.test.ts` runs that file on both engines.
import { join } from "node:path";
import { postgresBin } from "./postgres";
import { POSTGRES_SUITE } from "./postgres-suite";

const root = join(import.meta.dir, "..", "..");
const args = process.argv.slice(2);

interface Counts {
  pass: number;
  fail: number;
  status: number;
}

async function runSuite(label: string, files: string[], env: Record<string, string>): Promise<Counts> {
  console.log(`\n=== ${label} ===\n`);
  const child = Bun.spawn([process.execPath, "test", "--timeout", "30000", ...files, ...args], {
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
      to.write(text);
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

const sqlite = await runSuite("SQLite", [], { TOLLGATE_TEST_STORE: "sqlite" });
let postgres: Counts | null = null;
if (postgresBin() !== null) {
  // With a file filter given, PostgreSQL runs it only where the filter names a file of its suite.
  const chosen = args.filter((a) => a.endsWith(".ts"));
  const files = chosen.length > 0 ? chosen.filter((a) => POSTGRES_SUITE.some((f) => a.endsWith(f))) : POSTGRES_SUITE;
  if (files.length > 0) {
    postgres = await runSuite(
      "PostgreSQL",
      files.map((f) => join("test", f)),
      { TOLLGATE_TEST_STORE: "postgres" },
    );
  }
} else {
  console.log("\nPostgreSQL is not installed (apt-get install postgresql): the PostgreSQL run is skipped.");
  // .ci/run installs it: there, its absence is a failure, not a skip.
  if (process.env.CI === "true") process.exitCode = 1;
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
