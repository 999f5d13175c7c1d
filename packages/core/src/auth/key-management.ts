/**
 * Issuing, listing, rotating and revoking API keys. The first key of a workspace
 * credits the free trial, once, in the same transaction.
 */
import type { Runtime } from "../runtime.ts";
import { createApiKey, type ApiKeyRecord, type CreateApiKeyInput } from "./api-keys.ts";
import { creditTrialOnce } from "./trial.ts";

type Services = Pick<Runtime, "db" | "config">;

export async function issueApiKey(services: Services, input: CreateApiKeyInput): Promise<{ key: string; record: ApiKeyRecord }> {
  return services.db.prisma.$transaction(async (tx) => {
    const issued = await createApiKey(tx, input);
    await creditTrialOnce(tx, services.config, input.workspaceId);
    return issued;
  });
}
