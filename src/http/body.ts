import { payloadTooLarge, validationError } from "./errors";

export const DEFAULT_BODY_LIMIT = 1024 * 1024;
export const BULK_BODY_LIMIT = 32 * 1024 * 1024;

/** Routes allowed a larger body than the default; everything else is capped at 1 MiB. */
const BODY_LIMITS: Record<string, number> = { "/v1/events/bulk": BULK_BODY_LIMIT };

export function bodyLimitFor(pathname: string): number {
  return BODY_LIMITS[pathname] ?? DEFAULT_BODY_LIMIT;
}

/**
 * Every request body is JSON, whatever Content-Type says (curl's `-d` sends form encoding by
 * default). The limit is enforced on the declared length before reading, and while streaming
 * a body that declares none, so an oversized body is never held in memory.
 */
export async function parseJsonBody(request: Request, limit: number): Promise<unknown> {
  const text = await readBodyText(request, limit);
  if (text.trim() === "") return {};
  try {
    return JSON.parse(text);
  } catch {
    throw validationError("Request body is not valid JSON");
  }
}

async function readBodyText(request: Request, limit: number): Promise<string> {
  const declared = request.headers.get("content-length");
  if (declared !== null) {
    if (Number(declared) > limit) throw payloadTooLarge(limit);
    return request.text();
  }
  if (!request.body) return "";
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      throw payloadTooLarge(limit);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString("utf8");
}
