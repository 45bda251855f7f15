-- Where an API key was last used from (the client address, as the login throttle reads it),
-- beside when: shown to its owner, and to platform admins reviewing keys nobody uses.
alter table api_keys add column last_used_from text
    constraint api_keys_last_used_from_length check (char_length(last_used_from) <= 100);
-- Keys unused for a while, across every owner (`GET /v1/api-keys?unused_days=`).
create index api_keys_unused_idx on api_keys (coalesce(last_used_at, created_at), id)
    where revoked_at is null;
