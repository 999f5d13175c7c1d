/**
 * Property-based fuzz from the spec's schemas (fast-check): for operations in scope, requests
 * with schema-valid values and with values that break one statement of the schema, with the
 * suite's key, none, or a bad one. Property: no 5xx (a documented 503 aside), no hang, and the
 * response conforms (every check of check.ts). Cost-bearing requests use `local/echo` /
 * `local/tts` and go through the budget; money-moving wallet requests are only sent invalid.
 */
import fc from "fast-check";
import type { Budget } from "./budget.ts";
import type { Client, CallOptions } from "./client.ts";
import type { FlowContext } from "./flows.ts";
import { baseBody } from "./negative.ts";
import type { Operation, Schema } from "./spec.ts";
import { normalize, valueArb, violationsOf } from "./values.ts";

const COST_BEARING = new Set(["generateImage", "generateVideo", "generateAudio", "composeVideo", "createGeneration", "createCharacter", "applyPrism"]);
/** Sent only with a broken body: a valid one could move money or change the wallet's settings. */
const INVALID_ONLY = new Set(["topUpWallet", "configureAutoRecharge"]);

interface FuzzCase {
  op: Operation;
  label: string;
  options: CallOptions;
}

function encode(contentType: string, body: unknown): string {
  if (contentType === "application/x-www-form-urlencoded") {
    const form = new URLSearchParams();
    for (const [k, v] of Object.entries((body ?? {}) as Record<string, unknown>)) form.append(k, typeof v === "string" ? v : JSON.stringify(v));
    return form.toString();
  }
  return JSON.stringify(body);
}

export function caseArb(client: Client, ctx: FlowContext, operations: Operation[]): fc.Arbitrary<FuzzCase> {
  const document = client.spec.document;
  const ids = [ctx.ids.cardId, ctx.ids.jobId, ctx.ids.assetId].filter((x): x is string => typeof x === "string");
  return fc.constantFrom(...operations).chain((op) => {
    const pathParams = op.parameters.filter((p) => p.in === "path");
    const queryParams = op.parameters.filter((p) => p.in === "query");
    const media = op.requestBody?.content[0];
    const pathArb = fc.record(
      Object.fromEntries(pathParams.map((p) => [p.name, op.operationId === "applyPrism" ? fc.constantFrom(ctx.ids.prismId ?? "cinematic-noir", "no-such-prism") : valueArb(document, p.schema, { ids }, p.name).map(String)])),
    ) as fc.Arbitrary<Record<string, string>>;
    const queryArb = fc.record(
      Object.fromEntries(queryParams.map((p) => [p.name, valueArb(document, p.schema, { ids }, p.name).map((v) => (typeof v === "string" ? v : JSON.stringify(v)))])),
      { requiredKeys: queryParams.filter((p) => p.required).map((p) => p.name) },
    ) as fc.Arbitrary<Record<string, string>>;
    const bodyArb: fc.Arbitrary<unknown> = media?.schema ? valueArb(document, media.schema, { ids }) : fc.constant(undefined);
    const credential = op.authenticated ? fc.constantFrom<"key" | "none" | "bad">("key", "key", "key", "key", "none", "bad") : fc.constant<"key" | "none" | "bad">("none");
    return fc.record({ path: pathArb, query: queryArb, body: bodyArb, credential, breakIt: fc.boolean(), pick: fc.nat() }).map(({ path, query, body, credential: cred, breakIt, pick }) => {
      let label = "schema-valid";
      let finalBody = body;
      const mustBreak = INVALID_ONLY.has(op.operationId);
      if (media?.schema && finalBody && typeof finalBody === "object" && !Array.isArray(finalBody)) {
        const b = { ...(finalBody as Record<string, unknown>) };
        const base = baseBody(client, op, ctx);
        if (base && "model" in b) b.model = base.body.model;
        if (base && op.operationId === "composeVideo") b.segments = base.body.segments;
        if (op.operationId === "createCard" && b.card_type === undefined && b.node_type === undefined) b.card_type = "character";
        if (op.operationId === "createNode" && b.card_type === undefined && b.node_type === undefined) b.node_type = "character";
        finalBody = b;
        if (breakIt || mustBreak) {
          const props = Object.entries<Schema>(normalize(document, media.schema).properties ?? {});
          const broken = props.flatMap(([name, s]) => violationsOf(normalize(document, s)).map((v) => ({ name, ...v })));
          if (broken.length) {
            const chosen = broken[pick % broken.length]!;
            finalBody = { ...b, [chosen.name]: chosen.value };
            label = `broken ${chosen.name}: ${chosen.label}`;
          } else if (mustBreak) {
            finalBody = [];
            label = "broken: array body";
          }
        }
      }
      const options: CallOptions = {
        kind: "fuzz",
        label: `${label}, ${cred}`,
        pathParams: path,
        query,
        key: cred === "key" ? undefined : cred === "none" ? null : "sk_live_fuzz_bad_key",
        ...(media && finalBody !== undefined ? { body: encode(media.contentType, finalBody), contentType: media.contentType } : {}),
        streamMs: 2000,
      };
      return { op, label, options };
    });
  });
}

export async function runFuzz(ctx: FlowContext, budget: Budget, requests: number, seed: number): Promise<{ sent: number; failures: string[] }> {
  const { client } = ctx;
  const operations = client.spec.operations.filter((op) => ctx.included(op.operationId));
  if (requests <= 0 || operations.length === 0) return { sent: 0, failures: [] };
  const batch = 8;
  let sent = 0;
  const failures: string[] = [];
  await fc.assert(
    fc.asyncProperty(fc.array(caseArb(client, ctx, operations), { minLength: batch, maxLength: batch }), async (cases) => {
      await Promise.all(
        cases.map(async (c) => {
          if (sent >= requests) return;
          sent += 1;
          let options = c.options;
          if (COST_BEARING.has(c.op.operationId) && options.key === undefined && !budget.allow(0.002, `fuzz ${c.op.operationId}`)) options = { ...options, key: null, label: `${options.label} (budget: sent without a key)` };
          const before = client.exchanges.length;
          const res = await client.call(c.op.operationId, options);
          if (res && res.status >= 200 && res.status < 300 && COST_BEARING.has(c.op.operationId)) budget.record(res.json, 0.002);
          const exchange = client.exchanges[before];
          if (exchange && exchange.violations.length) failures.push(`${c.op.operationId} [${options.label}] → ${exchange.status}: ${exchange.violations.map((v) => v.message).join("; ")}`);
        }),
      );
    }),
    { seed, numRuns: Math.ceil(requests / batch), endOnFailure: false },
  );
  return { sent, failures };
}
