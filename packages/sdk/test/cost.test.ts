import { describe, expect, it } from "vitest";
import { CostLimitError } from "../src/index.ts";
import { http, HttpResponse, job, makeClient, server, url, useMsw } from "./helpers.ts";

useMsw();

function estimate(usd: number, would_succeed = true, reasons_blocked: string[] = []) {
  const seen: unknown[] = [];
  server.use(http.post(url("/v1/estimate"), async ({ request }) => {
    seen.push(await request.json());
    return HttpResponse.json({ credits: usd * 100, usd, estimated_seconds: 3, model: "local/video", would_succeed, reasons_blocked });
  }));
  return seen;
}

function generations() {
  const posts: unknown[] = [];
  server.use(http.post(url("/v1/videos/generate"), async ({ request }) => {
    posts.push(await request.json());
    return HttpResponse.json(job("queued", { type: "video" }), { status: 202 });
  }));
  return posts;
}

const body = { model: "local/video", prompt: "waves", duration_s: 5 };

describe("maxCostUsd", () => {
  it("refuses before the POST when the estimate is above the limit", async () => {
    const est = estimate(0.9);
    const posts = generations();
    const err = await makeClient().videos.generate(body, { maxCostUsd: 0.5 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CostLimitError);
    expect(err).toMatchObject({ maxCostUsd: 0.5, estimate: { usd: 0.9 }, code: "max_cost_exceeded" });
    expect(est).toEqual([{ model: "local/video", prompt: "waves", duration: 5 }]);
    expect(posts).toEqual([]);
  });

  it("refuses when the estimate says the call would not succeed", async () => {
    estimate(0.1, false, ["insufficient_credits"]);
    const posts = generations();
    await expect(makeClient().videos.generate(body, { maxCostUsd: 5 })).rejects.toMatchObject({ name: "CostLimitError", code: "estimate_blocked" });
    expect(posts).toEqual([]);
  });

  it("goes ahead under the limit", async () => {
    estimate(0.2);
    const posts = generations();
    await expect(makeClient().videos.generate(body, { maxCostUsd: 0.5 })).resolves.toMatchObject({ status: "queued" });
    expect(posts).toEqual([body]);
  });

  it("sends the start image to the estimate (an image-to-video-only model needs it)", async () => {
    const est = estimate(0.25);
    const posts = generations();
    const withImage = { model: "fal-ai/kling-video/v2.1/standard/image-to-video", prompt: "waves", duration_s: 5, image_url: "https://example.com/start.png" };
    await makeClient().videos.generate(withImage, { maxCostUsd: 1 });
    expect(est).toEqual([{ model: withImage.model, prompt: "waves", duration: 5, image_url: "https://example.com/start.png" }]);
    expect(posts).toEqual([withImage]);
  });

  it("skips the estimate without maxCostUsd", async () => {
    const est = estimate(99);
    generations();
    await makeClient().videos.generate(body);
    expect(est).toEqual([]);
  });
});
