//! Every place the metadata database keeps a sealed secret (see `crate::secrets`): the owner's
//! password of a cluster, its other roles' passwords, and stored idempotent responses (one may
//! carry a new API key). A new kind of secret adds its place here, so the start-up check and
//! key rotation cover it.
//!
//! Values from before encryption are plaintext (no `pgplane:v1:` prefix); pgplane seals them
//! at start. Replacements are compare-and-set: a value written meanwhile is left alone.

use sqlx::PgExecutor;

use super::StoreResult;

/// Where a secret is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    OwnerPassword,
    RolePassword,
    IdempotentResponse,
}

impl Place {
    pub const ALL: [Place; 3] = [
        Place::OwnerPassword,
        Place::RolePassword,
        Place::IdempotentResponse,
    ];

    pub fn describe(self) -> &'static str {
        match self {
            Place::OwnerPassword => "cluster owner passwords",
            Place::RolePassword => "cluster role passwords",
            Place::IdempotentResponse => "stored responses of idempotent requests",
        }
    }
}

/// A stored secret and what identifies its row.
#[derive(Debug, Clone)]
pub struct StoredSecret {
    pub place: Place,
    /// Cluster id, or the idempotency scope.
    pub owner: Vec<u8>,
    /// Role name or idempotency key; empty for an owner password.
    pub name: String,
    pub value: Vec<u8>,
}

/// How many secrets of one place are sealed under one key (`None`: still plaintext), with one
/// of them to try the key on.
#[derive(Debug, Clone)]
pub struct KeyUse {
    pub key_id: Option<String>,
    pub count: i64,
    pub sample: StoredSecret,
}

/// Per place: one row per key id (`None`: plaintext) as `(key id, owner, name, value, count)`.
const KEY_USES: [(Place, &str); 3] = [
    (
        Place::OwnerPassword,
        "select distinct on (key_id) key_id, uuid_send(id), '', convert_to(connection_password, 'UTF8'),
                count(*) over (partition by key_id)
         from (select case when connection_password like 'pgplane:v1:%'
                           then split_part(connection_password, ':', 3) end as key_id,
                      id, connection_password
               from clusters where connection_password is not null) s
         order by key_id, id",
    ),
    (
        Place::RolePassword,
        "select distinct on (key_id) key_id, uuid_send(id), role, convert_to(value, 'UTF8'),
                count(*) over (partition by key_id)
         from (select case when e.value like 'pgplane:v1:%' then split_part(e.value, ':', 3) end
                      as key_id, c.id, e.key as role, e.value
               from clusters c cross join lateral jsonb_each_text(c.role_passwords) e) s
         order by key_id, id, role",
    ),
    (
        Place::IdempotentResponse,
        "select distinct on (key_id) key_id, scope, key, body, count(*) over (partition by key_id)
         from (select case when substring(body from 1 for 11) = convert_to('pgplane:v1:', 'UTF8')
                           then split_part(encode(body, 'escape'), ':', 3) end as key_id,
                      scope, key, body
               from idempotency_keys where body is not null) s
         order by key_id, scope, key",
    ),
];

type KeyUseRow = (Option<String>, Vec<u8>, String, Vec<u8>, i64);

/// Which keys the stored secrets are sealed under, per place.
pub async fn key_uses(db: impl PgExecutor<'_> + Copy) -> StoreResult<Vec<KeyUse>> {
    let mut uses = Vec::new();
    for (place, query) in KEY_USES {
        let rows: Vec<KeyUseRow> = sqlx::query_as(query).fetch_all(db).await?;
        uses.extend(
            rows.into_iter()
                .map(|(key_id, owner, name, value, count)| KeyUse {
                    key_id,
                    count,
                    sample: StoredSecret {
                        place,
                        owner,
                        name,
                        value,
                    },
                }),
        );
    }
    Ok(uses)
}

/// Up to `limit` secrets of `place` whose value does not start with `prefix` (`pgplane:v1:`
/// finds plaintext; `pgplane:v1:<key id>:` also those under other keys), after `after` in
/// the place's order (`None`: from the start).
pub async fn not_starting_with(
    db: impl PgExecutor<'_>,
    place: Place,
    prefix: &str,
    after: Option<&StoredSecret>,
    limit: i64,
) -> StoreResult<Vec<StoredSecret>> {
    let (after_owner, after_name) = after
        .map(|s| (s.owner.clone(), s.name.clone()))
        .unwrap_or_default();
    let started = after.is_some();
    let rows: Vec<(Vec<u8>, String, Vec<u8>)> = match place {
        Place::OwnerPassword => {
            sqlx::query_as(
                "select uuid_send(id), '', convert_to(connection_password, 'UTF8') from clusters
                 where connection_password is not null and left(connection_password, length($1)) <> $1
                   and (not $2 or uuid_send(id) > $3)
                 order by uuid_send(id) limit $4",
            )
            .bind(prefix)
            .bind(started)
            .bind(&after_owner)
            .bind(limit)
            .fetch_all(db)
            .await?
        }
        Place::RolePassword => {
            sqlx::query_as(
                "select uuid_send(c.id), e.key, convert_to(e.value, 'UTF8')
                 from clusters c cross join lateral jsonb_each_text(c.role_passwords) e
                 where left(e.value, length($1)) <> $1
                   and (not $2 or (uuid_send(c.id), e.key) > ($3, $4))
                 order by uuid_send(c.id), e.key limit $5",
            )
            .bind(prefix)
            .bind(started)
            .bind(&after_owner)
            .bind(&after_name)
            .bind(limit)
            .fetch_all(db)
            .await?
        }
        Place::IdempotentResponse => {
            sqlx::query_as(
                "select scope, key, body from idempotency_keys
                 where body is not null
                   and substring(body from 1 for length($1)) <> convert_to($1, 'UTF8')
                   and (not $2 or (scope, key) > ($3, $4))
                 order by scope, key limit $5",
            )
            .bind(prefix)
            .bind(started)
            .bind(&after_owner)
            .bind(&after_name)
            .bind(limit)
            .fetch_all(db)
            .await?
        }
    };
    Ok(rows
        .into_iter()
        .map(|(owner, name, value)| StoredSecret {
            place,
            owner,
            name,
            value,
        })
        .collect())
}

/// Replaces `secret`'s value with `new` if it still holds the value read; whether it did.
pub async fn replace(
    db: impl PgExecutor<'_>,
    secret: &StoredSecret,
    new: &str,
) -> StoreResult<bool> {
    let result = match secret.place {
        Place::OwnerPassword => {
            sqlx::query(
                "update clusters set connection_password = $3
                 where uuid_send(id) = $1 and convert_to(connection_password, 'UTF8') = $2",
            )
            .bind(&secret.owner)
            .bind(&secret.value)
            .bind(new)
            .execute(db)
            .await?
        }
        Place::RolePassword => {
            sqlx::query(
                "update clusters set role_passwords = jsonb_set(role_passwords, array[$2], to_jsonb($4::text))
                 where uuid_send(id) = $1 and convert_to(role_passwords ->> $2, 'UTF8') = $3",
            )
            .bind(&secret.owner)
            .bind(&secret.name)
            .bind(&secret.value)
            .bind(new)
            .execute(db)
            .await?
        }
        Place::IdempotentResponse => {
            sqlx::query(
                "update idempotency_keys set body = convert_to($4, 'UTF8')
                 where scope = $1 and key = $2 and body = $3",
            )
            .bind(&secret.owner)
            .bind(&secret.name)
            .bind(&secret.value)
            .bind(new)
            .execute(db)
            .await?
        }
    };
    Ok(result.rows_affected() == 1)
}
