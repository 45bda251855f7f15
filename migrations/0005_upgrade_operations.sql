-- Major version upgrades are operations too (PGO's PGUpgrade flow).
alter table operations drop constraint operations_kind_known;
alter table operations add constraint operations_kind_known
    check (kind in ('create', 'update', 'delete', 'rotate_password', 'backup', 'restore', 'switchover', 'upgrade'));
