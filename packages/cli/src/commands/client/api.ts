/**
 * `aeriox api <operationId> [key=value | key=@file | key:=json …]`: calls ANY operation of the
 * spec. Keys name path, query and header parameters or body fields; `key=value` is coerced to
 * the field's type, `key:=json` is raw JSON, `key=@file` reads a file (JSON is inlined, text is a
 * string; binary is refused unless the field takes a URL, where it becomes a `data:` URL).
 */
import { readFileSync, mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { Command, CommandUnknownOpts } from "@commander-js/extra-typings";
import { UsageError, wantsJson } from "../../output.ts";
import { action, clientCommand, makeClient, table, type ClientOptions } from "./common.ts";
import { bodyProperties, decodeResponse, findOperation, sendOperation, specOperations, type JsonSchema, type OperationInfo } from "./spec-ops.ts";

const MIME: Record<string, string> = {
  ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".webp": "image/webp", ".gif": "image/gif",
  ".mp4": "video/mp4", ".webm": "video/webm", ".wav": "audio/wav", ".mp3": "audio/mpeg",
};

function types(schema: JsonSchema | undefined): string[] {
  const t = schema?.type;
  return Array.isArray(t) ? (t as string[]) : typeof t === "string" ? [t] : [];
}

function acceptsUrl(schema: JsonSchema | undefined): boolean {
  if (!schema) return false;
  if (typeof schema.format === "string" && /^uri/.test(schema.format)) return true;
  return types(schema).includes("array") && acceptsUrl(schema.items as JsonSchema | undefined);
}

function coerce(raw: string, schema: JsonSchema | undefined, key: string): unknown {
  const t = types(schema);
  if ((t.includes("integer") || t.includes("number")) && !t.includes("string")) {
    const n = Number(raw);
    if (raw.trim() === "" || !Number.isFinite(n)) throw new UsageError(`${key}=${raw}: ${key} must be a number`);
    return n;
  }
  if (t.includes("boolean") && !t.includes("string")) {
    if (raw === "true" || raw === "false") return raw === "true";
    throw new UsageError(`${key}=${raw}: ${key} must be true or false`);
  }
  if (t.includes("null") && raw === "null") return null;
  if (t.includes("array") || t.includes("object")) {
    try {
      return JSON.parse(raw) as unknown;
    } catch {
      if (t.includes("array")) return [coerce(raw, schema?.items as JsonSchema | undefined, key)];
      throw new UsageError(`${key}=${raw}: ${key} takes a JSON object; use ${key}:='{…}'`);
    }
  }
  return raw;
}

function readFileArg(file: string, key: string, schema: JsonSchema | undefined): unknown {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    throw new UsageError(`${key}=@${file}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  const text = bytes.toString("utf8");
  const binary = bytes.includes(0) || Buffer.from(text, "utf8").compare(bytes) !== 0;
  if (binary) {
    if (acceptsUrl(schema)) {
      const mime = MIME[path.extname(file).toLowerCase()] ?? "application/octet-stream";
      const url = `data:${mime};base64,${bytes.toString("base64")}`;
      return types(schema).includes("array") ? [url] : url;
    }
    throw new UsageError(
      `${key}=@${file}: ${file} is a binary file and ${key} does not accept file contents or a URL; the API takes no uploads here (pass text or JSON).`,
    );
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return types(schema).includes("string") || !schema ? text.replace(/\n$/, "") : coerce(text.trim(), schema, key);
  }
}

/** Parses `key=value`, `key=@file`, `key:=json` arguments against the operation's parameters and body. */
export function parseApiArgs(op: OperationInfo, items: string[]): Record<string, unknown> {
  const params = new Map(op.params.map((p) => [p.name, p] as const));
  const props = bodyProperties(op.body?.schema);
  const out: Record<string, unknown> = {};
  for (const item of items) {
    const m = /^([^=:]+)(:=|=)(.*)$/s.exec(item);
    if (!m) throw new UsageError(`${item}: expected key=value, key=@file or key:=json`);
    const [, key, sep, raw] = m as unknown as [string, string, string, string];
    const param = params.get(key);
    if (!param && !op.body) {
      const known = op.params.map((p) => p.name);
      throw new UsageError(`${op.operationId} has no parameter ${key}${known.length ? `; it takes ${known.join(", ")}` : " (it takes none)"}`);
    }
    const schema = param?.schema ?? props[key];
    let value: unknown;
    if (sep === ":=") {
      const text = raw.startsWith("@") ? (() => {
        try {
          return readFileSync(raw.slice(1), "utf8");
        } catch {
          throw new UsageError(`${key}:=${raw}: cannot read ${raw.slice(1)}`);
        }
      })() : raw;
      try {
        value = JSON.parse(text) as unknown;
      } catch {
        throw new UsageError(`${key}:=…: not valid JSON`);
      }
    } else if (raw.startsWith("@")) {
      value = readFileArg(raw.slice(1), key, schema);
    } else {
      value = coerce(raw, schema, key);
    }
    // Repeating an array field appends: image_urls=a image_urls=b.
    if (key in out && types(schema).includes("array") && Array.isArray(out[key])) out[key] = [...(out[key] as unknown[]), ...(Array.isArray(value) ? value : [value])];
    else out[key] = value;
  }
  for (const p of op.params) if (p.in === "path" && out[p.name] === undefined) throw new UsageError(`${op.operationId} needs ${p.name}=… (path parameter)`);
  return out;
}

function describe(op: OperationInfo): string {
  const lines = [`${op.operationId}: ${op.method.toUpperCase()} ${op.path}${op.deprecated ? " (deprecated)" : ""}`, op.summary];
  for (const p of op.params) lines.push(`  ${p.name} (${p.in}${p.required ? ", required" : ""}) ${types(p.schema).join("|")}`);
  const required = new Set((op.body?.schema.required as string[] | undefined) ?? []);
  for (const [name, s] of Object.entries(bodyProperties(op.body?.schema))) lines.push(`  ${name} (body${required.has(name) ? ", required" : ""}) ${types(s).join("|")}`);
  return lines.join("\n");
}

/** The operation as `--describe --json` prints it. */
function describeJson(op: OperationInfo) {
  const { operationId, method, path, tag, summary, description, deprecated, authenticated, scope, params, body } = op;
  return { operationId, method, path, tag, summary, description, deprecated, authenticated, scope, params, body };
}

/** Sends one operation and prints its result (JSON, text, or a binary response written to --out). */
export async function callOperation(op: OperationInfo, args: Record<string, unknown>, flags: ClientOptions & { out?: string }): Promise<void> {
  const client = makeClient(flags, { needsKey: op.authenticated });
  const res = await sendOperation(client, op, args);
  const decoded = await decodeResponse(res);
  if (decoded.kind === "binary") {
    if (!flags.out) throw new UsageError(`${op.operationId} returns binary content (${res.headers.get("content-type")}); pass --out FILE`);
    mkdirSync(path.dirname(path.resolve(flags.out)), { recursive: true });
    writeFileSync(flags.out, decoded.value as Uint8Array);
    process.stdout.write(JSON.stringify({ file: flags.out, size_bytes: (decoded.value as Uint8Array).length, content_type: res.headers.get("content-type") }) + "\n");
    return;
  }
  if (decoded.kind === "text") {
    process.stdout.write(String(decoded.value).replace(/\n?$/, "\n"));
    return;
  }
  const value = decoded.kind === "empty" ? { status: res.status, ...(res.headers.get("location") && { location: res.headers.get("location") }) } : decoded.value;
  process.stdout.write(JSON.stringify(value, null, wantsJson(flags) ? 0 : 2) + "\n");
}

function findCommand(root: CommandUnknownOpts, words: string[]): CommandUnknownOpts | undefined {
  let cmd: CommandUnknownOpts | undefined = root;
  for (const w of words) cmd = cmd?.commands.find((c) => c.name() === w || c.aliases().includes(w));
  return cmd;
}

/**
 * The spec-driven commands: every operation whose `x-aeriox-cli` names a command that is not
 * hand-written gets one, built from the spec: `aeriox widgets get <id> [key=value …]` (path
 * parameters are positional, in path order; query, header and body fields are `key=value`,
 * `key=@file` or `key:=json` as for `aeriox api`). Registered after the hand-written commands.
 */
export function registerSpecCommands(program: Command, operations: OperationInfo[] = specOperations()): void {
  for (const op of operations) {
    if (!("command" in op.cli)) continue;
    const words = op.cli.command.split(" ").filter(Boolean);
    if (!words.length || findCommand(program, words)) continue;
    let parent: CommandUnknownOpts = program;
    for (const word of words.slice(0, -1)) {
      parent = findCommand(parent, [word]) ?? parent.command(word).description(`${op.tag} operations`);
    }
    const pathParams = op.params.filter((p) => p.in === "path").sort((a, b) => op.path.indexOf(`{${a.name}}`) - op.path.indexOf(`{${b.name}}`));
    const cmd = parent.command(words.at(-1)!).description(`${op.summary}${op.deprecated ? " (deprecated)" : ""} (${op.method.toUpperCase()} ${op.path})`);
    for (const p of pathParams) cmd.argument(`<${p.name}>`, p.description ?? `${p.name} (path parameter)`);
    const rest = op.params.some((p) => p.in !== "path") || op.body;
    if (rest) cmd.argument("[args...]", "key=value | key=@file | key:=json (see aeriox api " + op.operationId + " --describe)");
    cmd.option("-o, --out <file>", "write a binary response to this file");
    clientCommand(cmd).action(
      action(async (...values: unknown[]) => {
        const flags = values.at(-2) as ClientOptions & { out?: string };
        const positional = pathParams.map((_, i) => values[i] as string);
        const items = rest ? ((values[pathParams.length] as string[] | undefined) ?? []) : [];
        const args = parseApiArgs(op, [...pathParams.map((p) => `${p.name}=_`), ...items]);
        // Positional path parameters are taken as typed (no key=@file reading, no coercion).
        pathParams.forEach((p, i) => (args[p.name] = positional[i]));
        await callOperation(op, args, flags);
      }),
    );
  }
}

export function registerApi(program: Command): void {
  clientCommand(
    program
      .command("api")
      .description("Call any API operation by operationId: aeriox api getMe, aeriox api getJob id=…, aeriox api createCard name=Noir attributes:='{\"k\":1}'")
      .argument("[operationId]", "the spec's operationId (see --list)")
      .argument("[args...]", "key=value | key=@file | key:=json")
      .option("--list", "list every operation")
      .option("--describe", "show the operation's parameters and body fields instead of calling it")
      .option("-o, --out <file>", "write a binary response (e.g. downloadAsset) to this file")
      .addHelpText("after", "\nkey=@file reads a file: JSON is inlined, text becomes a string, binary is refused unless the field takes a URL (sent as a data: URL)."),
  ).action(
    action(async (operationId: string | undefined, items: string[], flags: ClientOptions & { list?: boolean; describe?: boolean; out?: string }) => {
      if (flags.list || !operationId) {
        const ops = specOperations();
        const rows = ops.map((o) => ({ operation: o.operationId, method: o.method.toUpperCase(), path: o.path, summary: o.summary }));
        if (wantsJson(flags)) process.stdout.write(JSON.stringify(rows) + "\n");
        else process.stdout.write(table(rows, ["operation", "method", "path", "summary"]) + "\n");
        if (!operationId && !flags.list) throw new UsageError("aeriox api needs an operationId (listed above)");
        return;
      }
      const op = findOperation(operationId);
      if (!op) {
        const near = specOperations().filter((o) => o.operationId.toLowerCase().includes(operationId.toLowerCase().slice(0, 4))).map((o) => o.operationId);
        throw new UsageError(`unknown operation ${operationId}${near.length ? ` (did you mean ${near.slice(0, 5).join(", ")}?)` : ""}; see aeriox api --list`);
      }
      if (flags.describe) {
        process.stdout.write((wantsJson(flags) ? JSON.stringify(describeJson(op)) : describe(op)) + "\n");
        return;
      }
      await callOperation(op, parseApiArgs(op, items), flags);
    }),
  );
}
