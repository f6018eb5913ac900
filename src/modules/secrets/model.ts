import type { KeyType, UserType } from "../auth/model";

export type SecretStatus = "published" | "archived" | "deleted";

export interface SecretRow {
  id: string;
  tenant_id: string;
  environment_id: string;
  user_id: string;
  created_by: string | null;
  name: string;
  description: string | null;
  type: KeyType;
  provider: string;
  key_hash: string;
  display_id: string;
  roles: string;
  status: SecretStatus;
  expires_at: string | null;
  last_used_at: string | null;
  created_at: string;
  updated_at: string;
}

/** What the verification path needs of a key and its owner, read in one indexed lookup. */
export interface VerifiableKeyRow {
  id: string;
  key_hash: string;
  tenant_id: string;
  environment_id: string;
  user_id: string;
  type: KeyType;
  roles: string;
  status: SecretStatus;
  expires_at: string | null;
  owner_type: UserType;
  owner_status: "published" | "archived";
}
