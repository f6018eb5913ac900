import { FormatRegistry } from "@sinclair/typebox";
import { t } from "elysia";

/**
 * The officially assigned ISO 3166-1 alpha-2 country codes (249, as listed in tzdata's
 * iso3166.tab), which Flexprice's `address_country` is validated against. Capitals only, as the
 * standard writes them: "us" or "USA" is refused rather than guessed at.
 */
const CODES =
  "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW";

export const COUNTRY_CODES: ReadonlySet<string> = new Set(CODES.split(" "));

export const COUNTRY_RULE = "must be a two-letter ISO 3166-1 alpha-2 country code in capitals, such as US";

/** An empty string clears the country, as for every address field (customer and tenant alike). */
FormatRegistry.Set("iso3166-alpha2", (value) => value === "" || COUNTRY_CODES.has(value));

/** `address_country` wherever an address is taken: a known code, "" or null (cleared). */
export const CountryCode = () =>
  t.Optional(
    t.Nullable(
      t.String({ format: "iso3166-alpha2", maxLength: 2, error: COUNTRY_RULE, description: "ISO 3166-1 alpha-2" }),
    ),
  );
