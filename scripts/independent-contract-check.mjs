#!/usr/bin/env node
// `pnpm contract:independent`: opinions on our server's conformance from tools that are not ours.
//
// 1. Starts the server from the built bundle (scripts/start.mjs, embedded default: PGlite + the
//    in-process runner) on a free port with a fresh DATA_DIR, and makes two keys with the admin
//    CLI (`aeriox keys create`), as the contract tests and CI do.
// 2. Stoplight Prism (proxy mode, response validation) in front of it, and our own contract suite
//    (packages/contract-tests) sent through Prism. A small recorder between the suite and Prism
//    keeps every exchange with Prism's `sl-violations` header: each response violation is a
//    finding. Request violations are not: the suite sends invalid requests on purpose (negative
//    and fuzz cases); they are counted and shown. Prism's proxy follows redirects itself (it would
//    check the page a redirect points at, not the redirect), so the two operations that answer
//    redirects, oauthAuthorize (302) and submitOAuthConsent (303), go from the recorder straight
//    to the server; the suite still checks those responses itself. So do request bodies that are
//    not UTF-8 (uploadAsset's PNG): Prism 5.14's proxy re-sends a body as text, each invalid byte
//    turned into U+FFFD (0x89 'PNG' arrives as EF BF BD 'PNG'), so the server rightly answers 415.
// 3. Portman generates contract and variation tests from the spec (config beside this script,
//    every deviation from Portman's defaults commented there) and newman runs them against the
//    server, with fixtures (a card, a finished job and its asset, an OAuth client) made first.
//
// Prints a summary; exits 1 on any finding (a Prism response violation, a suite violation, a
// failed newman assertion or a newman request error), 0 otherwise. The spec is copied first, so an
// edit during the run does not make Prism reload halfway. Options: --fuzz N (suite fuzz requests,
// default 50: the server's own fuzz test sends thousands; these check that fuzzed answers pass
// Prism too), --keep (leave the temporary folder with logs and reports).
//
// One server serves everything. What does not depend on another step runs beside it: Portman
// generates its collection while the server starts, and newman (its own workspace and key) runs
// while the suite goes through Prism.
import { spawn, execFile } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync, createWriteStream } from "node:fs";
import http from "node:http";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";
import { OAUTH_REDIRECT_URI, portmanConfig } from "./independent-contract/portman-config.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const here = path.join(root, "scripts/independent-contract");
const require = createRequire(import.meta.url);
const args = process.argv.slice(2);
const FUZZ = args.includes("--fuzz") ? Number(args[args.indexOf("--fuzz") + 1]) : 50;
const KEEP = args.includes("--keep");
/** Operations whose responses are redirects: Prism's proxy would follow them (see above). */
const TINY_PNG = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";
const PAST_PRISM = [/^\/v1\/oauth\/authorize(\?|$)/, /^POST \/v1\/oauth\/consent(\?|$)/];

const started = Date.now();
const work = mkdtempSync(path.join(tmpdir(), "aeriox-independent-"));
const children = [];
const log = (line) => process.stderr.write(`independent: ${line} (${((Date.now() - started) / 1000).toFixed(0)} s)\n`);

