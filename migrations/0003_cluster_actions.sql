-- Day-2 actions: an operation that is not a change of the desired spec (rotating a password, and
-- the backups, restores and switchovers to come) carries its arguments with it, so a worker that
-- picks it up after a crash knows exactly what was asked.
alter table operations add column params jsonb;

alter table operations drop constraint operations_kind_known;
alter table operations add constraint operations_kind_known
    check (kind in ('create', 'update', 'delete', 'rotate_password'));
