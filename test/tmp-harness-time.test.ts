import { test } from "bun:test";
import { createHarness } from "./support/harness";
import { newPostgresDatabase } from "./support/test-store";
test("time", async () => {
  for (let i = 0; i < 6; i++) {
    const t = performance.now();
    await newPostgresDatabase();
    const t0 = performance.now();
    const h = await createHarness();
    const t1 = performance.now();
    await h.call("GET", "/v1/users/me");
    const t2 = performance.now();
    await h.close();
    console.log("createdb", (t0 - t).toFixed(0), "create harness", (t1 - t0).toFixed(0), "first call", (t2 - t1).toFixed(0), "close", (performance.now() - t2).toFixed(0));
  }
});
