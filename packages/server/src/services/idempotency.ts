import { createHash } from 'node:crypto';
import { AppError, Errors } from '../errors.ts';
import { run } from '../db/transaction.ts';
import type { Actor } from '../domain/types.ts';
import * as repo from '../repositories/idempotency.ts';
import type { StoredResponse } from '../repositories/idempotency.ts';
import type { ServiceDeps } from './deps.ts';

const KEY_RE = /^[\x21-\x7e]{1,255}$/;
// A request holding a key this long without finishing is presumed dead; a retry may then run it again.
const LOCK_SECONDS = 60;

export type IdempotencyStart =
  | { readonly kind: 'proceed'; readonly principal: string; readonly key: string }
  | { readonly kind: 'replay'; readonly response: StoredResponse };

/**
 * `Idempotency-Key`: the first request with a key runs and its response is stored; a retry with the same key and
 * the same request gets that response again without running twice; the same key with another request is refused
 * (422), and one still running is a 409. Keys belong to the caller (API key or user) and expire after a TTL.
 */
export class IdempotencyService {
  #sinceCleanup = 0;

  constructor(private readonly deps: ServiceDeps) {}

  async start(actor: Actor, rawKey: string, fingerprint: string): Promise<IdempotencyStart> {
    if (!KEY_RE.test(rawKey)) throw Errors.invalid('Idempotency-Key', 'must be 1 to 255 visible ASCII characters');
    const principal = actor.kind === 'user' ? `user:${actor.userId}` : `key:${actor.keyId ?? 'token'}`;
    const requestHash = createHash('sha256').update(fingerprint, 'utf8').digest('hex');
    const ttl = this.deps.config.idempotencyTtlHours;
    if (++this.#sinceCleanup >= 1000) {
      this.#sinceCleanup = 0;
      await run(() => repo.purgeExpired(this.deps.db, ttl));
    }
    const claim = await run(() => repo.claimKey(this.deps.db, principal, rawKey, requestHash, LOCK_SECONDS, ttl));
    if (claim.kind === 'owned') return { kind: 'proceed', principal, key: rawKey };
    if (claim.requestHash !== requestHash) {
      throw new AppError('IDEMPOTENCY_KEY_REUSED', 'Idempotency-Key: this key was used for a different request; use a new key for a new request', { field: 'Idempotency-Key' });
    }
    if (claim.kind === 'done') return { kind: 'replay', response: claim.response };
    throw new AppError('CONFLICT', 'Idempotency-Key: a request with this key is still being processed; retry later', { field: 'Idempotency-Key' });
  }

  /** Stores the outcome for retries. Server failures and throttling are not outcomes: the key is released. */
  async finish(principal: string, key: string, response: StoredResponse): Promise<void> {
    if (response.status >= 500 || response.status === 429 || response.status === 401) {
      await run(() => repo.releaseKey(this.deps.db, principal, key));
    } else {
      await run(() => repo.completeKey(this.deps.db, principal, key, response));
    }
  }
}
