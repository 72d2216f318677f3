import type { Kysely } from 'kysely';
import { sql } from 'kysely';

/**
 * Tenant-owned tables are keyed by (tenant_id, id) and reference each other through composite foreign keys,
 * so a membership row can never join a user of one tenant to a group of another. `id` is also unique on its
 * own because the ROQ API addresses users and groups by id alone.
 */
const statements = [
  `CREATE TABLE tenants (
     id uuid PRIMARY KEY,
     name text NOT NULL,
     reference text,
     is_default boolean NOT NULL DEFAULT false,
     created_at timestamptz NOT NULL DEFAULT now(),
     updated_at timestamptz NOT NULL DEFAULT now(),
     version integer NOT NULL DEFAULT 1
   )`,
  `CREATE UNIQUE INDEX tenants__reference ON tenants (reference) WHERE reference IS NOT NULL`,
  `CREATE UNIQUE INDEX tenants__is_default ON tenants (is_default) WHERE is_default`,
  `CREATE INDEX tenants__created_at ON tenants (created_at, id)`,

  `CREATE TABLE users (
     tenant_id uuid NOT NULL REFERENCES tenants (id),
     id uuid NOT NULL,
     reference text NOT NULL,
     email text NOT NULL,
     phone text,
     first_name text,
     last_name text,
     locale text,
     timezone text,
     avatar_url text,
     is_opted_in boolean NOT NULL DEFAULT false,
     active boolean NOT NULL DEFAULT true,
     synced boolean NOT NULL DEFAULT true,
     custom_data jsonb NOT NULL DEFAULT '{}'::jsonb,
     created_at timestamptz NOT NULL DEFAULT now(),
     updated_at timestamptz NOT NULL DEFAULT now(),
     version integer NOT NULL DEFAULT 1,
     CONSTRAINT users__pkey PRIMARY KEY (tenant_id, id)
   )`,
  `CREATE UNIQUE INDEX users__id ON users (id)`,
  `CREATE UNIQUE INDEX users__reference ON users (tenant_id, reference)`,
  `CREATE UNIQUE INDEX users__email ON users (tenant_id, lower(email))`,
  // One index per offered sort and filter; (x, id) keeps ordering stable and lets keyset paging use it.
  `CREATE INDEX users__created_at ON users (created_at, id)`,
  `CREATE INDEX users__updated_at ON users (updated_at, id)`,
  `CREATE INDEX users__tenant_created_at ON users (tenant_id, created_at, id)`,
  `CREATE INDEX users__reference_any ON users (reference)`,
  `CREATE INDEX users__email_any ON users (lower(email))`,
  `CREATE INDEX users__email_sort ON users (email, id)`,
  `CREATE INDEX users__first_name ON users (first_name, id)`,
  `CREATE INDEX users__last_name ON users (last_name, id)`,
  `CREATE INDEX users__phone ON users (phone, id)`,
  `CREATE INDEX users__locale ON users (locale, id)`,
  `CREATE INDEX users__timezone ON users (timezone, id)`,
  `CREATE INDEX users__active ON users (active, created_at, id)`,

  `CREATE TABLE user_group_types (
     id uuid PRIMARY KEY,
     name text NOT NULL,
     created_at timestamptz NOT NULL DEFAULT now(),
     updated_at timestamptz NOT NULL DEFAULT now()
   )`,
  `CREATE UNIQUE INDEX user_group_types__name ON user_group_types (name)`,

  `CREATE TABLE user_groups (
     tenant_id uuid NOT NULL REFERENCES tenants (id),
     id uuid NOT NULL,
     name text NOT NULL,
     reference text NOT NULL,
     description text NOT NULL DEFAULT '',
     type text NOT NULL,
     is_unmodifiable boolean NOT NULL DEFAULT false,
     created_at timestamptz NOT NULL DEFAULT now(),
     updated_at timestamptz NOT NULL DEFAULT now(),
     created_by uuid,
     updated_by uuid,
     version integer NOT NULL DEFAULT 1,
     CONSTRAINT user_groups__pkey PRIMARY KEY (tenant_id, id)
   )`,
  `CREATE UNIQUE INDEX user_groups__id ON user_groups (id)`,
  `CREATE UNIQUE INDEX user_groups__reference ON user_groups (tenant_id, reference)`,
  `CREATE INDEX user_groups__created_at ON user_groups (created_at, id)`,
  `CREATE INDEX user_groups__updated_at ON user_groups (updated_at, id)`,
  `CREATE INDEX user_groups__tenant_created_at ON user_groups (tenant_id, created_at, id)`,
  `CREATE INDEX user_groups__name ON user_groups (name, id)`,
  `CREATE INDEX user_groups__tenant_name ON user_groups (tenant_id, lower(name), id)`,
  `CREATE INDEX user_groups__reference_any ON user_groups (reference, id)`,
  `CREATE INDEX user_groups__type ON user_groups (type, id)`,

  `CREATE TABLE user_group_members (
     tenant_id uuid NOT NULL,
     group_id uuid NOT NULL,
     user_id uuid NOT NULL,
     added_at timestamptz NOT NULL DEFAULT now(),
     CONSTRAINT user_group_members__pkey PRIMARY KEY (tenant_id, group_id, user_id),
     CONSTRAINT user_group_members__group FOREIGN KEY (tenant_id, group_id)
       REFERENCES user_groups (tenant_id, id) ON DELETE CASCADE,
     CONSTRAINT user_group_members__user FOREIGN KEY (tenant_id, user_id)
       REFERENCES users (tenant_id, id) ON DELETE CASCADE
   )`,
  `CREATE INDEX user_group_members__user ON user_group_members (tenant_id, user_id, group_id)`,
  `CREATE INDEX user_group_members__added_at ON user_group_members (tenant_id, group_id, added_at, user_id)`,

  `CREATE TABLE user_group_managers (
     tenant_id uuid NOT NULL,
     group_id uuid NOT NULL,
     user_id uuid NOT NULL,
     added_at timestamptz NOT NULL DEFAULT now(),
     CONSTRAINT user_group_managers__pkey PRIMARY KEY (tenant_id, group_id, user_id),
     CONSTRAINT user_group_managers__group FOREIGN KEY (tenant_id, group_id)
       REFERENCES user_groups (tenant_id, id) ON DELETE CASCADE,
     CONSTRAINT user_group_managers__user FOREIGN KEY (tenant_id, user_id)
       REFERENCES users (tenant_id, id) ON DELETE CASCADE
   )`,
  `CREATE INDEX user_group_managers__user ON user_group_managers (tenant_id, user_id, group_id)`,
  `CREATE INDEX user_group_managers__added_at ON user_group_managers (tenant_id, group_id, added_at, user_id)`,

  `CREATE TABLE roles (
     id uuid PRIMARY KEY,
     tenant_id uuid REFERENCES tenants (id) ON DELETE CASCADE,
     key text NOT NULL,
     name text NOT NULL,
     description text,
     reference text,
     is_system_managed boolean NOT NULL DEFAULT false,
     created_at timestamptz NOT NULL DEFAULT now(),
     updated_at timestamptz NOT NULL DEFAULT now()
   )`,
  // Platform roles (tenant_id NULL) and each tenant's roles have unique keys.
  `CREATE UNIQUE INDEX roles__key ON roles (coalesce(tenant_id, '00000000-0000-0000-0000-000000000000'::uuid), key)`,
  `CREATE INDEX roles__created_at ON roles (created_at, id)`,
  `CREATE INDEX roles__name ON roles (name, id)`,

  `CREATE TABLE user_roles (
     tenant_id uuid NOT NULL,
     user_id uuid NOT NULL,
     role_id uuid NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
     created_at timestamptz NOT NULL DEFAULT now(),
     CONSTRAINT user_roles__pkey PRIMARY KEY (tenant_id, user_id, role_id),
     CONSTRAINT user_roles__user FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
   )`,
  `CREATE INDEX user_roles__role ON user_roles (role_id, tenant_id, user_id)`,

  `CREATE TABLE group_roles (
     tenant_id uuid NOT NULL,
     group_id uuid NOT NULL,
     role_id uuid NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
     created_at timestamptz NOT NULL DEFAULT now(),
     CONSTRAINT group_roles__pkey PRIMARY KEY (tenant_id, group_id, role_id),
     CONSTRAINT group_roles__group FOREIGN KEY (tenant_id, group_id)
       REFERENCES user_groups (tenant_id, id) ON DELETE CASCADE
   )`,
  `CREATE INDEX group_roles__role ON group_roles (role_id, tenant_id, group_id)`,

  `CREATE TABLE api_keys (
     id uuid PRIMARY KEY,
     prefix text NOT NULL,
     hash text NOT NULL,
     name text NOT NULL,
     created_at timestamptz NOT NULL DEFAULT now(),
     revoked_at timestamptz
   )`,
  `CREATE UNIQUE INDEX api_keys__hash ON api_keys (hash)`,

  `CREATE TABLE signing_keys (
     id uuid PRIMARY KEY,
     secret text NOT NULL,
     created_at timestamptz NOT NULL DEFAULT now()
   )`,
];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of statements) await sql.raw(statement).execute(db);
}
