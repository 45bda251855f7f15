-- Portal sign-in sessions: the browser holds a random session id in an HttpOnly cookie; only
-- its SHA-256 is stored, so neither a dump nor a read of this table signs anyone in. Ending a
-- session (sign-out) revokes the row: the cookie stops working at once, on every replica.
create table sessions (
    id_hash        bytea primary key,
    user_id        uuid not null references users (id) on delete cascade,
    created_at     timestamptz not null default now(),
    last_seen_at   timestamptz not null default now(),
    expires_at     timestamptz not null,
    revoked_at     timestamptz,
    client_address text constraint sessions_client_address_length check (char_length(client_address) <= 100),
    user_agent     text constraint sessions_user_agent_length check (char_length(user_agent) <= 300)
);
create index sessions_user_idx on sessions (user_id);
create index sessions_expires_idx on sessions (expires_at);
