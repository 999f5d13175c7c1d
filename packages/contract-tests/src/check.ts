/**
 * Checks one response against the spec, independently of the server: the status is documented
 * for the operation, the content type is a documented one, the body validates against its schema
 * (Ajv, JSON Schema 2020-12, formats on), every error (4xx/5xx) has the `Error` shape, documented
 * required headers are present (and `x-request-id` on every response, as the API promises), and
 * no 500 or stack trace leaks.
 */
import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";
import { documentedResponse, type LoadedSpec, type Operation } from "./spec.ts";

// ajv-formats is CommonJS: its default export is the function under ESM interop.
const addFormats = ((addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ?? addFormatsModule) as unknown as (ajv: Ajv2020) => void;

export type CheckName = "status" | "content-type" | "schema" | "error-shape" | "headers" | "no-5xx" | "no-stack";
export const CHECK_NAMES: CheckName[] = ["status", "content-type", "schema", "error-shape", "headers", "no-5xx", "no-stack"];

export interface Violation {
  check: CheckName | "expectation" | "transport" | "budget";
  message: string;
}

export interface ObservedResponse {
  status: number;
  headers: Headers;
  text: string;
}

export interface CheckResult {
  ran: Set<CheckName>;
  violations: Violation[];
  /** The parsed JSON body, when it is JSON. */
  json: unknown;
}

const STACK = /\n\s+at [^\n]+[(:]\S+:\d+:\d+|\bat (?:async )?[\w.<>]+ \((?:file:\/\/|\/|node:)[^)]*:\d+:\d+\)|"stack"\s*:/;

export class ResponseChecker {
  private readonly ajv: Ajv2020;
  private readonly compiled = new Map<string, ValidateFunction>();
  private readonly errorPointer: string | null;

  constructor(private readonly spec: LoadedSpec) {
    this.ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: true, allowUnionTypes: true });
    addFormats(this.ajv);
    for (const format of ["binary", "byte", "int32", "int64", "float", "double", "password"]) this.ajv.addFormat(format, true);
    this.ajv.addSchema(spec.document, "openapi");
    this.errorPointer = spec.document.components?.schemas?.Error ? "#/components/schemas/Error" : null;
  }

  validator(pointer: string): ValidateFunction {
    let fn = this.compiled.get(pointer);
    if (!fn) {
      fn = this.ajv.compile({ $ref: `openapi${pointer}` });
      this.compiled.set(pointer, fn);
    }
    return fn;
  }

  private validate(pointer: string, value: unknown): string | null {
    const fn = this.validator(pointer);
    if (fn(value)) return null;
    return (fn.errors ?? [])
      .slice(0, 5)
      .map((e) => `${e.instancePath || "(root)"} ${e.message}${e.params && "missingProperty" in e.params ? "" : ` ${JSON.stringify(e.params)}`}`)
      .join("; ");
  }

  check(op: Operation, res: ObservedResponse): CheckResult {
    const ran = new Set<CheckName>();
    const violations: Violation[] = [];
    const fail = (check: CheckName, message: string) => violations.push({ check, message });
    const contentType = (res.headers.get("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
    let json: unknown;
    const isJson = /[/+]json$/.test(contentType);
    if (isJson && res.text.length > 0) {
      try {
        json = JSON.parse(res.text);
      } catch {
        json = undefined;
      }
    }

    // Status documented.
    ran.add("status");
    const documented = documentedResponse(op, res.status);
    if (!documented) fail("status", `status ${res.status} is not documented for ${op.operationId} (documented: ${[...op.responses.keys()].join(", ")})`);

    // Headers: x-request-id on every response (the API's promise), documented required ones, documented schemas.
    ran.add("headers");
    const requestId = res.headers.get("x-request-id");
    if (!requestId) fail("headers", "no x-request-id header");
    for (const header of documented?.headers ?? []) {
      const value = res.headers.get(header.name);
      if (value === null) {
        if (header.required) fail("headers", `required header ${header.name} missing`);
        continue;
      }
      if (header.schemaPointer) {
        const schema = this.spec.document && this.validator(header.schemaPointer);
        const numeric = /^-?\d+(\.\d+)?$/.test(value) ? Number(value) : value;
        // Header values are strings on the wire: an integer-typed header is checked as its number.
        if (!schema(numeric) && !schema(value)) fail("headers", `header ${header.name}: ${JSON.stringify(value)} does not match its schema`);
      }
    }

    // 5xx: a 500 is a server bug whatever the spec says; a 503 only when documented.
    ran.add("no-5xx");
    if (res.status >= 500 && !(res.status === 503 && op.responses.has("503"))) fail("no-5xx", `server error ${res.status}`);

    ran.add("no-stack");
    if (STACK.test(res.text)) fail("no-stack", "the body leaks a stack trace");

    // Content type and body.
    if (documented) {
      const media = documented.content;
      if (media.length === 0) {
        if (res.status !== 204 && res.status < 300 && res.text.length > 0 && !(res.status >= 300 && res.status < 400)) {
          ran.add("content-type");
          fail("content-type", `no content is documented for ${res.status} but the body has ${res.text.length} bytes`);
        }
      } else if (res.status !== 204 && res.status !== 304 && res.status !== 206) {
        ran.add("content-type");
        const match = media.find((m) => mediaMatches(m.contentType, contentType));
        if (!match) {
          fail("content-type", `content type ${contentType || "(none)"} is not documented for ${res.status} (documented: ${media.map((m) => m.contentType).join(", ")})`);
        } else if (match.schemaPointer && /[/+]json$/.test(match.contentType)) {
          ran.add("schema");
          if (json === undefined) fail("schema", `body is not JSON: ${res.text.slice(0, 120)}`);
          else {
            const problem = this.validate(match.schemaPointer, json);
            if (problem) fail("schema", `body does not match the ${res.status} schema: ${problem}`);
          }
        } else if (match.contentType === "text/event-stream") {
          ran.add("schema");
          const problem = this.checkEventStream(res.text);
          if (problem) fail("schema", problem);
        }
      }
    }

    // Every error is the Error shape, documented or not.
    if (res.status >= 400) {
      ran.add("error-shape");
      if (json === undefined) fail("error-shape", `error body is not JSON (${contentType || "no content type"})`);
      else if (this.errorPointer) {
        const problem = this.validate(this.errorPointer, json);
        const code = (json as { error?: { code?: unknown } })?.error?.code;
        if (problem) fail("error-shape", `error body is not the Error shape: ${problem}`);
        else if (typeof code !== "string" || !/^[a-z][a-z0-9_]*$/.test(code)) fail("error-shape", `error code ${JSON.stringify(code)} is not snake_case`);
      }
    }
    return { ran, violations, json };
  }

  /** `event: job` frames whose data is a Job. */
  private checkEventStream(text: string): string | null {
    const jobPointer = this.spec.document.components?.schemas?.Job ? "#/components/schemas/Job" : null;
    for (const frame of text.split(/\n\n+/)) {
      const data = frame
        .split("\n")
        .filter((l) => l.startsWith("data:"))
        .map((l) => l.slice(5).trimStart())
        .join("\n");
      const event = /^event:\s*(.*)$/m.exec(frame)?.[1];
      if (!data || event !== "job" || !jobPointer) continue;
      let parsed: unknown;
      try {
        parsed = JSON.parse(data);
      } catch {
        return `event data is not JSON: ${data.slice(0, 120)}`;
      }
      const problem = this.validate(jobPointer, parsed);
      if (problem) return `event data is not a Job: ${problem}`;
    }
    return null;
  }
}

function mediaMatches(documented: string, actual: string): boolean {
  if (documented === actual || documented === "*/*") return true;
  const [type, sub] = documented.split("/");
  return sub === "*" && actual.startsWith(`${type}/`);
}
