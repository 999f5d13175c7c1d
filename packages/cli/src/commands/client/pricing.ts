/** `aeriox pricing`: the USD price list (GET /v1/pricing, public: no key needed). */
import type { Command } from "@commander-js/extra-typings";
import { clientCall, table, usd } from "./common.ts";

export function registerPricing(program: Command): void {
  clientCall(
    program.command("pricing").description("The USD price list (GET /v1/pricing, public)"),
    (client) => client.pricing.get(),
    (res) => table(res.operations.map((o) => ({ ...o, price: `${usd(o.price_usd)}/${o.unit}` })), ["operation_id", "model", "provider", "price"]),
    { needsKey: false },
  );
}
