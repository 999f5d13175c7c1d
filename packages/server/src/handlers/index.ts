/** Every handler, one module per spec tag, bound by operationId in http/router.ts. */
import type { HandlerMap } from "../http/handler.ts";
import { apiKeyHandlers } from "./api-keys.ts";
import { assetHandlers } from "./assets.ts";
import { cardHandlers } from "./cards.ts";
import { characterHandlers } from "./characters.ts";
import { discoveryHandlers } from "./discovery.ts";
import { generationHandlers } from "./generation.ts";
import { healthHandlers } from "./health.ts";
import { oauthHandlers } from "./oauth.ts";
import { jobHandlers } from "./jobs.ts";
import { prismHandlers } from "./prisms.ts";
import { walletHandlers } from "./wallet.ts";
import { webhookHandlers } from "./webhooks.ts";

export const handlers: HandlerMap = {
  ...apiKeyHandlers,
  ...assetHandlers,
  ...cardHandlers,
  ...characterHandlers,
  ...discoveryHandlers,
  ...generationHandlers,
  ...healthHandlers,
  ...oauthHandlers,
  ...jobHandlers,
  ...prismHandlers,
  ...walletHandlers,
  ...webhookHandlers,
};
