-- Promoting a standby cluster to a writable primary is an operation.
alter table operations drop constraint operations_kind_known;
alter table operations add constraint operations_kind_known
    check (kind in ('create', 'update', 'delete', 'rotate_password', 'backup', 'restore', 'switchover',
                    'upgrade', 'minor_upgrade', 'extension', 'promote'));

-- Whether the cluster runs with certificates from its tenant's own CA (on Kubernetes: PGO's
-- customTLSSecret and customReplicationTLSSecret). A streaming standby and its source need
-- them: the standby authenticates to the source with a replication certificate the source's
-- CA must have signed. Set when a standby of the cluster, or the standby itself, is created.
alter table clusters add column tenant_certificates boolean not null default false;
