import { t } from "elysia";
import { CountryCode } from "./countries";
import { ClearableText } from "./schemas";

/** Flexprice's address fields (a customer's, a tenant's billing address), in its order. */
export const ADDRESS_FIELDS = [
  "address_line1",
  "address_line2",
  "address_city",
  "address_state",
  "address_postal_code",
  "address_country",
] as const;

export type AddressField = (typeof ADDRESS_FIELDS)[number];

/** An address as stored and answered: every field present, null where not set. */
export type Address = Record<AddressField, string | null>;

/** The address fields of a request, with Flexprice's limits (dto.Address); "" or null clears one. */
export const addressBodyFields = {
  address_line1: ClearableText(255),
  address_line2: ClearableText(255),
  address_city: ClearableText(100),
  address_state: ClearableText(100),
  address_postal_code: ClearableText(20),
  address_country: CountryCode(),
};

/** The address fields of a response: every one present, null where not set. */
export const addressResponseFields = {
  address_line1: t.Nullable(t.String()),
  address_line2: t.Nullable(t.String()),
  address_city: t.Nullable(t.String()),
  address_state: t.Nullable(t.String()),
  address_postal_code: t.Nullable(t.String()),
  address_country: t.Nullable(t.String({ description: "ISO 3166-1 alpha-2" })),
};
