/** Jobs tag: list, read, cancel, stream; and the deprecated generation poll. */
import { cancelJob, findWorkspaceJob, findWorkspaceJobBody, toGenerationBody, toJobBody, jobEventId, listJobs, watchJob } from "@aeriox/core/jobs";
import { defineHandlers, headerValue, principalOf, rawResponse } from "../http/handler.ts";

const HEARTBEAT_MS = 15_000;

export const jobHandlers = defineHandlers({
  listJobs: async (ctx) => {
    const page = await listJobs(ctx.services, principalOf(ctx).workspaceId, ctx.query);
    return { status: 200, body: { data: page.jobs.map((job) => toJobBody(job, ctx.services.signer)), next_cursor: page.nextCursor } };
  },

  getJob: async (ctx) => {
    // The most frequent read: the body's columns only, on the raw driver (serialize.ts).
    const job = await findWorkspaceJobBody(ctx.services, principalOf(ctx).workspaceId, ctx.params.id);
    return { status: 200, body: toJobBody(job, ctx.services.signer) };
  },

  cancelJob: async (ctx) => {
    const job = await cancelJob(ctx.services, principalOf(ctx).workspaceId, ctx.params.id);
    return { status: 200, body: toJobBody(job, ctx.services.signer) };
  },

  getGeneration: async (ctx) => {
    const job = await findWorkspaceJob(ctx.services, principalOf(ctx).workspaceId, ctx.params.id);
    return { status: 200, body: toGenerationBody(job, ctx.services.signer) };
  },

  streamJobEvents: async (ctx) => {
    const first = await findWorkspaceJob(ctx.services, principalOf(ctx).workspaceId, ctx.params.id);
    return rawResponse(async (res) => {
      res.status(200);
      res.setHeader("Content-Type", "text/event-stream; charset=utf-8");
      res.setHeader("Cache-Control", "no-cache, no-transform");
      res.setHeader("Connection", "keep-alive");
      res.setHeader("X-Accel-Buffering", "no");
      res.flushHeaders();
      const heartbeat = setInterval(() => res.write(": keep-alive\n\n"), HEARTBEAT_MS);
      try {
        for await (const job of watchJob(ctx.services, first, ctx.signal, headerValue(ctx.headers["last-event-id"]))) {
          res.write(`event: job\nid: ${jobEventId(job)}\ndata: ${JSON.stringify(toJobBody(job, ctx.services.signer))}\n\n`);
        }
      } finally {
        clearInterval(heartbeat);
        res.end();
      }
    });
  },
});