async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function start(name, command, argv, env = {}) {
  const out = createWriteStream(path.join(work, `${name}.log`));
  const child = spawn(command, argv, { cwd: root, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  child.stdout.pipe(out);
  child.stderr.pipe(out);
  children.push(child);
  return child;
}

async function waitForHttp(url, name, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (res.status < 500) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`${name} did not answer ${url} within ${timeoutMs / 1000} s (log: ${path.join(work, `${name}.log`)})`);
}

function stopAll() {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
}

/** `sl-violations` as Prism sends it; past a size it prefixes "Too many violations!" to the (cut) list. */
function parseViolations(raw) {
  if (!raw) return [];
  const text = String(raw).replace(/^Too many violations!\s*/, "");
  try {
    return JSON.parse(text);
  } catch {
    // A cut list: what matters is whether any of it is about the response.
    return /"location":\["response"/.test(text) ? [{ location: ["response"], severity: "Error", message: `(list cut by Prism) ${text.slice(0, 300)}` }] : [{ location: ["request"], severity: "Error", message: "(list cut by Prism)" }];
  }
}

/**
 * Suite → recorder → Prism → server. Straight to the server instead: the redirecting operations
 * (Prism follows redirects), bodies declared JSON that do not parse (Prism 5.14 never answers
 * those: the suite's "malformed JSON" cases would each wait out their timeout), and bodies that
 * are not UTF-8 (Prism re-sends them as text, mangled: see the top of this file).
 */
function startRecorder(port, prismPort, serverPort, exchanges) {
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const bodyBytes = Buffer.concat(chunks);
      let direct = PAST_PRISM.some((re) => re.test(req.url) || re.test(`${req.method} ${req.url}`)) ? "redirect" : "";
      if (!direct && bodyBytes.length && /json/i.test(req.headers["content-type"] ?? "") && !req.headers["content-encoding"]) {
        try {
          JSON.parse(bodyBytes.toString("utf8"));
        } catch {
          direct = "malformed JSON";
        }
      }
      if (!direct && bodyBytes.length) {
        try {
          new TextDecoder("utf-8", { fatal: true }).decode(bodyBytes);
        } catch {
          direct = "binary";
        }
      }
      const target = direct ? serverPort : prismPort;
      const upstream = http.request({ host: "127.0.0.1", port: target, method: req.method, path: req.url, headers: { ...req.headers, host: `127.0.0.1:${target}` } }, (up) => {
        exchanges.push({ method: req.method, url: req.url, status: up.statusCode, direct, violations: parseViolations(up.headers["sl-violations"]) });
        res.writeHead(up.statusCode ?? 502, up.rawHeaders);
        up.pipe(res);
      });
      upstream.on("error", (err) => {
        exchanges.push({ method: req.method, url: req.url, status: 0, direct, violations: [{ location: ["transport"], severity: "Error", message: err.message }] });
        if (!res.headersSent) res.writeHead(502, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: { code: "recorder_upstream_error", message: err.message } }));
      });
      upstream.end(bodyBytes);
      res.on("close", () => upstream.destroy());
    });
  });
  // As the AERIOX server does (serve.ts): idle client sockets stay open longer than any client keeps them, so
  // the suite's keep-alive never races a close (under load it did: "fetch failed" on a reused socket).
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  return new Promise((resolve) => server.listen(port, "127.0.0.1", () => resolve(server)));
}

