-- Cluster lifecycle: what the operator reported, connection facts, and the operation (job) columns
-- the workers and the status sync need.

-- Connection facts read from the platform (endpoints, user, CA). The password is kept apart so
-- no query selects it by accident; the API returns it only with ?reveal=true.
alter table clusters add column connection jsonb not null default '{}';
alter table clusters add column connection_password text;

-- The cluster's name survives in its operations after the cluster row is gone.
alter table operations add column cluster_name text;
-- The desired state an update replaced, restored if the update is cancelled before it is applied.
alter table operations add column previous_spec jsonb;
-- What a running operation is waiting for, in words (shown to clients, and the failure reason
-- when the deadline passes).
alter table operations add column waiting_for text;
alter table operations add column applied_at timestamptz;
-- Consecutive transient failures; `attempt` only grows (it fences workers), this one resets
-- after every successful apply and is what the retry budget (max_attempts) counts.
alter table operations add column failures integer not null default 0;
alter table operations add constraint operations_kind_known check (kind in ('create', 'update', 'delete'));
alter table operations add constraint operations_step_known check (step in ('queued', 'applying', 'waiting', 'done'));
alter table operations add constraint operations_terminal_has_finish check (
    (state in ('succeeded', 'failed', 'cancelled')) = (finished_at is not null));
create index operations_cluster_idx on operations (cluster_id, id);
