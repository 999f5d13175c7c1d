/**
 * compose.yaml and the Dockerfile, checked without a Docker engine (none on CI; `docker
 * compose` is not installed either, so `docker compose config -q` cannot run): the services
 * exist with the health checks operators rely on, start in dependency order, and every
 * variable handed to the aeriox processes is one the server actually reads (config.ts).
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";

const ROOT = new URL("../../../", import.meta.url);
const read = (file: string) => readFileSync(fileURLToPath(new URL(file, ROOT)), "utf8");

/** The variables the server reads: the keys of envSchema in config.ts. */
function configVariables(): Set<string> {
  const source = read("packages/core/src/config.ts");
  const schema = source.slice(source.indexOf("const envSchema"), source.indexOf("export type Env"));
  return new Set([...schema.matchAll(/^\s+([A-Z][A-Z0-9_]+):/gm)].map((m) => m[1]!));
}

type Service = { image?: string; build?: unknown; command?: string[]; environment?: Record<string, string>; healthcheck?: { test: string[] }; depends_on?: Record<string, { condition: string }>; volumes?: string[] };

describe("compose.yaml", () => {
  const compose = parse(read("compose.yaml"), { merge: true }) as { services: Record<string, Service>; volumes: Record<string, unknown> };
  const { postgres, redis, api, worker } = compose.services;

  it("has PostgreSQL, Redis, the API and a worker, each with its health check", () => {
    expect(Object.keys(compose.services).sort()).toEqual(["api", "postgres", "redis", "worker"]);
    expect(postgres!.healthcheck!.test.join(" ")).toContain("pg_isready");
    expect(redis!.healthcheck!.test.join(" ")).toContain("redis-cli ping");
    expect(redis!.command!.join(" ")).toContain("--maxmemory-policy noeviction");
    expect(api!.healthcheck!.test.join(" ")).toMatch(/\/readyz/);
    expect(worker!.healthcheck!.test.join(" ")).toContain("PING");
  });

  it("runs the same image as API and worker, after their dependencies are healthy", () => {
    expect(api!.build).toBe(".");
    expect(worker!.image).toBe(api!.image);
    expect(api!.command).toEqual(["serve"]);
    expect(worker!.command).toEqual(["worker"]);
    expect(api!.depends_on).toEqual({ postgres: { condition: "service_healthy" }, redis: { condition: "service_healthy" } });
    expect(worker!.depends_on!.api!.condition).toBe("service_healthy");
    // Workers write the assets the API serves: one volume for both.
    const dataVolume = (s: Service) => s.volumes!.find((v) => v.endsWith(":/data"));
    expect(dataVolume(api!)).toBeDefined();
    expect(dataVolume(worker!)).toBe(dataVolume(api!));
  });

  it("hands the aeriox processes only variables the server reads, with PostgreSQL and Redis set", () => {
    const known = configVariables();
    expect(known.has("DATABASE_URL") && known.has("ASSET_URL_SECRET")).toBe(true);
    for (const service of [api!, worker!]) {
      const names = Object.keys(service.environment!);
      expect(names.filter((n) => !known.has(n))).toEqual([]);
      expect(service.environment!.DATABASE_URL).toMatch(/^postgresql:\/\/aeriox:.*@postgres:5432\/aeriox$/);
      expect(service.environment!.REDIS_URL).toBe("redis://redis:6379");
      expect(service.environment!.DATA_DIR).toBe("/data");
    }
  });
});

describe("Dockerfile", () => {
  const dockerfile = read("Dockerfile");
  const runtime = dockerfile.slice(dockerfile.lastIndexOf("\nFROM "));

  it("is multi-stage and runs the packed CLI bundle as a non-root user", () => {
    expect(dockerfile.match(/^FROM /gm)!.length).toBeGreaterThanOrEqual(2);
    expect(runtime).toMatch(/^USER node$/m);
    expect(runtime).toContain('ENTRYPOINT ["node", "/app/node_modules/@aeriox/cli/dist/bin.js"]');
    expect(runtime).toContain('CMD ["serve"]');
    expect(runtime).toMatch(/HEALTHCHECK[\s\S]*\/healthz/);
    // The runtime stage gets the tarball only: no sources, no dev dependencies.
    expect(runtime).not.toMatch(/^COPY \. /m);
    expect(runtime).toContain("--omit=dev");
  });
});
