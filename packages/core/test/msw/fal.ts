/**
 * msw handlers speaking fal.ai's queue protocol as @fal-ai/client 1.10 calls it:
 *
 *   POST https://queue.fal.run/<endpoint path>               submit (e.g. fal-ai/flux/schnell)
 *   GET  https://queue.fal.run/<owner>/<alias>/requests/<id>/status?logs=0|1
 *   GET  https://queue.fal.run/<owner>/<alias>/requests/<id>  result
 *   PUT  https://queue.fal.run/<owner>/<alias>/requests/<id>/cancel
 *
 * Status/result/cancel use the app id (owner/alias) only: fal-ai/flux/schnell polls under
 * fal-ai/flux (see parseEndpointId in the client). Result JSON points at a fake CDN
 * (https://v3.fal.media/files/...) also served here with real PNG / MP4 bytes.
 *
 * Storage (fal.storage.upload in @fal-ai/client 1.10, files up to 90 MB):
 *   POST https://rest.fal.ai/storage/upload/initiate?storage_type=fal-cdn-v3  {content_type, file_name}
 *        → {upload_url, file_url}
 *   PUT  <upload_url> (the bytes)                        then GET <file_url> serves them
 * LoRA training (fal-ai/flux-lora-fast-training) runs through the queue above: the mock fetches
 * `images_data_url` from its own storage (unknown → 422 like fal), status with `logs=1` carries
 * "step N/M" log lines, and the result is {diffusion_lora_file, config_file}.
 *
 * Usage:
 *   const fal = falHandlers({ statuses: ["IN_QUEUE", "IN_PROGRESS", "COMPLETED"] });
 *   const server = setupServer(...fal.handlers); server.listen({ onUnhandledRequest: "error" });
 *   expect(fal.stats.submits).toBe(1);
 *   fal.set({ submitError: falValidationError("prompt", "too long") });  // change per test
 */
import { randomUUID } from "node:crypto";
import { delay, http, HttpResponse, type HttpHandler } from "msw";
import { renderProceduralPng } from "../../src/media/procedural-png.ts";
import { renderTestPatternVideo } from "../../src/media/test-pattern-video.ts";

export const FAL_QUEUE_URL = "https://queue.fal.run";
export const FAL_CDN_URL = "https://v3.fal.media";
export const FAL_REST_URL = "https://rest.fal.ai";
/** Where the mock's upload URLs point (a signed storage URL in reality; the exact host is fal's business). */
export const FAL_UPLOAD_URL = "https://v3.fal.media/upload";

export type FalStatus = "IN_QUEUE" | "IN_PROGRESS" | "COMPLETED";

export interface FalInjectedError {
  status: number;
  body?: unknown;
  /** How many calls fail before answering normally again (default: all). */
  times?: number;
}

export interface FalMockOptions {
  /** Answers of successive status polls per request; the last one repeats. */
  statuses?: FalStatus[];
  submitError?: FalInjectedError;
  statusError?: FalInjectedError;
  resultError?: FalInjectedError;
  cancelError?: FalInjectedError;
  /** Never answer this call (the client must time out / abort). */
  hang?: "submit" | "status" | "result" | "cdn";
  /** Result carries has_nsfw_concepts: [true]. */
  nsfw?: boolean;
  /** "auto": video when the endpoint path mentions video or kling, else images. */
  output?: "auto" | "images" | "video";
  imageBytes?: Uint8Array;
  videoBytes?: Uint8Array;
  /** Required `Authorization: Key <key>` value; default: any non-empty key. */
  expectKey?: string;
  /** Storage initiate answers this error. */
  uploadError?: FalInjectedError;
}

export interface FalMockRequest {
  requestId: string;
  endpoint: string;
  appId: string;
  input: Record<string, unknown>;
  statusCalls: number;
  cancelled: boolean;
}

export interface FalMockStats {
  submits: number;
  statusCalls: number;
  resultCalls: number;
  cancels: number;
  cdnDownloads: number;
  /** Every submitted body, in order (inspect the mapped fal input). */
  submitted: FalMockRequest[];
  cancelledIds: string[];
  /** Files uploaded through fal.storage (initiate + PUT), in order. */
  uploads: Array<{ fileName: string; contentType: string; url: string; bytes: Uint8Array | null }>;
  /** Storage initiate calls (an upload whose PUT never came still counts here). */
  uploadInitiates: number;
}

export interface FalMock {
  handlers: HttpHandler[];
  stats: FalMockStats;
  requests: Map<string, FalMockRequest>;
  /** Replace options (e.g. inject an error for the next test). */
  set(options: FalMockOptions): void;
  /** A request already in fal's queue, as if submitted by an earlier attempt (for resume tests). */
  addRequest(endpoint: string, input?: Record<string, unknown>): string;
  reset(): void;
}

/** 422 body the way fal (FastAPI/pydantic) sends it. */
export function falValidationError(field: string, msg: string): FalInjectedError {
  return { status: 422, body: { detail: [{ loc: ["body", field], msg, type: "value_error" }] } };
}

