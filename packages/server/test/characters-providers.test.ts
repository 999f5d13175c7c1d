/**
 * Characters on a deployment with FAL_KEY and ELEVENLABS_API_KEY, through HTTP, against msw
 * handlers that speak fal's storage + queue protocol and ElevenLabs' voice API:
 * - training uploads the references' zip, runs fal-ai/flux-lora-fast-training, clones the voice;
 *   a later character_id generation sends that LoRA to fal-ai/flux-lora, and character_voice_id
 *   speaks with the cloned voice;
 * - a retry after a failed result polls the same fal request (no second upload, submit or clone);
 * - a supplied voice_id is checked; bad voice samples fail before fal is paid; refunds.
 * References and samples are data: URIs, so nothing but the mocked providers is reached.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { setupServer } from "msw/node";
import { falHandlers, elevenLabsHandlers, FAL_CDN_URL, PREMADE_VOICES } from "@aeriox/core/testing/msw";
import { BreakerRegistry } from "@aeriox/core/providers";
import { auditWallet } from "@aeriox/core/wallet";
import { solidPng } from "@aeriox/core/prisms";
import { wavHeader } from "@aeriox/core/media";
import { readStoredZip } from "@aeriox/core/characters";
import { startTestServer, type TestServer } from "./harness.ts";
import { waitForJob, walletOf, type JobBody } from "./polling.ts";

const fal = falHandlers({ statuses: ["IN_QUEUE", "IN_PROGRESS", "IN_PROGRESS", "COMPLETED"] });
const eleven = elevenLabsHandlers();
const mocks = setupServer(...fal.handlers, ...eleven.handlers);

let srv: TestServer;
let key: string;
let workspaceId: string;

const red = solidPng(200, 20, 20);
const blue = solidPng(10, 30, 220);
const pngUrl = (png: Buffer) => `data:image/png;base64,${png.toString("base64")}`;
// A short real WAV (25 ms of a 440 Hz tone), small enough for a data: URI within the 2,048-character bound.
const pcm = Buffer.alloc(800);
for (let i = 0; i < 400; i++) pcm.writeInt16LE(Math.round(Math.sin((2 * Math.PI * 440 * i) / 16_000) * 8000), i * 2);
const wav = Buffer.concat([wavHeader(pcm.length, 16_000), pcm]);
const wavUrl = `data:audio/wav;base64,${wav.toString("base64")}`;

type CharacterBody = { id: string; status: string; voice_id: string | null; lora_url: string | null };

beforeAll(async () => {
  mocks.listen({
    onUnhandledRequest(request, print) {
      if (!["127.0.0.1", "localhost"].includes(new URL(request.url).hostname)) print.error();
    },
  });
  srv = await startTestServer({
    env: { FAL_KEY: "fal-test-key", ELEVENLABS_API_KEY: "el-test-key", MAX_INFLIGHT_JOBS_PER_WORKSPACE: "50", TRIAL_CREDIT_USD: "50" },
    providers: { breakers: new BreakerRegistry(), fal: { pollIntervalMs: 5 } },
  });
  ({ key, workspace_id: workspaceId } = await srv.createKey());
});
afterEach(async () => {
  fal.reset();
  eleven.set({});
  eleven.calls.length = 0;
  eleven.voiceAdds.length = 0;
  expect((await auditWallet(srv.runtime.db, workspaceId)).problems).toEqual([]);
});
afterAll(async () => {
  await srv?.close();
  mocks.close();
});

async function train(body: Record<string, unknown>) {
  const res = await srv.request("/v1/characters", { method: "POST", key, json: body });
  expect(res.status, await res.clone().text()).toBe(202);
  const queued = (await res.json()) as JobBody & { character_id: string };
  const job = await waitForJob(srv, key, queued.job_id, 60_000);
  const character = (await (await srv.request(`/v1/characters/${queued.character_id}`, { key })).json()) as CharacterBody;
  return { queued, job, character };
}

describe("fal LoRA training + ElevenLabs voice clone", () => {
  it("trains on fal, clones the voice, and later generations send the LoRA and use the voice", async () => {
    const before = await walletOf(srv, key);
    const { queued, job, character } = await train({ name: "Captain Red", image_urls: [pngUrl(red), pngUrl(blue)], voice_sample_urls: [wavUrl] });
    expect(queued.estimated_cost_usd).toBe(2);
    expect(job.status, JSON.stringify(job.error)).toBe("completed");
    expect(job.charged_cost_usd).toBe(2);
    expect((await walletOf(srv, key)).available_micros).toBe(before.available_micros - 2_000_000);

    // Storage: one zip with both references, uploaded through initiate + PUT.
    expect(fal.stats.uploadInitiates).toBe(1);
    const upload = fal.stats.uploads[0]!;
    expect(upload).toMatchObject({ fileName: "references.zip", contentType: "application/zip" });
    const entries = readStoredZip(upload.bytes!);
    expect(entries.map((e) => e.name)).toEqual(["reference_01.png", "reference_02.png"]);
    expect(Buffer.from(entries[0]!.bytes).equals(red)).toBe(true);
    expect(Buffer.from(entries[1]!.bytes).equals(blue)).toBe(true);

    // The trainer: one submit, with the uploaded archive.
    expect(fal.stats.submits).toBe(1);
    const training = fal.stats.submitted[0]!;
    expect(training.endpoint).toBe("fal-ai/flux-lora-fast-training");
    expect(training.input).toMatchObject({ images_data_url: upload.url, steps: 1000, create_masks: true });
    expect(training.input.trigger_word).toMatch(/^soul_[0-9a-f]{8}$/);

    // ElevenLabs: one instant clone with the sample; the character's voice is the id it answered.
    expect(eleven.voiceAdds).toHaveLength(1);
    expect(eleven.voiceAdds[0]!.name).toBe("Captain Red");
    expect(eleven.voiceAdds[0]!.files).toHaveLength(1);
    expect(Buffer.from(eleven.voiceAdds[0]!.files[0]!.bytes).equals(wav)).toBe(true);
    expect(character).toMatchObject({ status: "ready", voice_id: eleven.voiceAdds[0]!.voiceId, lora_url: `aeriox-asset://${job.asset_ids![0]}` });

    const artifact = (await (await fetch(job.output_urls![0]!)).json()) as { trainer: string; lora: { url: string }; voice: unknown; trigger_word: string };
    const loraUrl = `${FAL_CDN_URL}/files/${training.requestId}/pytorch_lora_weights.safetensors`;
    expect(artifact).toMatchObject({ trainer: "fal", lora: { url: loraUrl }, voice: { provider: "elevenlabs", voice_id: character.voice_id, source: "cloned" } });

    // Image with the character: fal-ai/flux-lora with the LoRA, priced as flux-lora ($0.035).
    const img = await srv.request("/v1/images/generate", { method: "POST", key, json: { model: "fal-ai/flux/dev", prompt: "the captain at sea", character_id: character.id } });
    expect(img.status, await img.clone().text()).toBe(202);
    const imgQueued = (await img.json()) as JobBody;
    expect(imgQueued.estimated_cost_usd).toBe(0.035);
    expect((await waitForJob(srv, key, imgQueued.job_id)).status).toBe("completed");
    const generation = fal.stats.submitted[1]!;
    expect(generation.endpoint).toBe("fal-ai/flux-lora");
    expect(generation.input.loras).toEqual([{ path: loraUrl, scale: 1 }]);
    expect(generation.input.prompt).toBe(`${artifact.trigger_word}, the captain at sea`);

    // Speech with the character's voice: the TTS request names the cloned voice.
    const tts = await srv.request("/v1/audio/generate", { method: "POST", key, json: { text: "Ahoy", model: "eleven_multilingual_v2", character_voice_id: character.id } });
    expect(tts.status, await tts.clone().text()).toBe(202);
    expect((await waitForJob(srv, key, ((await tts.json()) as JobBody).job_id)).status).toBe("completed");
    expect(eleven.calls.map((c) => c.voiceId)).toEqual([character.voice_id]);
  });

  it("a retry after a failed result polls the same fal request: no second upload, submit, clone or charge", async () => {
    fal.set({ statuses: ["IN_PROGRESS", "COMPLETED"], resultError: { status: 500, body: { detail: "result store hiccup" }, times: 1 } });
    const before = await walletOf(srv, key);
    const { job, character } = await train({ name: "Retry", image_urls: [pngUrl(red)], voice_sample_urls: [wavUrl] });
    expect(job.status, JSON.stringify(job.error)).toBe("completed");
    // The failed result was asked for again (at least once more: under load a stalled attempt can be
    // resumed by another, which asks too); what must hold is one upload, one submit, one clone, one charge.
    expect(fal.stats.resultCalls).toBeGreaterThanOrEqual(2);
    expect(fal.stats.uploadInitiates).toBe(1);
    expect(fal.stats.submits).toBe(1);
    expect(eleven.voiceAdds).toHaveLength(1);
    expect(character.voice_id).toBe(eleven.voiceAdds[0]!.voiceId);
    expect((await walletOf(srv, key)).available_micros).toBe(before.available_micros - 2_000_000);
  });

  it("a supplied voice_id must exist at ElevenLabs: unknown → failed (voice_not_found) and refunded; premade → the character's voice", async () => {
    const before = await walletOf(srv, key);
    const missing = await train({ name: "Nobody", image_urls: [pngUrl(red)], voice_id: "NoSuchVoice000000000" });
    expect(missing.job.status).toBe("failed");
    expect(missing.job.error?.error.code).toBe("voice_not_found");
    expect(missing.character.status).toBe("failed");
    expect(fal.stats.submits).toBe(0); // checked before fal was paid
    expect(await walletOf(srv, key)).toEqual(before);

    const known = await train({ name: "George", image_urls: [pngUrl(red)], voice_id: PREMADE_VOICES[0] });
    expect(known.job.status).toBe("completed");
    expect(known.character.voice_id).toBe(PREMADE_VOICES[0]);
    expect(eleven.voiceAdds).toHaveLength(0);
  });

  it("a voice sample that is not audio fails the job naming it, before anything is uploaded or cloned, and refunds", async () => {
    const before = await walletOf(srv, key);
    const { job, character } = await train({ name: "Mute", image_urls: [pngUrl(red)], voice_sample_urls: [wavUrl, `data:audio/wav;base64,${Buffer.from("not audio at all").toString("base64")}`] });
    expect(job.status).toBe("failed");
    expect(job.error?.error.code).toBe("unsupported_content_type");
    expect(job.error?.error.message).toContain("voice_sample_urls[1]");
    expect(character.status).toBe("failed");
    expect(fal.stats.uploadInitiates + fal.stats.submits + eleven.voiceAdds.length).toBe(0);
    expect(await walletOf(srv, key)).toEqual(before);
  });

  it("character_voice_id on an ElevenLabs model for a character without an ElevenLabs voice is 400 before anything is reserved; voice fields conflict", async () => {
    const { character } = await train({ name: "Silent", image_urls: [pngUrl(blue)] });
    expect(character.voice_id).toBeNull();
    const before = await walletOf(srv, key);
    const res = await srv.request("/v1/audio/generate", { method: "POST", key, json: { text: "Hello", model: "eleven_multilingual_v2", character_voice_id: character.id } });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("character_has_no_voice");
    expect(await walletOf(srv, key)).toEqual(before);
    expect(eleven.calls).toHaveLength(0);

    const both = await srv.request("/v1/characters", { method: "POST", key, json: { name: "x", image_urls: [pngUrl(red)], voice_id: "abc", voice_sample_urls: [wavUrl] } });
    expect(both.status).toBe(400);
    const invalid = await srv.request("/v1/characters", { method: "POST", key, json: { name: "x", image_urls: [pngUrl(red)], voice_sample_urls: [wavUrl, wavUrl, wavUrl, wavUrl] } });
    expect(invalid.status).toBe(400);
  });
});
