// The README shows the proxy setups that test/proxies.test.ts runs: the same files, word for word.
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { PROXY_CONFIGS } from "./support/proxies";

test("the README's proxy setups are the files these suites run, word for word", () => {
  const readme = readFileSync(join(import.meta.dir, "..", "README.md"), "utf8");
  for (const file of ["Caddyfile", "nginx.conf.template", "traefik.yml"]) {
    expect({ file, inReadme: readme.includes(readFileSync(join(PROXY_CONFIGS, file), "utf8").trimEnd()) }).toEqual({
      file,
      inReadme: true,
    });
  }
});
