/**
 * ES256 signing keys for access tokens, persisted in `signing_keys` so every API
 * process (several may share one PostgreSQL) signs and verifies with the same set.
 *
 * - The first process that needs a key creates it, under an advisory lock, so
 *   concurrent first uses still end with one current key.
 * - `rotateSigningKey` retires the current key and adds a new one. A retired key stays
 *   in the JWKS and keeps verifying for RETIRED_KEY_GRACE_MS (longer than the maximum
 *   access-token lifetime), so tokens signed before a rotation live out their `exp`.
 * - Keys are cached in memory per Database. The current key is re-read every minute
 *   (another process may have rotated); an unknown `kid` triggers a reload at most once
 *   a second, so forged kids cannot turn into a database storm.
 */
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type JWK } from "jose";
import type { Database } from "../../db/index.ts";

export const ACCESS_TOKEN_ALG = "ES256";
/** The configurable access-token TTL is at most 24 h; keep retired keys a little longer. */
export const RETIRED_KEY_GRACE_MS = 25 * 3600_000;
const CURRENT_KEY_REFRESH_MS = 60_000;
const UNKNOWN_KID_RELOAD_MS = 1_000;
/** Arbitrary constant naming the advisory lock that serialises key creation/rotation. */
const SIGNING_KEY_LOCK = 804_117_001;

export interface LoadedSigningKey {
  kid: string;
  publicJwk: JWK;
  publicKey: CryptoKey;
  privateKey: CryptoKey;
  createdAt: Date;
  retiredAt: Date | null;
}

type Row = { kid: string; alg: string; privateJwk: unknown; publicJwk: unknown; createdAt: Date; retiredAt: Date | null };

class SigningKeyStore {
  private keys = new Map<string, LoadedSigningKey>();
  private current: LoadedSigningKey | null = null;
  private loadedAt = 0;
  private lastReload = 0;
  private loading: Promise<void> | null = null;

  constructor(private readonly db: Database) {}

  /** Reloads every usable key from the database (deduplicated across concurrent callers). */
  reload(): Promise<void> {
    this.loading ??= this.load().finally(() => {
      this.loading = null;
    });
    return this.loading;
  }

  private async load(): Promise<void> {
    this.lastReload = Date.now();
    const rows = (await this.db.prisma.signingKey.findMany({ orderBy: { createdAt: "asc" } })) as Row[];
    const keys = new Map<string, LoadedSigningKey>();
    for (const row of rows) {
      if (row.alg !== ACCESS_TOKEN_ALG) continue;
      const cached = this.keys.get(row.kid);
      const publicJwk = row.publicJwk as JWK;
      keys.set(row.kid, {
        kid: row.kid,
        publicJwk,
        publicKey: cached?.publicKey ?? ((await importJWK(publicJwk, ACCESS_TOKEN_ALG)) as CryptoKey),
        privateKey: cached?.privateKey ?? ((await importJWK(row.privateJwk as JWK, ACCESS_TOKEN_ALG)) as CryptoKey),
        createdAt: row.createdAt,
        retiredAt: row.retiredAt,
      });
    }
    this.keys = keys;
    this.current = [...keys.values()].filter((k) => !k.retiredAt).at(-1) ?? null;
    this.loadedAt = Date.now();
  }

  /** The key new tokens are signed with; created on first use. */
  async currentKey(): Promise<LoadedSigningKey> {
    if (!this.current || Date.now() - this.loadedAt > CURRENT_KEY_REFRESH_MS) await this.reload();
    if (!this.current) {
      await createKeyIfNone(this.db, false);
      await this.reload();
    }
    if (!this.current) throw new Error("no current signing key after creating one");
    return this.current;
  }

  /** The public key for `kid` if it may still verify tokens, else null. */
  async verificationKey(kid: string): Promise<CryptoKey | null> {
    let key = this.keys.get(kid);
    if (!key && Date.now() - this.lastReload > UNKNOWN_KID_RELOAD_MS) {
      await this.reload();
      key = this.keys.get(kid);
    }
    if (!key) return null;
    if (key.retiredAt && key.retiredAt.getTime() + RETIRED_KEY_GRACE_MS < Date.now()) return null;
    return key.publicKey;
  }

  /** Public JWKs of the current and recently retired keys. */
  async publicJwks(): Promise<JWK[]> {
    await this.currentKey();
    const cutoff = Date.now() - RETIRED_KEY_GRACE_MS;
    return [...this.keys.values()]
      .filter((k) => !k.retiredAt || k.retiredAt.getTime() >= cutoff)
      .reverse()
      .map((k) => ({ ...k.publicJwk, kid: k.kid, alg: ACCESS_TOKEN_ALG, use: "sig" }));
  }
}

async function newKeyRow(): Promise<{ kid: string; alg: string; privateJwk: JWK; publicJwk: JWK }> {
  const { publicKey, privateKey } = await generateKeyPair(ACCESS_TOKEN_ALG, { extractable: true });
  const publicJwk = await exportJWK(publicKey);
  const privateJwk = await exportJWK(privateKey);
  const kid = await calculateJwkThumbprint(publicJwk);
  return { kid, alg: ACCESS_TOKEN_ALG, privateJwk: { ...privateJwk, kid }, publicJwk: { kty: publicJwk.kty, crv: publicJwk.crv, x: publicJwk.x, y: publicJwk.y, kid } };
}

/** Adds a key under the advisory lock: only when none is current, or always when rotating. */
async function createKeyIfNone(db: Database, rotate: boolean): Promise<string | null> {
  const row = await newKeyRow(); // generated before the transaction: keep it short
  return db.prisma.$transaction(async (tx) => {
    await tx.$executeRawUnsafe(`SELECT pg_advisory_xact_lock(${SIGNING_KEY_LOCK})`);
    if (rotate) {
      await tx.signingKey.updateMany({ where: { retiredAt: null }, data: { retiredAt: new Date() } });
    } else if ((await tx.signingKey.count({ where: { retiredAt: null, alg: ACCESS_TOKEN_ALG } })) > 0) {
      return null;
    }
    await tx.signingKey.create({ data: { kid: row.kid, alg: row.alg, privateJwk: row.privateJwk as object, publicJwk: row.publicJwk as object } });
    return row.kid;
  });
}

const stores = new WeakMap<Database, SigningKeyStore>();

export function signingKeys(db: Database): SigningKeyStore {
  let store = stores.get(db);
  if (!store) {
    store = new SigningKeyStore(db);
    stores.set(db, store);
  }
  return store;
}

/** Retires the current key and makes a new one current (this process sees it at once, others within a minute). */
export async function rotateSigningKey(db: Database): Promise<{ kid: string }> {
  const kid = await createKeyIfNone(db, true);
  await signingKeys(db).reload();
  return { kid: kid! };
}