let defaultVideo: Promise<Uint8Array> | undefined;
/** A real 1 s MP4, rendered once per process with the local renderer. */
function mockVideoBytes(): Promise<Uint8Array> {
  defaultVideo ??= renderTestPatternVideo({ prompt: "fal mock", durationS: 1, width: 160, height: 90, withAudio: false, timeoutMs: 30_000 });
  return defaultVideo;
}
const IMAGE_SIZE = 64;
let defaultImage: Uint8Array | undefined;
function mockImageBytes(): Uint8Array {
  defaultImage ??= renderProceduralPng("fal mock", 1, IMAGE_SIZE, IMAGE_SIZE);
  return defaultImage;
}

export function falHandlers(initial: FalMockOptions = {}): FalMock {
  let options = initial;
  const requests = new Map<string, FalMockRequest>();
  const cdn = new Map<string, { bytes: () => Promise<Uint8Array> | Uint8Array; type: string }>();
  const failures = new Map<string, number>();
  const stats: FalMockStats = { submits: 0, statusCalls: 0, resultCalls: 0, cancels: 0, cdnDownloads: 0, submitted: [], cancelledIds: [], uploads: [], uploadInitiates: 0 };

  const urls = (appId: string, id: string) => ({
    request_id: id,
    response_url: `${FAL_QUEUE_URL}/${appId}/requests/${id}`,
    status_url: `${FAL_QUEUE_URL}/${appId}/requests/${id}/status`,
    cancel_url: `${FAL_QUEUE_URL}/${appId}/requests/${id}/cancel`,
  });
  const injected = (name: string, err: FalInjectedError | undefined) => {
    if (!err) return null;
    const used = failures.get(name) ?? 0;
    if (err.times !== undefined && used >= err.times) return null;
    failures.set(name, used + 1);
    return HttpResponse.json(err.body ?? { detail: `Injected ${err.status}` }, { status: err.status });
  };
  const addRequest = (endpoint: string, input: Record<string, unknown> = {}) => {
    const requestId = randomUUID();
    const appId = endpoint.split("/").slice(0, 2).join("/");
    const req = { requestId, endpoint, appId, input, statusCalls: 0, cancelled: false };
    requests.set(requestId, req);
    return req;
  };

  const queue = http.all(`${FAL_QUEUE_URL}/*`, async ({ request }) => {
    const auth = request.headers.get("authorization") ?? "";
    if (!/^Key \S+/.test(auth) || (options.expectKey && auth !== `Key ${options.expectKey}`)) {
      return HttpResponse.json({ detail: "Invalid key" }, { status: 401 });
    }
    const url = new URL(request.url);
    const parts = url.pathname.split("/").filter(Boolean);
    const r = parts.indexOf("requests");
    if (r === -1) {
      if (request.method !== "POST") return HttpResponse.json({ detail: "Method not allowed" }, { status: 405 });
      if (options.hang === "submit") await delay("infinite");
      const fail = injected("submit", options.submitError);
      if (fail) return fail;
      const input = ((await request.json().catch(() => ({}))) ?? {}) as Record<string, unknown>;
      if (isTrainer(parts.join("/"))) {
        // fal validates the archive URL before queueing: it must be a file it can download.
        const archive = typeof input.images_data_url === "string" ? stats.uploads.find((u) => u.url === input.images_data_url && u.bytes) : undefined;
        if (!archive) return HttpResponse.json({ detail: [{ loc: ["body", "images_data_url"], msg: "Could not download the archive", type: "value_error" }] }, { status: 422 });
      }
      const req = addRequest(parts.join("/"), input);
      stats.submits++;
      stats.submitted.push(req);
      return HttpResponse.json({ ...urls(req.appId, req.requestId), status: "IN_QUEUE", queue_position: 0 });
    }
    const appId = parts.slice(0, r).join("/");
    const id = parts[r + 1] ?? "";
    const action = parts.slice(r + 2).join("/");
    const req = requests.get(id);
    if (!req || req.appId !== appId) return HttpResponse.json({ detail: `Request ${id} not found` }, { status: 404 });

    if (request.method === "GET" && action === "status") {
      stats.statusCalls++;
      if (options.hang === "status") await delay("infinite");
      const fail = injected("status", options.statusError);
      if (fail) return fail;
      const seq = options.statuses ?? ["IN_QUEUE", "IN_PROGRESS", "COMPLETED"];
      const status = req.cancelled ? "COMPLETED" : seq[Math.min(req.statusCalls, seq.length - 1)]!;
      req.statusCalls++;
      return HttpResponse.json({
        ...urls(appId, id),
        status,
        ...(status === "IN_QUEUE" ? { queue_position: 0 } : { logs: url.searchParams.get("logs") === "1" && isTrainer(req.endpoint) ? trainerLogs(req.statusCalls) : [] }),
        ...(status === "COMPLETED" ? { metrics: { inference_time: 0.42 } } : {}),
      });
    }
    if (request.method === "GET" && action === "") {
      stats.resultCalls++;
      if (options.hang === "result") await delay("infinite");
      const fail = injected("result", options.resultError);
      if (fail) return fail;
      if (req.cancelled) return HttpResponse.json({ detail: "Request was cancelled" }, { status: 400 });
      return HttpResponse.json(resultBody(req), { headers: { "x-fal-request-id": id } });
    }
    if (request.method === "PUT" && action === "cancel") {
      stats.cancels++;
      stats.cancelledIds.push(id);
      const fail = injected("cancel", options.cancelError);
      if (fail) return fail;
      req.cancelled = true;
      return HttpResponse.json({ status: "CANCELLATION_REQUESTED" }, { status: 202 });
    }
    return HttpResponse.json({ detail: "Not found" }, { status: 404 });
  });

  const resultBody = (req: FalMockRequest) => {
    if (isTrainer(req.endpoint)) {
      const lora = `${req.requestId}/pytorch_lora_weights.safetensors`;
      const config = `${req.requestId}/config.json`;
      return {
        diffusion_lora_file: { url: `${FAL_CDN_URL}/files/${lora}`, content_type: "application/octet-stream", file_name: "pytorch_lora_weights.safetensors", file_size: 89_745_224 },
        config_file: { url: `${FAL_CDN_URL}/files/${config}`, content_type: "application/octet-stream", file_name: "config.json", file_size: 1_024 },
      };
    }
    const wantsVideo = options.output === "video" || ((options.output ?? "auto") === "auto" && /video|kling/.test(req.endpoint));
    const name = `${req.requestId}.${wantsVideo ? "mp4" : "png"}`;
    const fileUrl = `${FAL_CDN_URL}/files/${name}`;
    if (wantsVideo) {
      cdn.set(name, { bytes: () => options.videoBytes ?? mockVideoBytes(), type: "video/mp4" });
      return { video: { url: fileUrl, content_type: "video/mp4", file_name: name }, seed: 42 };
    }
    cdn.set(name, { bytes: () => options.imageBytes ?? mockImageBytes(), type: "image/png" });
    return {
      images: [{ url: fileUrl, content_type: "image/png", width: IMAGE_SIZE, height: IMAGE_SIZE }],
      timings: { inference: 0.42 },
      seed: typeof req.input.seed === "number" ? req.input.seed : 42,
      has_nsfw_concepts: [options.nsfw === true],
      prompt: req.input.prompt,
    };
  };

  const cdnHandler = http.get(`${FAL_CDN_URL}/files/:name`, async ({ params }) => {
    if (options.hang === "cdn") await delay("infinite");
    const file = cdn.get(String(params.name));
    if (!file) return new HttpResponse(null, { status: 404 });
    stats.cdnDownloads++;
    const bytes = await file.bytes();
    return new HttpResponse(bytes, { headers: { "content-type": file.type, "content-length": String(bytes.length) } });
  });

  const initiate = http.post(`${FAL_REST_URL}/storage/upload/initiate`, async ({ request }) => {
    const auth = request.headers.get("authorization") ?? "";
    if (!/^Key \S+/.test(auth)) return HttpResponse.json({ detail: "Invalid key" }, { status: 401 });
    stats.uploadInitiates++;
    const fail = injected("upload", options.uploadError);
    if (fail) return fail;
    const body = (await request.json().catch(() => ({}))) as { content_type?: string; file_name?: string };
    const id = randomUUID();
    const fileName = body.file_name ?? "file.bin";
    const url = `${FAL_CDN_URL}/files/${id}/${encodeURIComponent(fileName)}`;
    stats.uploads.push({ fileName, contentType: body.content_type ?? "application/octet-stream", url, bytes: null });
    return HttpResponse.json({ upload_url: `${FAL_UPLOAD_URL}/${id}?signature=mock`, file_url: url });
  });
  const put = http.put(`${FAL_UPLOAD_URL}/:id`, async ({ request, params }) => {
    const upload = stats.uploads.find((u) => u.url.includes(`/files/${String(params.id)}/`));
    if (!upload || new URL(request.url).searchParams.get("signature") !== "mock") return new HttpResponse(null, { status: 403 });
    upload.bytes = new Uint8Array(await request.arrayBuffer());
    return new HttpResponse(null, { status: 200 });
  });

  return {
    handlers: [queue, initiate, put, cdnHandler],
    stats,
    requests,
    set(next) {
      options = next;
      failures.clear();
    },
    addRequest: (endpoint, input) => addRequest(endpoint, input).requestId,
    reset() {
      options = initial;
      failures.clear();
      requests.clear();
      cdn.clear();
      Object.assign(stats, { submits: 0, statusCalls: 0, resultCalls: 0, cancels: 0, cdnDownloads: 0, submitted: [], cancelledIds: [], uploads: [], uploadInitiates: 0 });
    },
  };
}

const isTrainer = (endpoint: string) => /lora[-_]fast[-_]training|lora-training|trainer/.test(endpoint);

/** Log lines like those of fal's trainers while they run. */
function trainerLogs(poll: number) {
  const step = Math.min(1000, 250 * poll);
  return [
    { message: "Preprocessing images", level: "INFO", source: "user", timestamp: "2026-01-01T00:00:00.000Z" },
    { message: `Training step ${step}/1000`, level: "INFO", source: "user", timestamp: "2026-01-01T00:00:01.000Z" },
  ];
}