function run(command, argv, env = {}, cwd = root) {
  return new Promise((resolve) => {
    const child = spawn(command, argv, { cwd, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    children.push(child);
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** The admin CLI (the built bundle), as a self-hoster runs it; its stdout. */
function cli(argv, env) {
  return new Promise((resolve, reject) =>
    execFile(process.execPath, [path.join(root, "packages/cli/dist/bin.js"), ...argv], { cwd: root, env: { ...process.env, ...env }, encoding: "utf8" }, (err, stdout, stderr) =>
      err ? reject(new Error(`aeriox ${argv.join(" ")}: ${err.message}\n${stderr}`)) : resolve(stdout),
    ),
  );
}

async function api(base, key, method, url, body) {
  const res = await fetch(base + url, { method, headers: { authorization: `Bearer ${key}`, ...(body ? { "content-type": "application/json" } : {}) }, ...(body ? { body: JSON.stringify(body) } : {}) });
  const json = await res.json();
  if (res.status >= 300) throw new Error(`fixture ${method} ${url}: ${res.status} ${JSON.stringify(json).slice(0, 300)}`);
  return json;
}

/** What newman needs that a spec cannot give: real ids, a signed asset URL, a registered OAuth client. */
async function fixtures(base, key, env) {
  const cardOf = async (name) => (await api(base, key, "POST", "/v1/cards", { card_type: "character", name })).card.id;
  const job = await api(base, key, "POST", "/v1/images/generate", { model: "local/image", prompt: "independent check", resolution: "64x64" });
  let done = job;
  for (let i = 0; i < 100 && !["completed", "failed", "cancelled", "nsfw_blocked"].includes(done.status); i++) {
    await new Promise((r) => setTimeout(r, 200));
    done = await api(base, key, "GET", `/v1/jobs/${job.job_id}`);
  }
  if (done.status !== "completed") throw new Error(`fixture job ended ${done.status}`);
  const assetId = done.asset_ids[0];
  const asset = await api(base, key, "GET", `/v1/assets/${assetId}`);
  const signed = new URL(asset.url ?? asset.download_url, base);
  const clientOutput = await cli(["oauth-clients", "create", "--name", "independent-check", "--redirect-uri", OAUTH_REDIRECT_URI, "--json"], env);
  const client = JSON.parse(clientOutput);
  // The registered client must be the one this server knows: otherwise every OAuth step newman
  // takes fails, and only the first failure says why. Checked here, with the CLI's own output.
  const probe = await fetch(`${base}/v1/oauth/authorize?${new URLSearchParams({ response_type: "code", client_id: client.client_id, redirect_uri: OAUTH_REDIRECT_URI, code_challenge: "x".repeat(43), code_challenge_method: "S256", scope: "read" })}`, { redirect: "manual" });
  if (probe.status !== 302) throw new Error(`fixture OAuth client ${clientOutput.trim()}: authorize answered ${probe.status} ${(await probe.text()).slice(0, 300)}`);
  const character = await api(base, key, "POST", "/v1/characters", { name: "Independent character", image_urls: [TINY_PNG] });
  const generation = await api(base, key, "POST", "/v1/generate", { model: "local/image", prompt: "independent check", resolution: "64x64" });
  return {
    tinyPng: TINY_PNG,
    characterId: character.character_id ?? character.character?.id ?? character.result?.character_id,
    // The legacy POST /v1/generate answers `generation_id` (was read as job_id/id: "undefined", a 400).
    generationId: generation.generation_id,
    cardId: await cardOf("Independent"),
    cardIdToDelete: await cardOf("To delete"),
    nodeIdToDelete: await cardOf("Node to delete"),
    assetIdToDelete: (await (await fetch(`${base}/v1/assets`, { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "image/png" }, body: Buffer.from(TINY_PNG.slice(TINY_PNG.indexOf(",") + 1), "base64") })).json()).id,
    jobId: job.job_id,
    assetId,
    assetExpires: signed.searchParams.get("expires"),
    assetSignature: signed.searchParams.get("signature"),
    oauthClientId: client.client_id,
  };
}

/** Portman's collection from the spec alone: needs no server, so it is made while the server starts. */
async function portmanCollection(spec) {
  const collection = path.join(work, "portman-collection.json");
  const config = path.join(work, "portman-config.json");
  writeFileSync(config, JSON.stringify(portmanConfig(), null, 2));
  const gen = await run(process.execPath, [require.resolve("@apideck/portman/bin/portman"), "-l", spec, "-o", collection, "-c", config, "-s", path.join(here, "postman-config.json"), "-b", "{{baseUrl}}", "--envFile", path.join(work, "none.env")], {}, work); // Portman writes its tmp/ in its working folder
  writeFileSync(path.join(work, "portman.log"), gen.stdout + gen.stderr);
  if (gen.code !== 0) throw new Error(`portman failed (${gen.code}): ${gen.stderr.slice(-2000)}`);
  log("Portman collection ready");
  const items = JSON.parse(readFileSync(collection, "utf8"));
  enableOAuthFormFields(items);
  uploadFromFile(items, "tiny.png");
  return { items, unmutated: dropUnmutatedFuzz(items) };
}

async function newmanRun({ items, unmutated }, serverUrl, key, fixture) {
  const newman = require("newman");
  const values = Object.entries({ baseUrl: serverUrl, bearerToken: key, ...fixture }).map(([k, v]) => ({ key: k, value: String(v) }));
  const summary = await new Promise((resolve, reject) =>
    newman.run({ collection: items, envVar: values, ignoreRedirects: true, timeoutRequest: 30_000, reporters: [], workingDir: work }, (err, s) => (err ? reject(err) : resolve(s))),
  );
  // What the server answered, beside each failed assertion: a finding must be diagnosable from CI's log alone.
  const answers = new Map(summary.run.executions.map((x) => [x.cursor?.ref, x.response]));
  const answerOf = (f) => {
    const response = answers.get(f.cursor?.ref);
    return response ? ` [answered ${response.code}: ${String(response.stream ?? "").slice(0, 300)}]` : "";
  };
  const failures = summary.run.failures.map((f) => `${f.source?.name ?? "?"}: ${f.error?.test ? `${f.error.test}: ` : ""}${f.error?.message ?? f.error}${answerOf(f)}`);
  const { assertions, requests } = summary.run.stats;
  return { assertions, requests, failures, unmutated };
}

/**
 * Portman names a fuzz variation after every bounded field of the schema but can only mutate the
 * fields present in the request it starts from; for the others it emits the valid request
 * unchanged, which then "fails" by succeeding. Those copies are dropped (and counted): they test nothing.
 */
function dropUnmutatedFuzz(collection) {
  const main = new Map();
  const key = (request) => JSON.stringify([request.method, request.body?.raw ?? request.body?.urlencoded ?? null, request.url?.query ?? null]);
  const collect = (items) => items.forEach((item) => (item.item ? collect(item.item) : !/\[fuzz\]/.test(item.name) && main.set(item.name, key(item.request))));
  collect(collection.item);
  let dropped = 0;
  const prune = (items) =>
    items.filter((item) => {
      if (item.item) {
        item.item = prune(item.item);
        return true;
      }
      const base = /^(.*?)\[fuzz\]/.exec(item.name)?.[1];
      if (base !== undefined && main.get(base) === key(item.request)) {
        dropped += 1;
        return false;
      }
      return true;
    });
  collection.item = prune(collection.item);
  return dropped;
}

/**
 * openapi-to-postman sends no optional form field (it adds them disabled); the OAuth endpoints'
 * optional fields (scope, state, token_type_hint, …) are how those endpoints are used, so they go on.
 */
function enableOAuthFormFields(collection) {
  const walk = (items) => {
    for (const item of items) {
      if (item.item) walk(item.item);
      const body = item.request?.body;
      const url = typeof item.request?.url === "string" ? item.request.url : (item.request?.url?.path ?? []).join("/");
      if (body?.mode === "urlencoded" && /oauth/.test(url)) for (const field of body.urlencoded) delete field.disabled;
    }
  };
  walk(collection.item);
}

/**
 * uploadAsset takes raw image bytes; openapi-to-postman can only write text ("ex dolor…" as
 * image/png, rightly 415), and Portman's overwrites are text too. Its requests send a real PNG
 * from a file instead (newman's file body, read from the run's folder).
 */
function uploadFromFile(collection, file) {
  const walk = (items) => {
    for (const item of items) {
      if (item.item) walk(item.item);
      const request = item.request;
      const url = (request?.url?.path ?? []).join("/");
      if (request?.method === "POST" && url === "v1/assets") request.body = { mode: "file", file: { src: file } };
    }
  };
  walk(collection.item);
}

async function main() {
  const spec = path.join(work, "aeriox.openapi.yaml");
  cpSync(path.join(root, "spec/aeriox.openapi.yaml"), spec);
  writeFileSync(path.join(work, "none.env"), "");
  writeFileSync(path.join(work, "tiny.png"), Buffer.from(TINY_PNG.split(",")[1], "base64"));
  const collection = portmanCollection(spec);
  collection.catch(() => undefined); // awaited below; not an unhandled rejection meanwhile
  const [serverPort, prismPort, recorderPort] = [await freePort(), await freePort(), await freePort()];
  const serverUrl = `http://127.0.0.1:${serverPort}`;
  const env = {
    DATA_DIR: path.join(work, "data"),
    // The suite honours retry-after, but waiting for rate-limit windows is not what this run measures.
    RATE_LIMIT_PER_MINUTE: "1000000",
    IP_RATE_LIMIT_PER_MINUTE: "1000000",
    OAUTH_IP_RATE_LIMIT_PER_MINUTE: "1000000",
  };
  delete process.env.DATABASE_URL;
  delete process.env.REDIS_URL;
  log(`server on ${serverUrl} (DATA_DIR ${env.DATA_DIR})`);
  start("server", process.execPath, [path.join(root, "scripts/start.mjs"), "--port", String(serverPort)], env);
  log(`prism ${require("@stoplight/prism-cli/package.json").version} proxy on 127.0.0.1:${prismPort}`);
  start("prism", process.execPath, [require.resolve("@stoplight/prism-cli/dist/index.js"), "proxy", spec, serverUrl, "--host", "127.0.0.1", "--port", String(prismPort)]);
  // Up to 5 min: scripts/start.mjs first builds the CLI bundle when it is missing or stale (a fresh clone in CI).
  await waitForHttp(`${serverUrl}/healthz`, "server", 300_000);
  log("server up");
  const key = async (workspace) => (await cli(["keys", "create", "--workspace", workspace, "--quiet"], env)).trim();
  const [key1, key2, keyNewman] = await Promise.all([key("independent-one"), key("independent-two"), key("independent-newman")]);
  await waitForHttp(`http://127.0.0.1:${prismPort}/healthz`, "prism");
  const exchanges = [];
  const recorder = await startRecorder(recorderPort, prismPort, serverPort, exchanges);

  // newman works in a workspace of its own, so it runs beside the suite on the same server.
  log(`contract suite through Prism (fuzz ${FUZZ}), and beside it fixtures + newman`);
  const portman = (async () => {
    const fixture = await fixtures(serverUrl, keyNewman, env);
    const made = await collection;
    log("newman");
    const result = await newmanRun(made, serverUrl, keyNewman, fixture);
    log("newman done");
    return result;
  })();
  portman.catch(() => undefined);
  const suite = await run(process.execPath, ["--import", "tsx", path.join(root, "packages/contract-tests/src/bin.ts"), "--base-url", `http://127.0.0.1:${recorderPort}`, "--api-key", key1, "--api-key-2", key2, "--fuzz", String(FUZZ), "--report", path.join(work, "contract-report"), "--quiet"]);
  log("suite done");
  recorder.close();
  writeFileSync(path.join(work, "suite.log"), suite.stdout + suite.stderr);
  const suiteLine = suite.stdout.trim().split("\n").pop() ?? "";
  const responseFindings = [];
  let requestViolations = 0;
  for (const x of exchanges) {
    for (const v of x.violations) {
      if (v.location?.[0] === "request") requestViolations += 1;
      else responseFindings.push(`${x.method} ${x.url.slice(0, 160)} → ${x.status}: [${(v.location ?? []).join(".")}] ${v.message}`);
    }
  }

  const pm = await portman;

  const seconds = ((Date.now() - started) / 1000).toFixed(0);
  console.log(`\nPrism ${require("@stoplight/prism-cli/package.json").version} proxy: ${exchanges.length} exchanges (${exchanges.filter((x) => x.direct === "redirect").length} redirecting, ${exchanges.filter((x) => x.direct === "malformed JSON").length} malformed-JSON and ${exchanges.filter((x) => x.direct === "binary").length} binary-body ones sent past Prism), ${responseFindings.length} response violation(s); ${requestViolations} request violation(s) from the suite's deliberate negative/fuzz requests (not findings)`);
  for (const f of responseFindings) console.log(`  prism: ${f}`);
  console.log(`our suite through Prism: ${suiteLine}`);
  if (suite.code !== 0) console.log(suite.stdout.split("\n").filter((l) => l.startsWith("- ")).slice(0, 50).map((l) => `  suite: ${l}`).join("\n"));
  console.log(`newman ${require("newman/package.json").version} (Portman ${require("@apideck/portman/package.json").version}): ${pm.requests.total} requests (${pm.requests.failed} failed), ${pm.assertions.total} assertions, ${pm.assertions.failed} failed; ${pm.unmutated} fuzz variations Portman could not mutate (field absent from the body) dropped`);
  for (const f of pm.failures) console.log(`  newman: ${f}`);
  const findings = responseFindings.length + (suite.code === 0 ? 0 : 1) + pm.assertions.failed + pm.requests.failed;
  console.log(`independent contract check: ${findings === 0 ? "PASS" : "FAIL"}: ${findings} finding(s) in ${seconds} s${KEEP ? `; logs and reports in ${work}` : ""}`);
  return findings === 0 ? 0 : 1;
}

let code = 1;
try {
  code = await main();
} catch (err) {
  console.error(`independent contract check: ERROR: ${err instanceof Error ? err.stack : err}\n  logs in ${work}`);
  code = 1;
} finally {
  stopAll();
  await new Promise((r) => setTimeout(r, 500));
  if (!KEEP && code === 0) rmSync(work, { recursive: true, force: true });
}
process.exit(code);
