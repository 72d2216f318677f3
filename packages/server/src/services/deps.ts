import { v7 as uuidv7 } from 'uuid';
import type { Config } from '../config.ts';
import type { Db } from '../db/database.ts';

export interface ServiceDeps {
  readonly db: Db;
  readonly config: Config;
  /** New ids are time-ordered (UUIDv7) so inserts append to the id indexes instead of scattering. */
  readonly newId: () => string;
}

export function makeServiceDeps(db: Db, config: Config): ServiceDeps {
  return { db, config, newId: () => uuidv7() };
}
