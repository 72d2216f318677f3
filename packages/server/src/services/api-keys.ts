import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { AppError, Errors } from '../errors.ts';
import { run } from '../db/transaction.ts';
import type { RequestContext } from '../domain/types.ts';
import * as repo from '../repositories/api-keys.ts';
import type { ApiKeyRecord } from '../repositories/api-keys.ts';
import { writeAudited } from './audit.ts';
import type { ServiceDeps } from './deps.ts';
import { requireSuperAdmin } from './policy.ts';
import * as v from './validate.ts';

/** The key id the audit log and tokens carry for the key configured by `ROSTER_API_KEY`. */
export const ENV_KEY_ID = 'env';
// `last_used_at` is written at most this often per key, not on every request.
const TOUCH_INTERVAL_MS = 60_000;
const MAX_GRACE_SECONDS = 7 * 24 * 3600;

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest();
const newKey = () => `rk_${randomBytes(32).toString('base64url')}`;
// Enough to tell keys apart in a list, far too little to guess the rest.
const prefixOf = (key: string) => key.slice(0, 11);

interface ActiveKey {
  readonly id: string;
  readonly hash: Buffer;
  readonly expiresAt: number | null;
}

export interface IssuedApiKey {
  readonly record: ApiKeyRecord;
  /** The key itself, shown once: only its SHA-256 is stored. */
  readonly key: string;
}

/**
 * Super-admin API keys. Only SHA-256 hashes are stored; a presented key is compared in constant time with every
 * active hash. Keys are created, listed (prefix only), rotated (optionally with a grace period for the old key)
 * and revoked through the API; `ROSTER_API_KEY`, when set, is accepted as well and managed by configuration.
 */
export class ApiKeyService {
  #active: ActiveKey[] = [];
  #envHash: Buffer | undefined;
  #loadedAt = 0;
  #reloading: Promise<void> | undefined;
  // Keys recently verified, so a busy client does not pay a SHA-256 per request. Only accepted keys are kept,
  // and only a few: a flood of wrong keys cannot grow it. Cleared on every reload, so revocation applies.
  #recentlyAccepted = new Map<string, string>();
  #touchedAt = new Map<string, number>();

  constructor(private readonly deps: ServiceDeps) {}

