/**
 * Without response validation (production), requests the request validator would pass on their
 * path alone skip it (http/validator.ts): this server must answer every request as one that
 * runs the validator on everything — the same statuses, error codes and `Allow` headers, for
 * requests it takes the short way and for those it must not.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "./harness.ts";
import { waitForJob } from "./polling.ts";

interface Probe {
  method: string;
  /** `{job}` is the caller's own job, `{JOB}` the same id upper-cased. */
  path: string;
  auth?: boolean;
  json?: unknown;
}

const other = randomUUID();
const PROBES: Probe[] = [
  { method: "GET", path: "/healthz", auth: false },
  { method: "GET", path: "/openapi.json", auth: false },
  { method: "GET", path: "/v1/pricing", auth: false },
  { method: "GET", path: "/v1/pricing?model=x", auth: false },
  { method: "GET", path: "/v1/me" },
  { method: "GET", path: "/v1/me", auth: false },
  { method: "GET", path: "/v1/me?" },
  { method: "GET", path: "/v1/me?verbose=1" },
  { method: "GET", path: "/v1/me/" },
  { method: "GET", path: "/V1/ME" },
  { method: "POST", path: "/v1/me" },
  { method: "HEAD", path: "/v1/me" },
  { method: "GET", path: "/v1/jobs/{job}" },
  { method: "HEAD", path: "/v1/jobs/{job}" },
  { method: "GET", path: "/v1/jobs/{JOB}" },
  { method: "GET", path: "/v1/jobs/{job}/" },
  { method: "GET", path: "/v1/jobs/{job}?fields=id" },
  { method: "GET", path: "/v1/jobs/{job}", auth: false },
  { method: "GET", path: `/v1/jobs/${other}` },
  { method: "GET", path: "/v1/jobs/not-a-uuid" },
  { method: "GET", path: `/v1/jobs/urn:uuid:${other}` },
  { method: "GET", path: `/v1/jobs/${other}x` },
  { method: "GET", path: `/v1/jobs/%7B${other}%7D` },
  { method: "GET", path: `/v1/jobs/${encodeURIComponent(other).replace(/-/g, "%2D")}` },
  { method: "GET", path: `/v1/jobs/${other}/events` },
  { method: "DELETE", path: `/v1/jobs/${other}` },
  { method: "DELETE", path: `/v1/jobs/${other}`, json: {} },
  { method: "DELETE", path: `/v1/jobs/${other}`, json: { reason: "x" } },
  { method: "PUT", path: `/v1/jobs/${other}` },
  { method: "GET", path: "/v1/cards/search" },
  { method: "GET", path: `/v1/cards/${other}` },
  { method: "GET", path: "/v1/api-keys" },
  { method: "GET", path: "/v1/models" },
  { method: "GET", path: "/v1/nowhere" },
];

interface Answer {
  status: number;
  code: string | undefined;
  allow: string | null;
  /** A 200's top-level field names (the values differ between servers: ids, times). */
  fields: string[] | undefined;
}

async function ask(srv: TestServer, key: string, job: string, probe: Probe): Promise<Answer> {
  const path = probe.path.replace("{job}", job).replace("{JOB}", job.toUpperCase());
  const res = await srv.request(path, { method: probe.method, ...(probe.auth === false ? {} : { key }), ...(probe.json === undefined ? {} : { json: probe.json }) });
  const text = await res.text();
  const body = res.headers.get("content-type")?.includes("json") && text ? (JSON.parse(text) as Record<string, unknown>) : undefined;
  return {
    status: res.status,
    code: (body?.error as { code?: string } | undefined)?.code,
    allow: res.headers.get("allow"),
    fields: res.status === 200 && body && !Array.isArray(body) ? Object.keys(body).sort() : undefined,
  };
}

describe("request validation with and without response validation", () => {
  const servers: Array<{ srv: TestServer; key: string; job: string }> = [];
  beforeAll(async () => {
    for (const RESPONSE_VALIDATION of ["true", "false"]) {
      const srv = await startTestServer({ env: { RESPONSE_VALIDATION } });
      const { key } = await srv.createKey();
      const res = await srv.request("/v1/images/generate", { method: "POST", key, json: { model: "local/echo", prompt: "modes" } });
      expect(res.status).toBe(202);
      const job = ((await res.json()) as { job_id: string }).job_id;
      // Completed on both, so both answer for a job in the same state.
      expect((await waitForJob(srv, key, job)).status).toBe("completed");
      servers.push({ srv, key, job });
    }
  });
  afterAll(async () => {
    for (const { srv } of servers) await srv.close();
  });

  it("answers every probe alike", async () => {
    const [full, production] = servers;
    for (const probe of PROBES) {
      const expected = await ask(full!.srv, full!.key, full!.job, probe);
      const got = await ask(production!.srv, production!.key, production!.job, probe);
      expect({ probe, ...got }).toEqual({ probe, ...expected });
    }
  });

  it("covers answers of each kind: the probes are not all refused", async () => {
    const { srv, key, job } = servers[1]!;
    const statuses = new Set<number>();
    for (const probe of PROBES) statuses.add((await ask(srv, key, job, probe)).status);
    expect([...statuses].sort()).toEqual(expect.arrayContaining([200, 400, 401, 404, 405]));
  });
});
