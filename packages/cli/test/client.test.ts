/**
 * The client commands as a user runs them: the real `aeriox` binary, spawned, against a real
 * API server (embedded default, or PostgreSQL/Redis when DATABASE_URL/REDIS_URL are set).
 * Independent spawns run concurrently to keep the file fast.
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { probeMedia } from "@aeriox/core/media";
import { loadSpec } from "@aeriox/server";
import { startTestServer, type TestServer } from "@aeriox/server/testing";
import { cliEnv, runCli, type CliResult } from "./run-cli.ts";

const PNG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const tmp = mkdtempSync(path.join(tmpdir(), "aeriox-client-"));
let server: TestServer;
let key: string;
let env: NodeJS.ProcessEnv;

/** Runs independent spawns a few at a time (each costs ~1.5 s of CPU; more at once only thrashes). */
function pool<T extends (() => Promise<CliResult>)[]>(tasks: [...T], limit = 4): Promise<{ [K in keyof T]: CliResult }> {
  const results = new Array<CliResult>(tasks.length);
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const i = next++;
      results[i] = await tasks[i]!();
    }
  };
  return Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker)).then(() => results as { [K in keyof T]: CliResult });
}
const cli = (args: string[], e: NodeJS.ProcessEnv = env, input?: string) => () => runCli(args, e, input);
/** Generous: spawned processes slow down a lot when the machine is busy. */
const SLOW = 180_000;

const lines = (r: CliResult) => r.stdout.trim().split("\n").filter(Boolean).map((l) => JSON.parse(l) as Record<string, any>);
/** Every operation is implemented (every spec operation has a handler; server test http-contract holds it): the command must succeed and pass `check`. */
const okOrNotImplemented = (r: CliResult, check: (value: Record<string, any>) => void) => check(json(r));
const json = (r: CliResult) => {
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Record<string, any>;
};

beforeAll(async () => {
  server = await startTestServer();
  key = (await server.createKey({ workspace: "cli-client" })).key;
  env = cliEnv({ AERIOX_BASE_URL: server.url, AERIOX_API_KEY: key, XDG_CONFIG_HOME: path.join(tmp, "xdg-unused"), AERIOX_MAX_RETRIES: "0" });
});
afterAll(async () => {
  await server?.close();
  rmSync(tmp, { recursive: true, force: true });
});

describe("aeriox video", () => {
  it("sends --aspect-ratio and --resolution: the saved MP4 has the asked shape and size", async () => {
    const tall = path.join(tmp, "video", "tall.mp4");
    const small = path.join(tmp, "video", "small.mp4");
    const [a, b, bad] = await pool([
      cli(["video", "a tall harbour", "--model", "local/video", "--duration", "1", "--aspect-ratio", "9:16", "--out", tall, "--json"], env),
      cli(["video", "a small harbour", "--model", "local/video", "--duration", "1", "--resolution", "320x180", "--out", small, "--json"], env),
      cli(["video", "x", "--aspect-ratio", "2:1"], env),
    ]);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    const shape = await probeMedia(tall);
    expect(shape.height ?? 0).toBeGreaterThan(shape.width ?? 0);
    expect(await probeMedia(small)).toMatchObject({ width: 320, height: 180 });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--aspect-ratio must be one of");
  }, SLOW);
});

describe("aeriox image", () => {
  it("waits with NDJSON progress, writes a PNG into new folders; --no-wait returns the queued job", async () => {
    const out = path.join(tmp, "dir", "new", "fox.png");
    const [waited, queued] = await pool([
      cli(["image", "a red fox", "--model", "local/image", "--aspect-ratio", "16:9", "--seed", "7", "--out", out, "--json"], env),
      cli(["image", "a blue fox", "--model", "local/image", "--no-wait", "--json"], env),
    ]);
    expect(waited.code, waited.stderr).toBe(0);
    const events = lines(waited);
    const final = events.at(-1)!;
    expect(final.status).toBe("completed");
    expect(final.files).toEqual([out]);
    expect(final.asset_ids).toHaveLength(1);
    const progress = events.slice(0, -1);
    expect(progress.length).toBeGreaterThan(0);
    for (const e of progress) expect(Object.keys(e).sort()).toEqual(["event", "job_id", "progress_pct", "status"]);
    expect(progress.every((e) => e.event === "progress" && e.job_id === final.job_id)).toBe(true);
    expect([...readFileSync(out).subarray(0, 8)]).toEqual(PNG);

    const job = json(queued);
    expect(job.status).toBe("queued");
    expect(job.type).toBe("image");
    expect(job.job_id).toMatch(/^[0-9a-f-]{36}$/);

    // jobs get / watch / assets on what we just made
    const assetId = final.asset_ids[0] as string;
    const [got, watched, asset, download] = await pool([
      cli(["jobs", "get", final.job_id], env),
      cli(["jobs", "watch", job.job_id, "--json"], env),
      cli(["assets", "get", assetId], env),
      cli(["assets", "download", assetId, "--out", path.join(tmp, "dl", "a.png"), "--json"], env),
    ]);
    expect(json(got).job_id).toBe(final.job_id);
    expect(watched.code, watched.stderr).toBe(0);
    expect(lines(watched).at(-1)!.status).toBe("completed");
    expect(json(asset).content_type).toBe("image/png");
    expect(json(download).size_bytes).toBeGreaterThan(8);
    expect([...readFileSync(path.join(tmp, "dl", "a.png")).subarray(0, 8)]).toEqual(PNG);
  }, SLOW);

  it("jobs cancel cancels a running job, then answers 409 with exit 1", async () => {
    // Two long local videos: the second one is still queued or running when the CLI cancels it.
    const submit = async () => {
      const res = await server.request("/v1/videos/generate", { method: "POST", key, json: { model: "local/video", prompt: "slow waves", duration_s: 30 } });
      expect(res.status).toBe(202);
      return ((await res.json()) as { job_id: string }).job_id;
    };
    const other = await submit();
    const job_id = await submit();
    const first = await runCli(["jobs", "cancel", job_id, "--json"], env);
    await server.request(`/v1/jobs/${other}`, { method: "DELETE", key });
    const cancelled = json(first);
    expect(cancelled.status).toBe("cancelled");
    const again = await runCli(["jobs", "cancel", job_id], env);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^aeriox: \w+: .*\(request id \S+\)\n$/);
  }, SLOW);
});

