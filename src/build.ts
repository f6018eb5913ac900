// `npm run build`: the single executable, dist/tollgate. Run with Bun: bun src/build.ts [options]
//
// The executable must run where there is no Node, no Bun and no node_modules. Everything in
// it is bundled, except better-sqlite3's native addon, which its main entry point looks up on
// disk at run time. better-sqlite3 also ships one entry point per platform that requires its
// prebuilt addon by a fixed path (better-sqlite3/linux-x64, …), which `bun build --compile`
// can embed. This build points every import of better-sqlite3 (the main thread's and the
// event threads') at the entry point of the platform being built for.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";

const ROOT = join(import.meta.dir, "..");

const USAGE = `Usage: bun src/build.ts [--target <target>] [--outfile <path>]

Build the single executable.

  --target <target>   a Bun compile target (default: this machine), one of
                      bun-linux-x64, bun-linux-arm64, bun-linux-x64-musl, bun-linux-arm64-musl,
                      bun-darwin-x64, bun-darwin-arm64, bun-windows-x64, bun-windows-arm64
                      (x64 targets also take -baseline or -modern, as Bun does)
  --outfile <path>    where to write it (default: dist/tollgate)`;

/** better-sqlite3's per-platform entry points: `${os}-${arch}`, with linuxmusl for musl libc. */
type SqlitePlatform = `${"linux" | "linuxmusl" | "darwin" | "win32"}-${"x64" | "arm64"}`;

const TARGET = /^bun-(linux|darwin|windows)-(x64|arm64)(?:-(baseline|modern))?(?:-(musl|glibc))?$/;

/** The better-sqlite3 entry point for a Bun compile target. */
export function sqlitePlatformOf(target: string): SqlitePlatform {
  const match = TARGET.exec(target);
  if (!match) throw new Error(`Unsupported target "${target}".\n\n${USAGE}`);
  const [, os, arch, , libc] = match;
  const platform = os === "windows" ? "win32" : os === "linux" && libc === "musl" ? "linuxmusl" : os;
  return `${platform}-${arch}` as SqlitePlatform;
}

/** This machine as a Bun compile target. */
function hostTarget(): string {
  const os = process.platform === "win32" ? "windows" : process.platform;
  return `bun-${os}-${process.arch}${os === "linux" && isMusl() ? "-musl" : ""}`;
}

/** As better-sqlite3 tells: which C library's loader is mapped into this process. */
function isMusl(): boolean {
  try {
    return /\/ld-musl-[^/\s]*\.so/.test(readFileSync("/proc/self/maps", "latin1"));
  } catch {
    return false;
  }
}

async function main(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      options: { target: { type: "string" }, outfile: { type: "string" }, help: { type: "boolean" } },
      strict: true,
    }));
  } catch {
    console.error(USAGE);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const target = values.target ?? hostTarget();
  let sqlite: SqlitePlatform;
  try {
    sqlite = sqlitePlatformOf(target);
  } catch (err) {
    console.error((err as Error).message);
    return 2;
  }
  const outfile = values.outfile ?? join(ROOT, "dist", "tollgate");
  const result = await Bun.build({
    // The store threads (the event writer, the readers) are entry points of their own: app.ts starts
    // them by their paths in the source tree.
    entrypoints: [
      join(ROOT, "src/main.ts"),
      join(ROOT, "src/modules/events/writer-thread.ts"),
      join(ROOT, "src/reads/thread.ts"),
    ],
    compile: {
      target: target as Bun.Build.CompileTarget,
      outfile,
      // The executable's behaviour must not depend on the folder it is started from.
      autoloadDotenv: false,
      autoloadBunfig: false,
    },
    minify: { whitespace: true, syntax: true },
    plugins: [
      {
        name: "better-sqlite3-prebuilt",
        setup(build) {
          build.onResolve({ filter: /^better-sqlite3$/ }, (args) => ({
            path: Bun.resolveSync(`better-sqlite3/${sqlite}`, args.resolveDir),
          }));
        },
      },
    ],
  });
  for (const log of result.logs) console.error(String(log));
  if (!result.success) return 1;
  console.log(`Built ${outfile} for ${target} (SQLite addon: better-sqlite3/${sqlite})`);
  return 0;
}

if (import.meta.main) process.exit(await main());
