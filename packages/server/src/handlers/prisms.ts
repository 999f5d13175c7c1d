/** Prisms tag: the static recipe catalog and applying a prism. */
import { listPrisms, toPrismBody } from "@aeriox/core/prisms/catalog";
import { submitPrismApply } from "@aeriox/core/prisms/apply";
import { toJobBody } from "@aeriox/core/jobs/serialize";
import { defineHandlers, principalOf } from "../http/handler.ts";

export const prismHandlers = defineHandlers({
  listPrisms: async (ctx) => {
    return { status: 200, body: { data: listPrisms(ctx.query).map(toPrismBody) } };
  },

  applyPrism: async (ctx) => {
    const job = await submitPrismApply(ctx.services, principalOf(ctx), ctx.params.id, ctx.body);
    return { status: 202, body: toJobBody(job, ctx.services.signer) };
  },
});
