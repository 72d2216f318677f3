import { ping } from '../repositories/health.ts';
import type { ServiceDeps } from './deps.ts';

/** Whether the database answers, for readiness checks. */
export class HealthService {
  constructor(private readonly deps: ServiceDeps) {}

  databaseAnswers(): Promise<void> {
    return ping(this.deps.db);
  }
}
