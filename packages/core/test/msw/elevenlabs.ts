/**
 * msw handlers for ElevenLabs text-to-speech as @elevenlabs/elevenlabs-js 2.x calls it:
 *   POST https://api.elevenlabs.io/v1/text-to-speech/:voice_id?output_format=mp3_44100_128
 *   headers xi-api-key; JSON body { text, model_id, ... } → audio/mpeg bytes.
 * Voices (instant voice cloning, `voices.ivc.create` / `voices.get` / `voices.delete`):
 *   POST   https://api.elevenlabs.io/v1/voices/add   multipart: name, files (1+), description?, …
 *          → {voice_id, requires_verification: false}
 *   GET    https://api.elevenlabs.io/v1/voices/:voice_id   → the voice, or 404 voice_not_found
 *   DELETE https://api.elevenlabs.io/v1/voices/:voice_id   → {status: "ok"}
 * Errors use ElevenLabs' shapes: {detail: {status, message}} (401, 429, 500) and
 * FastAPI's {detail: [{loc, msg, type}]} (422).
 */
import { randomBytes } from "node:crypto";
import { http, HttpResponse, type HttpHandler } from "msw";

export const ELEVENLABS_API_URL = "https://api.elevenlabs.io";

export interface ElevenLabsInjectedError {
  status: number;
  body?: unknown;
  times?: number;
}

export interface ElevenLabsMockOptions {
  error?: ElevenLabsInjectedError;
  /** POST /v1/voices/add answers this error. */
  voiceAddError?: ElevenLabsInjectedError;
  /** Required xi-api-key; default: any non-empty key. */
  expectKey?: string;
}

export interface ElevenLabsCall {
  voiceId: string;
  outputFormat: string | null;
  body: Record<string, unknown>;
}

export interface ElevenLabsVoiceAdd {
  voiceId: string;
  name: string;
  description: string | null;
  files: Array<{ name: string; type: string; bytes: Uint8Array }>;
}

export interface ElevenLabsMock {
  handlers: HttpHandler[];
  calls: ElevenLabsCall[];
  /** Every accepted POST /v1/voices/add. */
  voiceAdds: ElevenLabsVoiceAdd[];
  /** Voices that exist (premade ones plus clones); DELETE removes. */
  voices: Set<string>;
  deletedVoices: string[];
  set(options: ElevenLabsMockOptions): void;
}

/** Typical ElevenLabs error bodies by status. */
export function elevenLabsError(status: 401 | 422 | 429 | 500 | number, times?: number): ElevenLabsInjectedError {
  const body =
    status === 422
      ? { detail: [{ loc: ["body", "text"], msg: "text is too long for this model", type: "value_error" }] }
      : status === 401
        ? { detail: { status: "invalid_api_key", message: "Invalid API key" } }
        : status === 429
          ? { detail: { status: "too_many_concurrent_requests", message: "Too many concurrent requests" } }
          : { detail: { status: "internal_server_error", message: "Something went wrong" } };
  return { status, body, ...(times === undefined ? {} : { times }) };
}

/** A small but well-formed MP3: ID3v2 tag + MPEG-1 Layer III frames (128 kbps, 44.1 kHz), ~26 ms each. */
export function fakeMp3(frames: number): Uint8Array {
  const id3 = Buffer.from([0x49, 0x44, 0x33, 4, 0, 0, 0, 0, 0, 0]);
  const frameLen = 417; // 144 * 128000 / 44100
  const frame = Buffer.alloc(frameLen);
  frame.set([0xff, 0xfb, 0x90, 0x64]);
  return new Uint8Array(Buffer.concat([id3, ...Array.from({ length: Math.max(1, frames) }, () => frame)]));
}

