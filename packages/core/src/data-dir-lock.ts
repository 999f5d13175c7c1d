/**
 * PGlite is single-process: two processes opening the same data folder would
 * corrupt it. Whoever opens the embedded database holds `DATA_DIR/aeriox.lock`
 * (pid + admin endpoint); a second opener gets a clear error, and a stale lock
 * (its process is gone) is taken over.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";

export interface LockInfo {
  pid: number;
  role: string;
  startedAt: string;
}

export class DataDirLockedError extends Error {
  constructor(readonly holder: LockInfo, dataDir: string) {
    super(`The data folder ${dataDir} is in use by another aeriox ${holder.role} (pid ${holder.pid}). Stop it first, or set DATA_DIR to another folder.`);
    this.name = "DataDirLockedError";
  }
}

export function lockPath(dataDir: string): string {
  return path.join(dataDir, "aeriox.lock");
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

export function readLock(dataDir: string): LockInfo | null {
  try {
    const info = JSON.parse(readFileSync(lockPath(dataDir), "utf8")) as LockInfo;
    return isAlive(info.pid) ? info : null;
  } catch {
    return null;
  }
}

/** Takes the lock or throws DataDirLockedError; returns a release function. */
export function acquireDataDirLock(dataDir: string, role: string): () => void {
  mkdirSync(dataDir, { recursive: true });
  const file = lockPath(dataDir);
  const info: LockInfo = { pid: process.pid, role, startedAt: new Date().toISOString() };
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(file, JSON.stringify(info), { flag: "wx", mode: 0o600 });
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        try {
          const current = JSON.parse(readFileSync(file, "utf8")) as LockInfo;
          if (current.pid === process.pid) rmSync(file, { force: true });
        } catch {
          /* already gone */
        }
      };
      process.once("exit", release);
      return release;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const holder = readLock(dataDir);
      if (holder) throw new DataDirLockedError(holder, dataDir);
      rmSync(file, { force: true }); // stale: its process is gone
    }
  }
  throw new Error(`Could not take the lock ${file}`);
}
