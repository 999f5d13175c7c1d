/**
 * No log line ever carries a secret. Requests carry each kind — API keys (valid and
 * not), bearer JWTs, OAuth codes, refresh tokens, code verifiers and client secrets,
 * a Stripe signature and webhook secret, cookies, provider keys — in headers, query
 * strings and bodies, including a request that fails with a 500 whose error echoes its
 * headers, body and the configured provider keys (as an upstream SDK error might), and
 * a job that fails with a key in its prompt. Every line the server wrote is checked.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "./harness.ts";
import { waitForJob, type JobBody } from "./polling.ts";

const b64 = (n: number) => randomBytes(n).toString("base64url");

const SECRETS = {
  wrongKey: `sk_live_${b64(32)}`,
  stripeKey: `sk_test_${b64(24)}`,
  jwt: `eyJhbGciOiJFUzI1NiJ9.${b64(40)}.${b64(64)}`,
  code: `ac_${b64(32)}`,
  refreshToken: `rt_${b64(32)}`,
  codeVerifier: b64(48),
  clientSecret: `client-secret-${b64(24)}`,
  webhookSecret: `whsec_${randomBytes(24).toString("hex")}`,
  stripeSignature: `t=1700000000,v1=${randomBytes(32).toString("hex")}`,
  cookie: `session=${b64(24)}`,
  falKey: `${crypto.randomUUID()}:${randomBytes(16).toString("hex")}`,
  elevenLabsKey: `sk_${randomBytes(24).toString("hex")}`,
  metricsToken: `metrics-${b64(24)}`,
};

describe("log redaction", () => {
  let srv: TestServer;
  let key: string;

  beforeAll(async () => {
    srv = await startTestServer({
      env: {
        FAL_KEY: SECRETS.falKey,
        ELEVENLABS_API_KEY: SECRETS.elevenLabsKey,
        STRIPE_SECRET_KEY: SECRETS.stripeKey,
        STRIPE_WEBHOOK_SECRET: SECRETS.webhookSecret,
        METRICS_TOKEN: SECRETS.metricsToken,
      },
      app: {
        handlers: {
          // A handler failing the way an upstream SDK does: its error echoes the request
          // (headers, body) and the client's configuration (the provider keys).
          generateImage: async (ctx) => {
            const { config } = ctx.services;
            throw Object.assign(new Error(`upstream refused ${JSON.stringify(ctx.body)} with key ${config.FAL_KEY} / ${config.ELEVENLABS_API_KEY} / ${config.STRIPE_SECRET_KEY} (${ctx.headers.authorization})`), {
              request: { headers: ctx.headers, body: ctx.body },
              config: { apiKey: config.ELEVENLABS_API_KEY, webhookSecret: config.STRIPE_WEBHOOK_SECRET },
            });
          },
        },
      },
    });
    ({ key } = await srv.createKey());
  });
  afterAll(() => srv?.close());

  it("keeps every kind of secret out of every log line", async () => {
    const all = { ...SECRETS, apiKey: key };
    const responses: number[] = [];
    const send = async (path: string, init: RequestInit & { key?: string; json?: unknown } = {}) => responses.push((await srv.request(path, init)).status);

    // Headers: a valid key, a wrong key (Bearer and X-Api-Key), a JWT, a cookie.
    await send("/v1/wallet", { key, headers: { cookie: SECRETS.cookie } });
    await send("/v1/wallet", { headers: { authorization: `Bearer ${SECRETS.wrongKey}` } });
    await send("/v1/wallet", { headers: { "x-api-key": SECRETS.wrongKey } });
    await send("/v1/wallet", { headers: { authorization: `Bearer ${SECRETS.jwt}` } });
    // Query strings: on a real operation, and on a route that does not exist (its path is logged).
    await send(`/v1/wallet?api_key=${SECRETS.wrongKey}&code=${SECRETS.code}`, { key });
    await send(`/no/such/route?refresh_token=${SECRETS.refreshToken}&token=${SECRETS.jwt}`);
    await send(`/v1/oauth/authorize?response_type=code&client_id=x&code_challenge=${SECRETS.codeVerifier}&state=${SECRETS.code}`);
    // OAuth token requests that fail, with every secret of the grant in the body.
    const forms: Array<Record<string, string>> = [
      { grant_type: "authorization_code", code: SECRETS.code, code_verifier: SECRETS.codeVerifier, client_id: "c", client_secret: SECRETS.clientSecret, redirect_uri: "http://127.0.0.1/cb" },
      { grant_type: "refresh_token", refresh_token: SECRETS.refreshToken, client_id: "c", client_secret: SECRETS.clientSecret },
    ];
    for (const form of forms) {
      await send("/v1/oauth/token", { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams(form).toString() });
    }
    // A Stripe webhook with a forged signature and the webhook secret in its body.
    await send("/v1/webhooks/stripe", { method: "POST", headers: { "stripe-signature": SECRETS.stripeSignature, "content-type": "application/json" }, body: JSON.stringify({ id: "evt_1", secret: SECRETS.webhookSecret }) });
    // A request that fails with a 500 whose error carries its headers, its body and the provider keys.
    await send("/v1/images/generate", {
      method: "POST",
      key,
      headers: { cookie: SECRETS.cookie, "x-api-key": SECRETS.wrongKey },
      json: { model: "local/image", prompt: `use ${SECRETS.wrongKey} and ${SECRETS.refreshToken} and ${SECRETS.falKey}` },
    });
    // The metrics endpoint, with the wrong token and the right one.
    await send("/metrics", { headers: { authorization: `Bearer ${SECRETS.wrongKey}` } });
    await send("/metrics", { headers: { authorization: `Bearer ${SECRETS.metricsToken}` } });

    expect(responses).toContain(500);
    expect(responses.filter((s) => s === 401).length).toBeGreaterThanOrEqual(4);

    const text = srv.logs.join("");
    // The failing request was logged, with its error and the request it echoed, redacted.
    const failure = srv.logs.map((l) => JSON.parse(l) as { msg: string; err?: { message: string; request?: { headers: Record<string, string> } } }).find((l) => l.msg === "unexpected error");
    expect(failure?.err?.message).toContain("upstream refused");
    expect(failure?.err?.request?.headers.authorization).toBe("[REDACTED]");
    expect(failure?.err?.request?.headers.cookie).toBe("[REDACTED]");
    expect(text).toContain("[REDACTED]");
    for (const [name, secret] of Object.entries(all)) expect(text.includes(secret), `${name} appears in the logs`).toBe(false);
  });

  it("a failed job's line names the job, not its prompt or the keys in it", async () => {
    const plain = await startTestServer();
    try {
      const { key: k } = await plain.createKey();
      const res = await plain.request("/v1/images/generate", {
        method: "POST",
        key: k,
        json: { model: "local/image", prompt: `leak ${SECRETS.wrongKey} please`, seed_image_url: `http://127.0.0.1:9/seed.png?token=${SECRETS.refreshToken}` },
      });
      expect(res.status).toBe(202);
      const job = await waitForJob(plain, k, ((await res.json()) as JobBody).job_id);
      expect(job.status).toBe("failed");
      const line = plain.logs.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === "job failed");
      expect(line).toMatchObject({ jobId: job.job_id, type: "image", provider: "local", model: "local/image", code: job.error!.error.code });
      const text = plain.logs.join("");
      for (const secret of [k, SECRETS.wrongKey, SECRETS.refreshToken, "leak "]) expect(text.includes(secret), secret).toBe(false);
    } finally {
      await plain.close();
    }
  });
});
