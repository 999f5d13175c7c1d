/**
 * msw handlers for ElevenLabs text-to-speech as @elevenlabs/elevenlabs-js 2.x calls it:
 *   POST https://api.elevenlabs.io/v1/text-to-speech/:voice_id?output_format=mp3_44100_128
 *   headers xi-api-key; JSON body { text, model_id, ... } → audio/mpeg bytes.
 * Errors use ElevenLabs' shapes: {detail: {status, message}} (401, 429, 500) and
 * FastAPI's {detail: [{loc, msg, type}]} (422).
 */
import { http, HttpResponse } from "msw";

export const ELEVENLABS_API_URL = "https://api.elevenlabs.io";

export interface ElevenLabsInjectedError {
  status: number;
  body?: unknown;
  times?: number;
}

export interface ElevenLabsMockOptions {
  error?: ElevenLabsInjectedError;
  /** Required xi-api-key; default: any non-empty key. */
  expectKey?: string;
}

export interface ElevenLabsCall {
  voiceId: string;
  outputFormat: string | null;
  body: Record<string, unknown>;
}

export interface ElevenLabsMock {
  handlers: ReturnType<typeof http.post>[];
  calls: ElevenLabsCall[];
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
  return {
    handlers: [handler],
    calls,
    set(next) {
      options = next;
      failed = 0;
    },
  };
}
