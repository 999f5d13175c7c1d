/**
 * The CLI as a user installs it: `pnpm pack`, `npm install` of the tarball in a folder
 * outside the workspace (npm fetches its dependencies from the registry), then the
 * installed `aeriox` serves the API on the embedded default, creates a key through the
 * admin channel, and generates an image to a file.
 */
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";

it("packs, installs with npm, and the installed binary serves and generates", async () => {
  const pkgDir = fileURLToPath(new URL("..", import.meta.url));
  const dir = mkdtempSync(path.join(tmpdir(), "aeriox-cli-pack-"));
  const dataDir = path.join(dir, "data");
  const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir, NODE_ENV: "production", LOG_LEVEL: "warn" };
  delete env.DATABASE_URL;
  delete env.REDIS_URL;
  try {
    execFileSync("pnpm", ["pack", "--pack-destination", dir], { cwd: pkgDir, stdio: "ignore" });
    const tarball = readdirSync(dir).find((f) => f.endsWith(".tgz"))!;
    writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: "user-project", private: true }));
    execFileSync("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error", path.join(dir, tarball)], { cwd: dir, stdio: "ignore" });
    const bin = path.join(dir, "node_modules/.bin/aeriox");

    const server = spawn(bin, ["serve"], { cwd: dir, env: { ...env, PORT: "0", HOST: "127.0.0.1" }, stdio: ["ignore", "pipe", "pipe"] });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = "";
        const onData = (d: Buffer) => {
          out += d;
          const m = /listening on (http:\/\/\S+)/.exec(out);
          if (m) resolve(m[1]!.replace("localhost", "127.0.0.1"));
        };
        server.stdout!.on("data", onData);
        server.stderr!.on("data", onData);
        server.once("exit", (code) => reject(new Error(`installed aeriox serve exited (${code}): ${out}`)));
      });
      const { key } = JSON.parse(execFileSync(bin, ["keys", "create", "--workspace", "packed", "--json"], { cwd: dir, env, encoding: "utf8" })) as { key: string };
      const out = path.join(dir, "out/fox.png");
      execFileSync(bin, ["image", "a red fox", "--model", "local/image", "--out", out, "--json"], {
        cwd: dir,
        env: { ...env, AERIOX_API_KEY: key, AERIOX_BASE_URL: url },
        encoding: "utf8",
      });
      expect(readFileSync(out).subarray(0, 8).toString("hex")).toBe("89504e470d0a1a0a");
    } finally {
      server.kill("SIGTERM");
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 300_000);
