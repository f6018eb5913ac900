import { createHash } from "node:crypto";

export interface StaticFile {
  body: Uint8Array;
  /** A strong ETag: a digest of the content. */
  etag: string;
}

const loaded = new Map<string, Promise<StaticFile>>();

/**
 * A file shipped with the code (an import `with { type: "file" }`: inside the executable once
 * built), read once and kept in memory with its ETag. These files are a few kilobytes.
 */
export function loadStatic(path: string): Promise<StaticFile> {
  let file = loaded.get(path);
  if (!file) {
    file = Bun.file(path)
      .bytes()
      .then((body) => ({ body, etag: `"${createHash("sha256").update(body).digest("base64url").slice(0, 22)}"` }));
    loaded.set(path, file);
  }
  return file;
}
