// The public surface of core's admin commands (`@aeriox/core/admin`): what the server's admin channel and the CLI run.
export * from "./commands.ts";