describe("exit codes and errors", () => {
  it("bad key → 1 unauthorized; missing key → 2 how-to; server down → 1; unknown option → 2; validation → 1", async () => {
    const [bad, missing, down, unknown, invalid, noArgs] = await pool([
      cli(["me"], { ...env, AERIOX_API_KEY: "sk_live_nope" }),
      cli(["me"], { ...env, AERIOX_API_KEY: undefined }),
      cli(["models"], { ...env, AERIOX_BASE_URL: "http://127.0.0.1:9" }),
      cli(["image", "x", "--bogus"], env),
      cli(["api", "generateImage", "model=local/image", "prompt=x", "aspect_ratio=2:1"], env),
      cli(["compose"], env),
    ]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^aeriox: unauthorized: .+ \(request id req_\w+\)\n$/);
    expect(bad.stderr).not.toMatch(/at \w+ \(|node:internal/);

    expect(missing.code).toBe(2);
    expect(missing.stderr.trim().split("\n")).toHaveLength(1);
    expect(missing.stderr).toContain("aeriox login");
    expect(missing.stderr).toContain("AERIOX_API_KEY");

    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/cannot reach the AERIOX API at http:\/\/127\.0\.0\.1:9 .*Is the server running\?/);
    expect(down.stderr.trim().split("\n")).toHaveLength(1);

    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown option '--bogus'");

    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toMatch(/aeriox: \w+: .*aspect_ratio/);

    expect(noArgs.code).toBe(2);
    expect(noArgs.stderr).toContain("--segment");
  }, SLOW);
});

