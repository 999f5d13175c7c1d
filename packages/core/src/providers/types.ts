/**
 * The one interface the job engine uses to run any generation, whatever the provider.
 * Adapters: local (offline), compose (ffmpeg), fal, elevenlabs. See registry.ts.
 */
import type { OperationKind } from "../pricing/catalog.ts";

export interface ProviderRequest {
  jobId: string;
  kind: OperationKind;
  model: string;
  /** The validated API request body, plus resolved extras such as lora_url, voice_id. */
  input: Record<string, unknown>;
}

export interface ProviderOutput {
  bytes: Uint8Array;
  contentType: string;
  width?: number;
  height?: number;
  durationS?: number;
}

export interface ProviderResult {
  outputs: ProviderOutput[];
  /** What the provider charged us, in micros; null when unknown (engine captures the hold). */
  actualCostMicros: bigint | null;
  /** The provider flagged the content; outputs are then empty and the job becomes nsfw_blocked. */
  nsfw: boolean;
}

export interface ProviderContext {
  /** Cancel / deadline. */
  signal: AbortSignal;
  /** Set when a retried job already submitted: poll it, never submit again. */
  existingRequestId: string | null;
  /** Persist the provider's request id (called right after submit, before polling). */
  recordRequestId(id: string): Promise<void>;
  reportProgress(pct: number): Promise<void>;
  /** Workspace-scoped; throws ProviderError(client) naming a missing asset. */
  readAsset(assetId: string): Promise<{ bytes: Uint8Array; contentType: string }>;
  /**
   * A URL naming one of our own assets (`aeriox-asset://<id>`, or this deployment's asset URL;
   * assets/own-url.ts): its bytes, read from the asset store like `readAsset`. Null for any
   * other URL, which is fetched through the guarded fetcher as before.
   */
  readAssetUrl?(url: string): Promise<{ bytes: Uint8Array; contentType: string }> | null;
}

export interface GenerationProvider {
  readonly name: string;
  run(req: ProviderRequest, ctx: ProviderContext): Promise<ProviderResult>;
  cancel(requestId: string, req: ProviderRequest): Promise<void>;
}
