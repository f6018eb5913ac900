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

/** Whether an If-None-Match header names this ETag (weak or strong, in a list, or `*`). */
function matchesEtag(ifNoneMatch: string | null, etag: string): boolean {
  if (!ifNoneMatch) return false;
  return ifNoneMatch.split(",").some((tag) => {
    const candidate = tag.trim().replace(/^W\//, "");
    return candidate === "*" || candidate === etag;
  });
}

/** An asset: asked again on every use (`no-cache`), answered 304 while its content is the same. */
export function assetResponse(request: Request, file: StaticFile, type: string): Response {
  const headers = {
    "content-type": type,
    "cache-control": "no-cache",
    etag: file.etag,
    "x-content-type-options": "nosniff",
  };
  if (matchesEtag(request.headers.get("if-none-match"), file.etag)) return new Response(null, { status: 304, headers });
  return new Response(file.body, { headers });
}
