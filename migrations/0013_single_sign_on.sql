-- Single sign-on through OpenID Connect providers.
-- user_identities: who a provider's subject is here. A user is created on first sign-in (with a
-- random password nobody knows); the groups the provider said last are kept to see changes.
create table user_identities (
    provider        text not null,
    subject         text not null constraint user_identities_subject_length check (char_length(subject) <= 255),
    user_id         uuid not null references users (id) on delete cascade,
    groups          jsonb not null default '[]'::jsonb,
    created_at      timestamptz not null default now(),
    last_sign_in_at timestamptz not null default now(),
    primary key (provider, subject)
);
create index user_identities_user_idx on user_identities (user_id);

-- group_rules: a provider's group grants platform admin, or a role in one tenant. Platform admins
-- edit them through the API; every sign-in applies them.
create table group_rules (
    id             uuid primary key,
    provider       text not null,
    group_name     text not null constraint group_rules_group_length check (char_length(group_name) between 1 and 255),
    platform_admin boolean not null default false,
    tenant_id      uuid references tenants (id) on delete cascade,
    role           text constraint group_rules_role_known check (role in ('owner', 'admin', 'developer', 'viewer')),
    created_at     timestamptz not null default now(),
    constraint group_rules_grant check (
        (platform_admin and tenant_id is null and role is null)
        or (not platform_admin and tenant_id is not null and role is not null))
);
create unique index group_rules_unique on group_rules (provider, group_name, coalesce(tenant_id, '00000000-0000-0000-0000-000000000000'::uuid));

-- What group rules granted, so that a sign-in takes back what the groups no longer give and
-- leaves alone what an admin granted by hand.
alter table memberships add column granted_by_groups boolean not null default false;
alter table users add column platform_admin_by_groups boolean not null default false;
