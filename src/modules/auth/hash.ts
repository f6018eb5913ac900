/**
 * SHA-256 of a key, with Bun's native hasher writing straight into a fresh Buffer: about four
 * times faster than node:crypto's createHash, and no ArrayBuffer copy on the way out.
 */
export function sha256(value: string): Buffer {
  const digest = Buffer.allocUnsafe(32);
  Bun.SHA256.hash(value, digest);
  return digest;
}

export function sha256Hex(value: string): string {
  return Bun.SHA256.hash(value, "hex");
}
