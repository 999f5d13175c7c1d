/** Shape of an admin command: validated JSON arguments in, plain JSON out. */
import type { z } from "zod";
import type { Runtime } from "../runtime.ts";

export type AdminServices = Pick<Runtime, "db" | "config" | "logger">;

export interface AdminCommand<A extends z.ZodTypeAny = z.ZodTypeAny> {
  args: A;
  run(services: AdminServices, args: z.infer<A>): Promise<unknown>;
}

/** Keeps each command's `run` typed by its own argument schema. */
export function defineAdminCommand<A extends z.ZodTypeAny>(command: AdminCommand<A>): AdminCommand<A> {
  return command;
}
