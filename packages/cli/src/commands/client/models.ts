/** `aeriox models`: models, capabilities and unit prices (GET /v1/models). */
import type { Command } from "@commander-js/extra-typings";
import { clientCall, table, usd } from "./common.ts";

export function registerModels(program: Command): void {
  clientCall(
    program.command("models").description("Models, capabilities and unit prices (GET /v1/models)"),
    (client) => client.models.list(),
    (res) => table(res.data.map((m) => ({ ...m, price: `${usd(m.cost_usd_per_unit)}/${m.unit}` })), ["model_id", "type", "provider", "price"]),
  );
}
