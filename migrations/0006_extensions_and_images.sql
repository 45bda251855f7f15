-- Enabling or disabling an extension, and a minor version upgrade (a newer approved image of
-- the same major), are operations too.
alter table operations drop constraint operations_kind_known;
alter table operations add constraint operations_kind_known
    check (kind in ('create', 'update', 'delete', 'rotate_password', 'backup', 'restore', 'switchover',
                    'upgrade', 'minor_upgrade', 'extension'));

-- The approved PostgreSQL image a cluster is pinned to (PGPLANE_POSTGRES_IMAGES); null: the
-- operator's default image for its major version.
alter table clusters add column postgres_image text;