export function elevenLabsHandlers(initial: ElevenLabsMockOptions = {}): ElevenLabsMock {
  let options = initial;
  let failed = 0;
  const calls: ElevenLabsCall[] = [];
  const handler = http.post(`${ELEVENLABS_API_URL}/v1/text-to-speech/:voiceId`, async ({ request, params }) => {
    const key = request.headers.get("xi-api-key");
    if (!key || (options.expectKey && key !== options.expectKey)) return HttpResponse.json(elevenLabsError(401).body as Record<string, unknown>, { status: 401 });
    const body = ((await request.json().catch(() => ({}))) ?? {}) as Record<string, unknown>;
    calls.push({ voiceId: String(params.voiceId), outputFormat: new URL(request.url).searchParams.get("output_format"), body });
    const err = options.error;
    if (err && (err.times === undefined || failed < err.times)) {
      failed++;
      return HttpResponse.json((err.body ?? elevenLabsError(err.status).body) as Record<string, unknown>, { status: err.status });
    }
    const text = typeof body.text === "string" ? body.text : "";
    const bytes = fakeMp3(Math.ceil(text.length / 4));
    return new HttpResponse(bytes, { headers: { "content-type": "audio/mpeg", "content-length": String(bytes.length) } });
  });
  const voiceAdds: ElevenLabsVoiceAdd[] = [];
  const voices = new Set<string>(PREMADE_VOICES);
  const deletedVoices: string[] = [];
  const unauthorized = (request: Request) => {
    const key = request.headers.get("xi-api-key");
    return !key || (options.expectKey !== undefined && key !== options.expectKey) ? HttpResponse.json(elevenLabsError(401).body as Record<string, unknown>, { status: 401 }) : null;
  };
  const add = http.post(`${ELEVENLABS_API_URL}/v1/voices/add`, async ({ request }) => {
    const denied = unauthorized(request);
    if (denied) return denied;
    if (options.voiceAddError) return HttpResponse.json((options.voiceAddError.body ?? elevenLabsError(options.voiceAddError.status).body) as Record<string, unknown>, { status: options.voiceAddError.status });
    if (!(request.headers.get("content-type") ?? "").startsWith("multipart/form-data")) {
      return HttpResponse.json({ detail: [{ loc: ["body"], msg: "Expected multipart/form-data", type: "value_error" }] }, { status: 422 });
    }
    const form = await request.formData();
    const name = form.get("name");
    const files = form.getAll("files").filter((f): f is File => typeof f !== "string");
    if (typeof name !== "string" || !name || files.length === 0) {
      return HttpResponse.json({ detail: [{ loc: ["body", typeof name !== "string" || !name ? "name" : "files"], msg: "field required", type: "value_error.missing" }] }, { status: 422 });
    }
    const voiceId = randomBytes(15).toString("base64url").replace(/[-_]/g, "x").slice(0, 20);
    voices.add(voiceId);
    const description = form.get("description");
    voiceAdds.push({ voiceId, name, description: typeof description === "string" ? description : null, files: await Promise.all(files.map(async (f) => ({ name: f.name, type: f.type, bytes: new Uint8Array(await f.arrayBuffer()) }))) });
    return HttpResponse.json({ voice_id: voiceId, requires_verification: false });
  });
  const notFound = (id: string) => HttpResponse.json({ detail: { status: "voice_not_found", message: `A voice with the voice_id ${id} was not found.` } }, { status: 404 });
  const get = http.get(`${ELEVENLABS_API_URL}/v1/voices/:voiceId`, ({ request, params }) => {
    const denied = unauthorized(request);
    if (denied) return denied;
    const id = String(params.voiceId);
    if (!voices.has(id)) return notFound(id);
    return HttpResponse.json({ voice_id: id, name: voiceAdds.find((v) => v.voiceId === id)?.name ?? "Premade", category: voiceAdds.some((v) => v.voiceId === id) ? "cloned" : "premade", labels: {}, samples: null, settings: null });
  });
  const del = http.delete(`${ELEVENLABS_API_URL}/v1/voices/:voiceId`, ({ request, params }) => {
    const denied = unauthorized(request);
    if (denied) return denied;
    const id = String(params.voiceId);
    if (!voices.delete(id)) return notFound(id);
    deletedVoices.push(id);
    return HttpResponse.json({ status: "ok" });
  });

  return {
    handlers: [handler, add, get, del],
    calls,
    voiceAdds,
    voices,
    deletedVoices,
    set(next) {
      options = next;
      failed = 0;
    },
  };
}

/** Voices every ElevenLabs account has (the default voice of elevenlabs-provider.ts among them). */
export const PREMADE_VOICES = ["JBFqnCBsd6RMkjVDRZzb", "21m00Tcm4TlvDq8ikWAM"];
