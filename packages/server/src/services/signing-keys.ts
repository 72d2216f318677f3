import { exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';
import { run } from '../db/transaction.ts';
import type { Db } from '../db/database.ts';
import type { Tx } from '../db/transaction.ts';

export const SIGNING_ALGORITHM = 'ES256';
/** A retired key keeps verifying for as long as the longest token it may have signed lives. */
export const MAX_TOKEN_TTL_SECONDS = 7 * 24 * 3600;
// Another node may have rotated: an unknown `kid` reloads the ring, at most this often.
const RELOAD_INTERVAL_MS = 1000;

interface LoadedKey {
  readonly kid: string;
  readonly createdAt: Date;
  readonly retiredAt: Date | null;
  readonly publicJwk: JWK;
  readonly verifyKey: CryptoKey;
  readonly signKey: CryptoKey | undefined;
}

/**
 * ES256 key pairs in the database: the newest unretired key signs, every key retired less than the longest token
 * lifetime ago still verifies, and the public halves are published as a JWK Set. Nodes sharing one database
 * converge on the same ring.
 */
export class SigningKeyRing {
  #keys = new Map<string, LoadedKey>();
  #signing: LoadedKey | undefined;
  #loadedAt = 0;

  constructor(
    private readonly db: Db,
    private readonly newId: () => string,
  ) {}

  /** Loads the ring; creates the first key when there is none. */
  async init(): Promise<void> {
    await this.reload();
    if (!this.#signing) {
      await run(() => this.db.transaction().execute((tx) => insertKey(tx, this.newId())));
      await this.reload();
    }
  }

  async reload(): Promise<void> {
    const rows = await run(() =>
      this.db
        .selectFrom('signing_keys')
        .selectAll()
        .where((eb) => eb.or([eb('retired_at', 'is', null), eb('retired_at', '>', new Date(Date.now() - MAX_TOKEN_TTL_SECONDS * 1000))]))
        .orderBy('created_at', 'desc')
        .execute(),
    );
    const keys = new Map<string, LoadedKey>();
    let signing: LoadedKey | undefined;
    for (const row of rows) {
      const known = this.#keys.get(row.kid);
      const loaded: LoadedKey = known
        ? { ...known, retiredAt: row.retired_at }
        : {
            kid: row.kid,
            createdAt: row.created_at,
            retiredAt: row.retired_at,
            publicJwk: row.public_jwk as JWK,
            verifyKey: (await importJWK(row.public_jwk as JWK, SIGNING_ALGORITHM)) as CryptoKey,
            signKey: row.retired_at ? undefined : ((await importJWK(row.private_jwk as JWK, SIGNING_ALGORITHM)) as CryptoKey),
          };
      keys.set(row.kid, loaded);
      if (!signing && !row.retired_at) signing = loaded;
    }
    this.#keys = keys;
    this.#signing = signing;
    this.#loadedAt = Date.now();
  }

  signingKey(): { kid: string; key: CryptoKey } {
    const s = this.#signing;
    if (!s?.signKey) throw new Error('SigningKeyRing.init() was not called');
    return { kid: s.kid, key: s.signKey };
  }

  /** The key for `kid`, reloading once (rate-limited) when another node may have rotated. */
  async verifyKey(kid: string): Promise<CryptoKey | undefined> {
    let key = this.#keys.get(kid);
    if (!key && Date.now() - this.#loadedAt > RELOAD_INTERVAL_MS) {
      await this.reload();
      key = this.#keys.get(kid);
    }
    return key?.verifyKey;
  }

  /** The public JWK Set: every key that still verifies. */
  jwks(): { keys: JWK[] } {
    return { keys: [...this.#keys.values()].map((k) => ({ ...k.publicJwk, kid: k.kid, alg: SIGNING_ALGORITHM, use: 'sig' })) };
  }

  /** The newest key's age, for scheduled rotation. */
  signingKeyAgeMs(): number {
    return this.#signing ? Date.now() - this.#signing.createdAt.getTime() : Number.POSITIVE_INFINITY;
  }

  list(): { kid: string; createdAt: Date; retiredAt: Date | null; signing: boolean }[] {
    return [...this.#keys.values()].map((k) => ({ kid: k.kid, createdAt: k.createdAt, retiredAt: k.retiredAt, signing: k === this.#signing }));
  }
}

/** A new signing key; the keys signing until now are retired (they keep verifying). Returns the new kid. */
export async function insertKey(tx: Tx, kid: string): Promise<string> {
  const { publicKey, privateKey } = await generateKeyPair(SIGNING_ALGORITHM, { extractable: true });
  const [publicJwk, privateJwk] = await Promise.all([exportJWK(publicKey), exportJWK(privateKey)]);
  await tx.updateTable('signing_keys').set({ retired_at: new Date() }).where('retired_at', 'is', null).execute();
  await tx
    .insertInto('signing_keys')
    .values({ kid, algorithm: SIGNING_ALGORITHM, private_jwk: JSON.stringify(privateJwk), public_jwk: JSON.stringify(publicJwk) })
    .execute();
  return kid;
}
