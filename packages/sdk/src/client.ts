// The Aeriox client: configuration, auth, and the resources (./resources, one file per area of the
// API), each method one typed call of a generated, spec-derived function through `Transport.request`.
import { createClient, createConfig, type Client } from "./generated/client/index.ts";
import { missingApiKey } from "./errors.ts";
import { readCliProfile, readEnv } from "./env.ts";
import { Transport, type OperationInput, type OperationResult, type RequestOperation, type RequestOptions } from "./transport.ts";
import * as api from "./generated/sdk.gen.ts";
import type {
  EstimateGenerationData, EstimateGenerationResponse, GetHealthResponse, GetMeResponse, GetOpenApiSpecResponse,
  GetReadinessResponse,
} from "./generated/types.gen.ts";
import { Images, Videos, Audio, Compose, Generations } from "./resources/generation.ts";
import { Jobs } from "./resources/jobs.ts";
import { Wallet, Credits } from "./resources/wallet.ts";
import { Characters } from "./resources/characters.ts";
import { Prisms } from "./resources/prisms.ts";
import { Cards, Nodes } from "./resources/cards.ts";
import { Models, Pricing } from "./resources/discovery.ts";
import { ApiKeys } from "./resources/api-keys.ts";
import { OAuth } from "./resources/oauth.ts";
import { Assets } from "./resources/assets.ts";
import { Webhooks } from "./resources/webhooks.ts";
import { bindSpecMethods } from "./operations.ts";

export interface ClientOptions {
  /** API key (`sk_live_…`) or OAuth access token. Defaults to `AERIOX_API_KEY`, then the `aeriox login` profile (Node, Bun, Deno). */
  apiKey?: string | undefined;
  /** Defaults to `AERIOX_BASE_URL`, then the `aeriox login` profile, then `http://localhost:8080` (a local `pnpm start` server). */
  baseUrl?: string | undefined;
  /** Per-attempt request timeout in ms. Default 60 000. */
  timeout?: number;
  /** Retries after the first attempt for retryable failures. Default 2. */
  maxRetries?: number;
  /** A fetch implementation (default: `globalThis.fetch`, resolved at call time). */
  fetch?: typeof fetch;
  /** Headers sent with every request. */
  defaultHeaders?: Record<string, string>;
}

export const DEFAULT_BASE_URL = "http://localhost:8080";

export class Aeriox {
  readonly baseUrl: string;
  readonly apiKey: string | undefined;
  /** The generated hey-api client, for anything the hand-written layer does not cover. */
  readonly http: Client;
  readonly transport: Transport;

  readonly images = new Images(this);
  readonly videos = new Videos(this);
  readonly audio = new Audio(this);
  readonly compose = new Compose(this);
  /** @deprecated legacy `/v1/generate` + `/v1/generations/{id}`; use images/videos + jobs. */
  readonly generations = new Generations(this);
  readonly jobs = new Jobs(this);
  readonly wallet = new Wallet(this);
  /** @deprecated use `wallet`. */
  readonly credits = new Credits(this);
  readonly characters = new Characters(this);
  readonly prisms = new Prisms(this);
  readonly cards = new Cards(this);
  /** @deprecated legacy alias of `cards`. */
  readonly nodes = new Nodes(this);
  readonly assets = new Assets(this);
  readonly models = new Models(this);
  readonly pricing = new Pricing(this);
  readonly apiKeys = new ApiKeys(this);
  readonly oauth = new OAuth(this);
  /** Outbound job webhooks: endpoints, signing secret, deliveries, and `verify` for receivers. */
  readonly webhooks = new Webhooks(this);

  constructor(opts: ClientOptions = {}) {
    // Same precedence as the CLI: explicit option, then environment, then the profile `aeriox login` wrote.
    const apiKey = opts.apiKey ?? readEnv("AERIOX_API_KEY");
    const baseUrl = opts.baseUrl ?? readEnv("AERIOX_BASE_URL");
    const profile = apiKey && baseUrl ? {} : readCliProfile();
    this.apiKey = apiKey ?? profile.apiKey;
    this.baseUrl = (baseUrl ?? profile.baseUrl ?? DEFAULT_BASE_URL).replace(/\/+$/, "");
    this.http = createClient(
      createConfig({
        baseUrl: this.baseUrl,
        headers: opts.defaultHeaders,
        // Called only for operations whose spec lists security, so public calls work without a key.
        auth: (scheme) => {
          // The spec accepts Bearer or X-Api-Key; send the key once, as Bearer.
          if (scheme.type === "apiKey") return undefined;
          if (!this.apiKey) {
            throw missingApiKey();
          }
          return this.apiKey;
        },
      }),
    );
    this.transport = new Transport({ fetch: opts.fetch, timeout: opts.timeout ?? 60_000, maxRetries: opts.maxRetries ?? 2, http: this.http });
    // Operations of the spec without a hand-written method get a spec-derived one (operations.ts).
    bindSpecMethods(this);
  }

  /**
   * Runs one generated operation (`import * as api from "…/generated/sdk.gen.ts"`) through the
   * transport: `input` is typed by the operation (path, query, body, headers), and so is the result.
   */
  request<F extends RequestOperation>(fn: F, input: OperationInput<F>, opts?: RequestOptions): Promise<OperationResult<F>> {
    return this.transport.request(fn, input, opts);
  }

  /** `GET /v1/me`: the calling key and its workspace. */
  me(opts?: RequestOptions): Promise<GetMeResponse> {
    return this.request(api.getMe, {}, opts);
  }

  /** `POST /v1/estimate`: cost and feasibility of a generation, without spending. */
  estimate(body: EstimateGenerationData["body"], opts?: RequestOptions): Promise<EstimateGenerationResponse> {
    return this.request(api.estimateGeneration, { body }, opts);
  }

  /** `GET /healthz`: liveness (public). */
  health(opts?: RequestOptions): Promise<GetHealthResponse> {
    return this.request(api.getHealth, {}, opts);
  }

  /** `GET /readyz`: readiness; a 503 (InternalServerError, `details.checks`) names the failing dependency. */
  readiness(opts?: RequestOptions): Promise<GetReadinessResponse> {
    return this.request(api.getReadiness, {}, opts);
  }

  /** `GET /openapi.json`: the contract this server speaks. */
  openapi(opts?: RequestOptions): Promise<GetOpenApiSpecResponse> {
    return this.request(api.getOpenApiSpec, {}, opts);
  }
}
