-- pgplane metadata schema: identity, tenancy, quotas, clusters, operations (the job queue) and audit.
-- Integrity lives here: every constraint is named so the API can map it to a 409/422 naming the field.

create extension if not exists citext;

-- users: people who log in with a password (and own personal API keys).
create table users (
    id                uuid primary key,
    email             citext not null constraint users_email_key unique,
    name              text not null constraint users_name_length check (char_length(name) between 1 and 200),
    password_hash     text not null,
    is_platform_admin boolean not null default false,
    disabled          boolean not null default false,
    created_at        timestamptz not null default now(),
    updated_at        timestamptz not null default now(),
    constraint users_email_shape check (email ~ '^[^@\s]+@[^@\s]+$' and char_length(email) <= 254)
);

-- tenants: the unit of isolation. name is a DNS-1123 label because it names a Kubernetes namespace.
create table tenants (
    id           uuid primary key,
    name         text not null constraint tenants_name_key unique,
    display_name text not null constraint tenants_display_name_length check (char_length(display_name) between 1 and 200),
    suspended    boolean not null default false,
    created_at   timestamptz not null default now(),
    updated_at   timestamptz not null default now(),
    constraint tenants_name_dns_label check (name ~ '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$')
);

create table memberships (
    tenant_id  uuid not null references tenants (id) on delete cascade,
    user_id    uuid not null references users (id) on delete cascade,
    role       text not null constraint memberships_role_known check (role in ('owner', 'admin', 'developer', 'viewer')),
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    primary key (tenant_id, user_id)
);
create index memberships_user_idx on memberships (user_id);

-- api_keys: either a user's personal key (user_id set, acts as the user) or a tenant service key
-- (tenant_id + role set). Only the SHA-256 of the key is stored; the key itself is shown once.
create table api_keys (
    id           uuid primary key,
    name         text not null constraint api_keys_name_length check (char_length(name) between 1 and 100),
    prefix       text not null,
    key_hash     bytea not null constraint api_keys_key_hash_key unique,
    user_id      uuid references users (id) on delete cascade,
    tenant_id    uuid references tenants (id) on delete cascade,
    role         text constraint api_keys_role_known check (role in ('owner', 'admin', 'developer', 'viewer')),
    created_by   uuid references users (id) on delete set null,
    expires_at   timestamptz,
    last_used_at timestamptz,
    revoked_at   timestamptz,
    created_at   timestamptz not null default now(),
    updated_at   timestamptz not null default now(),
    constraint api_keys_scope check (
        (user_id is not null and tenant_id is null and role is null)
        or (user_id is null and tenant_id is not null and role is not null))
);
create index api_keys_user_idx on api_keys (user_id, id);
create index api_keys_tenant_idx on api_keys (tenant_id, id);

-- quotas: one row per tenant, locked (select ... for update) by every create or growth so
-- concurrent requests can never together exceed a limit.
create table quotas (
    tenant_id       uuid primary key references tenants (id) on delete cascade,
    max_clusters    integer not null constraint quotas_max_clusters_range check (max_clusters >= 0),
    max_instances   integer not null constraint quotas_max_instances_range check (max_instances >= 0),
    max_cpu_millis  bigint  not null constraint quotas_max_cpu_millis_range check (max_cpu_millis >= 0),
    max_memory_mib  bigint  not null constraint quotas_max_memory_mib_range check (max_memory_mib >= 0),
    max_storage_gib bigint  not null constraint quotas_max_storage_gib_range check (max_storage_gib >= 0),
    created_at      timestamptz not null default now(),
    updated_at      timestamptz not null default now()
);

-- clusters: the desired state of one tenant cluster. The usage columns are derived from spec by
-- the domain when it is written, so quota sums need no JSON parsing.
create table clusters (
    id                  uuid primary key,
    tenant_id           uuid not null references tenants (id) on delete restrict,
    name                text not null,
    spec                jsonb not null,
    instances           integer not null constraint clusters_instances_range check (instances >= 0),
    cpu_millis          bigint not null constraint clusters_cpu_range check (cpu_millis >= 0),
    memory_mib          bigint not null constraint clusters_memory_range check (memory_mib >= 0),
    storage_gib         bigint not null constraint clusters_storage_range check (storage_gib >= 0),
    generation          bigint not null default 1,
    observed_generation bigint,
    phase               text not null default 'pending' constraint clusters_phase_known check (
        phase in ('pending', 'provisioning', 'ready', 'updating', 'degraded', 'suspended', 'deleting', 'failed')),
    status              jsonb not null default '{}',
    deleted_at          timestamptz,
    created_at          timestamptz not null default now(),
    updated_at          timestamptz not null default now(),
    constraint clusters_tenant_name_key unique (tenant_id, name)
);
create index clusters_tenant_idx on clusters (tenant_id, id);

-- operations: what clients poll, and at the same time the job workers claim
-- (FOR UPDATE SKIP LOCKED, a lease, attempt as the fencing token).
create table operations (
    id                uuid primary key,
    tenant_id         uuid not null references tenants (id) on delete cascade,
    cluster_id        uuid references clusters (id) on delete set null,
    kind              text not null,
    state             text not null default 'pending' constraint operations_state_known check (
        state in ('pending', 'running', 'succeeded', 'failed', 'cancelled')),
    step              text not null default 'queued',
    target_generation bigint,
    attempt           integer not null default 0,
    max_attempts      integer not null default 10,
    run_after         timestamptz not null default now(),
    lease_owner       text,
    lease_expires_at  timestamptz,
    deadline          timestamptz not null,
    error             text,
    created_by        uuid references users (id) on delete set null,
    created_at        timestamptz not null default now(),
    updated_at        timestamptz not null default now(),
    finished_at       timestamptz
);
-- one active operation per cluster, enforced by the database.
create unique index operations_one_active_per_cluster on operations (cluster_id)
    where state in ('pending', 'running');
create index operations_claimable_idx on operations (run_after) where state in ('pending', 'running');
create index operations_tenant_idx on operations (tenant_id, id);

-- audit_events: every mutation, allowed or refused. No foreign keys: the record outlives its subjects.
create table audit_events (
    id          uuid primary key,
    occurred_at timestamptz not null default now(),
    actor_type  text not null constraint audit_actor_type_known check (actor_type in ('user', 'api_key', 'anonymous', 'system')),
    actor_id    uuid,
    actor_label text,
    tenant_id   uuid,
    tenant_name text,
    action      text not null,
    target      text not null,
    request_id  text,
    outcome     text not null constraint audit_outcome_known check (outcome in ('allowed', 'denied', 'failed')),
    status_code integer not null
);
create index audit_events_tenant_idx on audit_events (tenant_id, id);

-- idempotency_keys: the first response to a write, replayed for the same key and body.
create table idempotency_keys (
    scope        bytea not null,
    key          text not null,
    request_hash bytea not null,
    status_code  integer,
    headers      jsonb,
    body         bytea,
    created_at   timestamptz not null default now(),
    primary key (scope, key)
);

-- login_throttle: failed password logins per account and per client address, shared by every replica.
create table login_throttle (
    key           text primary key,
    failures      integer not null default 0,
    window_start  timestamptz not null default now(),
    blocked_until timestamptz
);
