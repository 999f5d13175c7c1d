/** `aeriox health | ready | spec`: the API server's probes and its OpenAPI document (public: no key needed). */
import type { Command } from "@commander-js/extra-typings";
import { action, clientCall, clientCommand, keyValues, makeClient } from "./common.ts";

export function registerServer(program: Command): void {
  clientCall(
    program.command("health").description("Liveness of the API server (GET /healthz, public)"),
    (client) => client.health(),
    (res) => res.status,
    { needsKey: false },
  );
  clientCall(
    program.command("ready").description("Readiness of the API server and its dependencies (GET /readyz, public)"),
    (client) => client.readiness(),
    (res) => `${res.status}\n${keyValues(res.checks)}`,
    { needsKey: false },
  );
  clientCommand(program.command("spec").description("The OpenAPI document the server speaks (GET /openapi.json, public)")).action(
    action(async (flags) => {
      const res = await makeClient(flags, { needsKey: false }).openapi();
      process.stdout.write(JSON.stringify(res, null, flags.json ? 0 : 2) + "\n");
    }),
  );
}
