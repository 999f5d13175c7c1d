/**
 * "Deliveries were just recorded": the dispatchers of each database (dispatcher.ts) register here, and
 * events.ts and jobs/settle.ts kick them after their commit. Its own module so that recording an event
 * does not import the dispatcher (which imports delivery.ts, which imports events.ts).
 */
import type { Database } from "../db/index.ts";

export interface Sweeper {
  sweep(): Promise<void>;
}

/** The live dispatchers per database; dispatcher.ts adds and removes them. */
export const dispatchersOf = new Map<Database, Set<Sweeper>>();

/** After a commit that recorded deliveries: have them attempted now rather than at the next periodic sweep. */
export function kickWebhookDeliveries(db: Database): void {
  const first = dispatchersOf.get(db)?.values().next().value;
  void first?.sweep().catch(() => undefined);
}
