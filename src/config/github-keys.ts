import { createPublicKey, type KeyObject } from "node:crypto";

/**
 * One of the keys GitHub signs its secret scanning deliveries with (leaked_keys.github.public_keys)
 * when its PEM text is an ECDSA P-256 public key; otherwise why not, in words for the config
 * error (which never quotes the key). The config check and the endpoint read keys the same way.
 */
export function parseGithubPublicKey(pem: string): KeyObject | string {
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch {
    return "is not a public key in PEM (-----BEGIN PUBLIC KEY-----)";
  }
  if (key.asymmetricKeyType !== "ec" || key.asymmetricKeyDetails?.namedCurve !== "prime256v1") {
    return "is not an ECDSA P-256 key, which GitHub signs with";
  }
  return key;
}
