-- The passwords of a cluster's extra roles (`spec.users` after the owner), by role name, as
-- the status sync read them from the platform (PGO's `<cluster>-pguser-<role>` Secrets). They
-- are revealed, audited, by `GET .../connection?role=<role>&reveal=true`, so a request never
-- reads the platform. Kept like `connection_password`: the metadata database is the
-- service's secret store. A dropped role's entry stays until the role is created again (its
-- password is then replaced); the API reveals only roles the spec still has.
alter table clusters add column role_passwords jsonb not null default '{}'::jsonb;
