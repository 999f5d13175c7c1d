/**
 * The local admin channel. With the embedded database only the server may open
 * DATA_DIR, so admin CLI commands (`aeriox keys create`, `wallet credit`, …) reach
 * the running server instead: POST /_admin/<command>, loopback only, with the token
 * the server wrote to DATA_DIR/admin.json (0600). Outside the public spec.
 */
import { randomBytes, timingSafeEqual } from "node:crypto";
import { rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import express, { type Express, type RequestHandler } from "express";
import { ApiError } from "@aeriox/core/errors";
import { runAdminCommand } from "@aeriox/core/admin";
import type { AppServices } from "../services.ts";

export const ADMIN_FILE = "admin.json";

function isLoopback(address: string | undefined): boolean {
  return !!address && (address === "::1" || address.startsWith("127.") || address.startsWith("::ffff:127."));
}

function sameToken(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

export function createAdminToken(): string {
  return randomBytes(32).toString("base64url");
}

export function adminRoutes(services: AppServices, token: string): (app: Express) => void {
  const guard: RequestHandler = (req, _res, next) => {
    const auth = /^Bearer (\S+)$/.exec(req.headers.authorization ?? "")?.[1];
    if (!isLoopback(req.socket.remoteAddress) || !auth || !sameToken(auth, token)) return next(ApiError.unauthorized());
    next();
  };
  return (app) => {
    app.post("/_admin/:command", guard, express.json({ limit: "64kb" }) as RequestHandler, async (req, res, next) => {
      try {
        const result = await runAdminCommand(services, String(req.params.command), (req.body ?? {}) as Record<string, unknown>);
        res.status(200).type("application/json").send(JSON.stringify(result));
      } catch (err) {
        next(err);
      }
    });
  };
}

/** Publishes where and how the CLI reaches this server; removed on shutdown. */
export function writeAdminFile(dataDir: string, url: string, token: string): () => void {
  const file = path.join(dataDir, ADMIN_FILE);
  writeFileSync(file, JSON.stringify({ url, token, pid: process.pid }), { mode: 0o600 });
  return () => rmSync(file, { force: true });
}