  /**
   * Loads the active hashes. With neither `ROSTER_API_KEY` nor a stored key, generates one and returns it so the
   * caller can print it once.
   */
  async init(): Promise<{ generatedApiKey?: string }> {
    if (this.deps.config.apiKey) this.#envHash = sha256(this.deps.config.apiKey);
    await this.reload();
    if (this.#envHash || this.#active.length > 0) return {};
    const generatedApiKey = newKey();
    await run(() =>
      repo.insertApiKey(this.deps.db, {
        id: this.deps.newId(),
        prefix: prefixOf(generatedApiKey),
        hash: sha256(generatedApiKey).toString('hex'),
        name: 'generated at first start',
        expiresAt: null,
      }),
    );
    await this.reload();
    return { generatedApiKey };
  }

  async reload(): Promise<void> {
    const rows = await run(() => repo.activeKeyHashes(this.deps.db));
    this.#active = rows.map((r) => ({ id: r.id, hash: Buffer.from(r.hash, 'hex'), expiresAt: r.expiresAt?.getTime() ?? null }));
    this.#recentlyAccepted.clear();
    this.#loadedAt = Date.now();
  }

  /** The id of the key presented (`env` for `ROSTER_API_KEY`), or undefined when it is not a valid key. */
  match(presented: string): string | undefined {
    this.refreshInBackground();
    const now = Date.now();
    const cached = this.#recentlyAccepted.get(presented);
    if (cached !== undefined && this.isActive(cached, now)) return this.touched(cached, now);
    const hash = sha256(presented);
    let found: string | undefined;
    // Every hash is compared, whatever matched, so timing says nothing about which key or how much matched.
    if (this.#envHash && timingSafeEqual(hash, this.#envHash)) found = ENV_KEY_ID;
    for (const key of this.#active) {
      if (timingSafeEqual(hash, key.hash) && (key.expiresAt === null || key.expiresAt > now)) found = key.id;
    }
    if (found === undefined) return undefined;
    if (this.#recentlyAccepted.size >= 16) this.#recentlyAccepted.clear();
    this.#recentlyAccepted.set(presented, found);
    return this.touched(found, now);
  }

  /** Whether tokens issued for this key still count: the key has not been revoked or expired since. */
  isActive(keyId: string, now = Date.now()): boolean {
    if (keyId === ENV_KEY_ID) return this.#envHash !== undefined;
    const key = this.#active.find((k) => k.id === keyId);
    return !!key && (key.expiresAt === null || key.expiresAt > now);
  }

  async create(ctx: RequestContext, input: { name?: string | null; expiresAt?: Date | null }): Promise<IssuedApiKey> {
    requireSuperAdmin(ctx, 'manage API keys');
    const name = v.text('name', input.name ?? '', { min: 1, max: 255 });
    const expiresAt = input.expiresAt ?? null;
    if (expiresAt !== null && (Number.isNaN(expiresAt.getTime()) || expiresAt.getTime() <= Date.now())) throw Errors.invalid('expiresAt', 'must be in the future');
    const key = newKey();
    const record = await writeAudited(this.deps, ctx, async (tx, audit) => {
      const r = await repo.insertApiKey(tx, { id: this.deps.newId(), prefix: prefixOf(key), hash: sha256(key).toString('hex'), name, expiresAt });
      audit({ tenantId: null, operation: 'apiKey.create', targetType: 'apiKey', targetId: r.id, changes: { name, prefix: r.prefix, expiresAt } });
      return r;
    });
    await this.reload();
    return { record, key };
  }

  async list(ctx: RequestContext, includeRevoked: boolean): Promise<ApiKeyRecord[]> {
    requireSuperAdmin(ctx, 'manage API keys');
    return run(() => repo.listApiKeys(this.deps.db, includeRevoked));
  }

  /** A new key with the same name; the old one stops working now, or after `gracePeriodSeconds`. */
  async rotate(ctx: RequestContext, id: string, gracePeriodSeconds = 0): Promise<IssuedApiKey> {
    requireSuperAdmin(ctx, 'manage API keys');
    v.uuid('id', id);
    if (!Number.isInteger(gracePeriodSeconds) || gracePeriodSeconds < 0 || gracePeriodSeconds > MAX_GRACE_SECONDS) {
      throw Errors.invalid('gracePeriodSeconds', `must be an integer between 0 and ${MAX_GRACE_SECONDS}`);
    }
    const key = newKey();
    const record = await writeAudited(this.deps, ctx, async (tx, audit) => {
      const old = await repo.findApiKey(tx, id);
      if (!old) throw Errors.notFound('ApiKey', 'id', id);
      if (old.revokedAt || old.replacedBy || (old.expiresAt && old.expiresAt.getTime() <= Date.now())) {
        throw Errors.invalid('id', 'this key was already revoked, rotated or has expired');
      }
      const r = await repo.insertApiKey(tx, { id: this.deps.newId(), prefix: prefixOf(key), hash: sha256(key).toString('hex'), name: old.name, expiresAt: old.expiresAt });
      await repo.retireApiKey(tx, old.id, r.id, new Date(Date.now() + gracePeriodSeconds * 1000));
      audit({ tenantId: null, operation: 'apiKey.rotate', targetType: 'apiKey', targetId: old.id, changes: { replacedBy: r.id, prefix: r.prefix, gracePeriodSeconds } });
      return r;
    });
    await this.reload();
    return { record, key };
  }

  /** Revokes at once. The last working key cannot be revoked: that would lock every administrator out. */
  async revoke(ctx: RequestContext, id: string): Promise<ApiKeyRecord> {
    requireSuperAdmin(ctx, 'manage API keys');
    v.uuid('id', id);
    const record = await writeAudited(this.deps, ctx, async (tx, audit) => {
      const old = await repo.findApiKey(tx, id);
      if (!old) throw Errors.notFound('ApiKey', 'id', id);
      if (!old.revokedAt && !this.#envHash && (await repo.countActiveKeys(tx)) <= 1) {
        throw new AppError('CONFLICT', 'id: this is the last working API key; create another before revoking it', { field: 'id' });
      }
      const r = (await repo.revokeApiKey(tx, id))!;
      audit({ tenantId: null, operation: 'apiKey.revoke', targetType: 'apiKey', targetId: id, changes: { prefix: r.prefix } });
      return r;
    });
    await this.reload();
    return record;
  }

  private refreshInBackground(): void {
    // Revocations made on another node reach this one within the refresh interval.
    if (this.#reloading || Date.now() - this.#loadedAt < this.deps.config.keyRefreshSeconds * 1000) return;
    // A failed refresh keeps the last known keys; the next request tries again.
    this.#reloading = this.reload()
      .catch(() => undefined)
      .finally(() => (this.#reloading = undefined));
  }

  private touched(id: string, now: number): string {
    if (id !== ENV_KEY_ID && now - (this.#touchedAt.get(id) ?? 0) > TOUCH_INTERVAL_MS) {
      this.#touchedAt.set(id, now);
      void repo.touchApiKey(this.deps.db, id).catch(() => undefined);
    }
    return id;
  }
}
