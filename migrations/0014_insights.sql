-- The virtual DBA's snapshots: what each cluster's PostgreSQL said about itself, read by the
-- insights collector as its monitoring role. A failed collection is kept too (no data, the
-- reason), so a cluster that cannot be read says why. Retention: every snapshot for 7 days,
-- the first of each hour (`hourly`) for 30; the collector prunes a cluster's old ones when it
-- stores a new one.
create table insight_snapshots (
    id         uuid primary key,
    cluster_id uuid not null references clusters (id) on delete cascade,
    taken_at   timestamptz not null,
    hourly     boolean not null,
    error      text constraint insight_snapshots_error_length check (char_length(error) <= 2000),
    data       jsonb,
    bytes      integer not null default 0,
    constraint insight_snapshots_data_or_error check ((data is null) <> (error is null))
);
create index insight_snapshots_cluster_taken_idx on insight_snapshots (cluster_id, taken_at desc);

-- The clusters that have the monitoring role, which the collector scans for due ones (all
-- clusters on a platform where it is not created yet: none).
create index clusters_insights_idx on clusters (id) where role_passwords ? 'pgplane-monitor';

-- When each cluster is next due for collection. Claimed by moving `due_at` forward in one
-- statement (several replicas never collect the same cluster at once); a refresh sets it to now.
create table insight_schedule (
    cluster_id uuid primary key references clusters (id) on delete cascade,
    due_at     timestamptz not null
);

-- Each cluster's newest collection and what its findings came to, for /metrics and alerts:
-- when the collector last tried, why it failed (null: it succeeded), and the findings of the
-- last successful snapshot by severity.
create table insight_status (
    cluster_id   uuid primary key references clusters (id) on delete cascade,
    attempted_at timestamptz not null,
    error        text constraint insight_status_error_length check (char_length(error) <= 2000),
    critical     integer not null default 0,
    warning      integer not null default 0,
    info         integer not null default 0
);
