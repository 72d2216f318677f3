import { run } from '../db/transaction.ts';
import * as repo from '../repositories/token-revocations.ts';
import type { ServiceDeps } from './deps.ts';

/** The longest a user token lives (`expiresIn` is capped at 7 days): a revocation older than this ends nothing. */
export const MAX_TOKEN_LIFETIME_SECONDS = 7 * 24 * 3600;
// Rows are read again from this far back at each refresh: a transaction that recorded a revocation may commit
// well after its `recorded_at` (the time it started), and a row read twice is harmless.
const RECORDED_OVERLAP_MS = 5 * 60_000;
const PRUNE_INTERVAL_MS = 3600_000;

/**
 * Which users' tokens issued before when no longer authenticate, held in memory on every node: noted at once on
 * the node that made the change, and read from the database by the others every `ROSTER_KEY_REFRESH_SECONDS`.
 * A token check is then a map lookup, never a statement.
 */
export class TokenRevocations {
  readonly #notBefore = new Map<string, number>();
  #readUpTo: Date | undefined;
  #timer: NodeJS.Timeout | undefined;
  #prunedAt = 0;

  constructor(private readonly deps: ServiceDeps) {}

  async init(): Promise<void> {
    await this.refresh();
    this.#timer = setInterval(() => void this.refresh().catch(() => undefined), this.deps.config.keyRefreshSeconds * 1000);
    this.#timer.unref();
  }

  close(): void {
    clearInterval(this.#timer);
  }

  /** Reads the revocations recorded since the last read (all of them the first time). */
  async refresh(): Promise<void> {
    const since = this.#readUpTo ? new Date(this.#readUpTo.getTime() - RECORDED_OVERLAP_MS) : undefined;
    const { rows, now } = await run(() => repo.revocationsSince(this.deps.db, since, MAX_TOKEN_LIFETIME_SECONDS));
    for (const row of rows) this.note(row.userId, row.notBefore);
    this.#readUpTo = now;
    if (Date.now() - this.#prunedAt > PRUNE_INTERVAL_MS) {
      this.#prunedAt = Date.now();
      await run(() => repo.pruneRevocations(this.deps.db, MAX_TOKEN_LIFETIME_SECONDS));
      const horizon = Date.now() - MAX_TOKEN_LIFETIME_SECONDS * 1000;
      for (const [userId, notBefore] of this.#notBefore) if (notBefore < horizon) this.#notBefore.delete(userId);
    }
  }

  /** Tokens of `userId` issued before `notBefore` stop authenticating on this node now. */
  note(userId: string, notBefore: Date): void {
    const at = notBefore.getTime();
    if (at > (this.#notBefore.get(userId) ?? 0)) this.#notBefore.set(userId, at);
  }

  /** Whether a token of `userId` issued at `issuedAtMs` was revoked (a token of the very same millisecond was). */
  isRevoked(userId: string, issuedAtMs: number): boolean {
    const notBefore = this.#notBefore.get(userId);
    return notBefore !== undefined && issuedAtMs <= notBefore;
  }
}
