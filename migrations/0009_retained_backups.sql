-- Backups a deleted cluster left behind (`deletion_policy: keep_backups`), recorded when its
-- row goes. While one is retained, no new cluster of the tenant may take the dead cluster's
-- name: PGO would adopt the kept repository (it finds it by name), pgBackRest would refuse to
-- write to another cluster's stanza, and the retention expiry could delete the new cluster's
-- backups. The API answers 409 naming the retained backups instead.
create table retained_backups (
    -- the id of the deleted cluster (retained volumes carry it as a label)
    cluster_id     uuid primary key,
    tenant_id      uuid not null references tenants (id) on delete restrict,
    cluster_name   text not null,
    site           text not null constraint retained_backups_site_known check (site in ('home', 'recovery')),
    deleted_at     timestamptz not null default now(),
    retained_until timestamptz not null
);
create index retained_backups_name_idx on retained_backups (tenant_id, cluster_name, retained_until);

-- How long backups are kept, recorded on the delete operation when it is requested (the
-- operation's own record of what the tenant was told).
alter table operations add column keep_backups_days integer
    constraint operations_keep_backups_days_range check (keep_backups_days is null or keep_backups_days >= 0);

-- Tenants that were deleted, by name: a new tenant of the same name adopts the namespaces the
-- platform kept for them (Kubernetes labels them with the old tenant's id), and nothing else.
create table deleted_tenants (
    id         uuid primary key,
    name       text not null,
    deleted_at timestamptz not null default now()
);
create index deleted_tenants_name_idx on deleted_tenants (name);

-- The first full backup PGO takes by itself once a cluster's stanza exists (its "replica
-- create" backup, `status.pgbackrest.repos[].replicaCreateBackupComplete`): recorded by the
-- status sync so a young cluster has a recoverable window before its first scheduled backup.
alter table backups drop constraint backups_origin_known;
alter table backups add constraint backups_origin_known
    check (origin in ('manual', 'scheduled', 'initial'));
