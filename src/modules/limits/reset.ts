import { invalidOperation } from "../../http/errors";
import type { Credits, LimitsInput } from "./model";

// "Reset credits" (the dashboard's): an owner's remaining credits set back to their refill
// amount, or to a number the operator types, keeping the refill. It is a credits change like any
// other (setKeyLimits / setAccountLimits, through resetKeyCredits / resetAccountCredits beside
// them): checked, audited, and seen by every process at once.

const RESET_MESSAGES = {
  unlimited: "These credits are unlimited: there is nothing to reset. Set a number of credits instead.",
  noRefill: "These credits have no refill amount to reset to: type the number of credits to reset to.",
} as const;

/** The credits change a reset makes: `to`, or the refill amount when no number is given. */
export function resetInput(credits: Credits | null, to: number | undefined): LimitsInput {
  if (credits === null || credits.remaining === null) throw invalidOperation(RESET_MESSAGES.unlimited);
  const remaining = to ?? credits.refill?.amount;
  if (remaining === undefined) throw invalidOperation(RESET_MESSAGES.noRefill);
  return { credits: { remaining, refill: credits.refill } };
}