describe("aeriox api and the resource commands", () => {
  it("api calls any operation with key=value, key:=json and key=@file", async () => {
    const attrs = path.join(tmp, "attrs.json");
    writeFileSync(attrs, JSON.stringify({ palette: ["black", "red"] }));
    const binary = path.join(tmp, "blob.bin");
    writeFileSync(binary, Buffer.from([0, 1, 2, 255, 254]));
    const [me, created, viaJson, refused, unknownOp, list] = await pool([
      cli(["api", "getMe"], env),
      cli(["api", "createCard", "name=Noir", "card_type=style", "attributes=@" + attrs, "--json"], env),
      cli(["api", "createCard", "name=Pulp", "card_type=style", 'attributes:={"era":1930}', "visibility_scopes:=[\"team\"]", "--json"], env),
      cli(["api", "createCard", "name=Bin", "description=@" + binary], env),
      cli(["api", "getNothing"], env),
      cli(["api", "--list", "--json"], env),
    ]);
    expect(json(me).workspace.name).toBe("cli-client");
    const card = json(created).card;
    expect(card.name).toBe("Noir");
    expect(card.attributes).toEqual({ palette: ["black", "red"] });
    expect(json(viaJson).card.attributes).toEqual({ era: 1930 });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/blob\.bin is a binary file/);
    expect(unknownOp.code).toBe(2);
    expect(unknownOp.stderr).toContain("unknown operation getNothing");
    expect((JSON.parse(list.stdout) as unknown[]).length).toBe(loadSpec().operations.length);

    const [get, render, cards, search, del] = await pool([
      cli(["cards", "get", card.id], env),
      cli(["cards", "render", card.id], env),
      cli(["cards", "list", "--type", "style"], env),
      cli(["cards", "search", "noir"], env),
      cli(["api", "getCard", `id=${card.id}`], env),
    ]);
    expect(json(get).card.id).toBe(card.id);
    expect(json(render).card).toBeTruthy();
    expect(json(cards).data.map((c: { id: string }) => c.id)).toContain(card.id);
    expect([0, 1]).toContain(search.code); // 503 when the deployment has no embedding backend
    expect(json(del).card.id).toBe(card.id);
    const deleted = await runCli(["cards", "delete", card.id], env);
    expect(json(deleted).ok).toBe(true);
  }, SLOW);

  it("estimate, models, pricing, balance, prisms, health, completion, speak, compose", async () => {
    // A short video to compose, made in-process (compose stitches video assets).
    const submitted = (await (await server.request("/v1/videos/generate", { method: "POST", key, json: { model: "local/video", prompt: "clip", duration_s: 2 } })).json()) as { job_id: string };
    let clip: { status: string; asset_ids: string[] } = { status: "queued", asset_ids: [] };
    for (let i = 0; i < 200 && !["completed", "failed", "cancelled"].includes(clip.status); i++) {
      await new Promise((r) => setTimeout(r, 100));
      clip = (await (await server.request(`/v1/jobs/${submitted.job_id}`, { key })).json()) as typeof clip;
    }
    expect(clip.status).toBe("completed");
    const composed = path.join(tmp, "c", "cut.mp4");
    const results = await pool([
      cli(["estimate", "--model", "local/image", "--prompt", "fox"], env),
      cli(["models"], env),
      cli(["pricing"], { ...env, AERIOX_API_KEY: undefined }),
      cli(["balance", "--limit", "5"], env),
      cli(["prisms"], env),
      cli(["health"], env),
      cli(["completion", "bash"], env),
      cli(["speak", "hello there", "--model", "local/tts", "--out", path.join(tmp, "a", "hello.wav")], env),
      cli(["compose", "--segment", `${clip.asset_ids[0]}:0:1`, "--segment", `${clip.asset_ids[0]}:0.5:1`, "--out", composed], env),
    ]);
    const [estimate, models, pricing, balance, prisms, health, bash, speak, compose] = results;
    okOrNotImplemented(estimate, (est) => {
      expect(est.model).toBe("local/image");
      expect(est.would_succeed).toBe(true);
    });
    const withImage = await cli(["estimate", "--model", "local/image", "--prompt", "fox", "--image-url", "https://example.com/start.png"], env)();
    expect(withImage.code).not.toBe(0);
    expect(withImage.stderr).toContain("unsupported_parameter");
    expect(json(models).data.map((m: { model_id: string }) => m.model_id)).toContain("local/image");
    expect(json(pricing).operations.length).toBeGreaterThan(0);
    expect(json(balance).balance.available_usd).toBeGreaterThan(0);
    okOrNotImplemented(prisms, (p) => expect(Array.isArray(p.data)).toBe(true));
    expect(json(health).status).toBe("ok");
    expect(bash.code).toBe(0);
    expect(bash.stdout).toContain("complete -F _aeriox_complete aeriox");
    expect(bash.stdout).toContain("'jobs') words='get watch cancel");
    expect(speak.code, speak.stderr).toBe(0);
    expect(readFileSync(path.join(tmp, "a", "hello.wav")).subarray(0, 4).toString()).toBe("RIFF");
    const cut = lines(compose!).at(-1)!;
    expect(cut.type).toBe("compose");
    expect(cut.status).toBe("completed");
    expect(readFileSync(composed).subarray(4, 8).toString()).toBe("ftyp"); // an MP4
  }, SLOW);
});

describe("aeriox login / logout", () => {
  it("stores the key in a 0600 profile (0700 folder) after checking it; later commands use it", async () => {
    const xdg = path.join(tmp, "xdg");
    const base = { ...env, AERIOX_API_KEY: undefined, AERIOX_BASE_URL: undefined, XDG_CONFIG_HOME: xdg };
    const [login, badLogin] = await pool([
      cli(["login", "--base-url", server.url], base, key + "\n"),
      cli(["login", "--base-url", server.url], { ...base, XDG_CONFIG_HOME: path.join(tmp, "xdg-bad") }, "sk_live_wrong\n"),
    ]);
    expect(login.code, login.stderr).toBe(0);
    const file = path.join(xdg, "aeriox", "config.json");
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(path.dirname(file)).mode & 0o777).toBe(0o700);
    expect(JSON.parse(readFileSync(file, "utf8"))).toEqual({ base_url: server.url, api_key: key });
    expect(badLogin.code).toBe(1);
    expect(badLogin.stderr).toContain("unauthorized");
    expect(() => statSync(path.join(tmp, "xdg-bad", "aeriox", "config.json"))).toThrow();

    const [me, flagWins] = await Promise.all([runCli(["me"], base), runCli(["me", "--api-key", "sk_live_flag_wins"], base)]);
    expect(json(me).workspace.name).toBe("cli-client");
    expect(flagWins.code).toBe(1); // the flag beats the profile

    const logout = await runCli(["logout"], base);
    expect(logout.code).toBe(0);
    expect(() => statSync(file)).toThrow();
  }, SLOW);
});
