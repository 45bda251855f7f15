-- Backups pgplane knows of: the ones it asked for (operation_id set) and the scheduled ones the
-- operator reported finishing. They give each cluster its last good backup, its recoverable
-- window and the `overdue` flag.
create table backups (
    id uuid primary key,
    tenant_id uuid not null references tenants (id) on delete cascade,
    cluster_id uuid not null references clusters (id) on delete cascade,
    operation_id uuid references operations (id) on delete set null,
    -- What the platform calls it (PGO: the manual backup id or the scheduled Job's name), so a
    -- report seen twice is recorded once.
    platform_ref text not null,
    origin text not null constraint backups_origin_known check (origin in ('manual', 'scheduled')),
    type text not null constraint backups_type_known check (type in ('full', 'differential', 'incremental')),
    state text not null constraint backups_state_known check (state in ('running', 'succeeded', 'failed')),
    started_at timestamptz,
    finished_at timestamptz,
    error text,
    created_at timestamptz not null default now(),
    constraint backups_cluster_ref_key unique (cluster_id, platform_ref)
);
create index backups_cluster_finished_idx on backups (cluster_id, finished_at desc);

alter table operations drop constraint operations_kind_known;
alter table operations add constraint operations_kind_known
    check (kind in ('create', 'update', 'delete', 'rotate_password', 'backup', 'restore', 'switchover'));
