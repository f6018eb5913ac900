// `npm run mutate [-- name substring…]`: applies each mutation of mutations.ts to a copy of this
// working tree, runs its tests there, and prints which were killed (a test failed) and which
// survived. Not part of CI: a few minutes, and a survivor is a missing test, not a broken build.
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { MUTATIONS, type Mutation } from "./mutations";

const ROOT = join(import.meta.dir, "..", "..");
const wanted = process.argv.slice(2);
const chosen = MUTATIONS.filter((m) => wanted.length === 0 || wanted.some((w) => m.name.includes(w)));

/** The tracked and new files of the working tree, with this checkout's node_modules linked in. */
function copyTree(): string {
  const copy = mkdtempSync(join(tmpdir(), "tollgate-mutate-"));
  const listed = Bun.spawnSync(["git", "ls-files", "--cached", "--others", "--exclude-standard"], { cwd: ROOT });
  for (const file of listed.stdout.toString().split("\n").filter(Boolean)) {
    mkdirSync(dirname(join(copy, file)), { recursive: true });
    try {
      cpSync(join(ROOT, file), join(copy, file));
    } catch {
      // Deleted in the working tree but still in the index.
    }
  }
  symlinkSync(join(ROOT, "node_modules"), join(copy, "node_modules"));
  return copy;
}

type Outcome = "killed" | "survived" | "stale";

function run(copy: string, mutation: Mutation): Outcome {
  const path = join(copy, mutation.file);
  const original = readFileSync(path, "utf8");
  const at = original.indexOf(mutation.find);
  if (at < 0 || original.indexOf(mutation.find, at + 1) >= 0) return "stale";
  writeFileSync(path, original.slice(0, at) + mutation.replace + original.slice(at + mutation.find.length));
  try {
    const result = Bun.spawnSync([process.execPath, "test", "--timeout", "60000", ...mutation.tests], {
      cwd: copy,
      env: { ...process.env, TOLLGATE_TEST_STORE: mutation.engine ?? "sqlite" },
      stdout: "ignore",
      stderr: "ignore",
    });
    return result.exitCode === 0 ? "survived" : "killed";
  } finally {
    writeFileSync(path, original);
  }
}

const copy = copyTree();
const outcomes: { mutation: Mutation; outcome: Outcome }[] = [];
try {
  for (const mutation of chosen) {
    const outcome = run(copy, mutation);
    outcomes.push({ mutation, outcome });
    console.log(`${outcome.padEnd(8)} ${mutation.name}`);
  }
} finally {
  rmSync(copy, { recursive: true, force: true });
}
const killed = outcomes.filter((o) => o.outcome === "killed").length;
console.log(`\n${killed} of ${outcomes.length} mutations killed`);
for (const { mutation, outcome } of outcomes.filter((o) => o.outcome !== "killed")) {
  console.log(`  ${outcome}: ${mutation.name} (${mutation.file}; ${mutation.tests.join(", ")})`);
}
process.exit(killed === outcomes.length ? 0 : 1);
