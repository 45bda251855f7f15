//! Single sign-on records: who a provider's subject is (`user_identities`), the group rules
//! platform admins keep (`group_rules`), and what those rules grant a user.

use chrono::{DateTime, Utc};
use sqlx::types::Json;
use sqlx::{PgConnection, PgExecutor, PgPool};
use uuid::Uuid;

use super::StoreResult;

/// The user of a provider's subject, and the groups recorded at their last sign-in.
pub async fn find(
    db: impl PgExecutor<'_>,
    provider: &str,
    subject: &str,
) -> StoreResult<Option<(Uuid, Vec<String>)>> {
    let row: Option<(Uuid, Json<Vec<String>>)> = sqlx::query_as(
        "select user_id, groups from user_identities where provider = $1 and subject = $2",
    )
    .bind(provider)
    .bind(subject)
    .fetch_optional(db)
    .await?;
    Ok(row.map(|(user, groups)| (user, groups.0)))
}

/// Links a provider's subject to a user (or records the groups of a new sign-in).
pub async fn record(
    db: impl PgExecutor<'_>,
    provider: &str,
    subject: &str,
    user_id: Uuid,
    groups: &[String],
) -> StoreResult<()> {
    sqlx::query(
        "insert into user_identities (provider, subject, user_id, groups) values ($1, $2, $3, $4)
         on conflict (provider, subject) do update set groups = $4, last_sign_in_at = now()",
    )
    .bind(provider)
    .bind(subject)
    .bind(user_id)
    .bind(Json(groups))
    .execute(db)
    .await?;
    Ok(())
}

/// A group rule.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct GroupRuleRow {
    pub id: Uuid,
    pub provider: String,
    pub group_name: String,
    pub platform_admin: bool,
    pub tenant_id: Option<Uuid>,
    pub tenant_name: Option<String>,
    pub role: Option<String>,
    pub created_at: DateTime<Utc>,
}

const RULE_COLUMNS: &str = "r.id, r.provider, r.group_name, r.platform_admin, r.tenant_id, \
                            t.name as tenant_name, r.role, r.created_at";

pub async fn list_rules(db: &PgPool) -> StoreResult<Vec<GroupRuleRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {RULE_COLUMNS} from group_rules r left join tenants t on t.id = r.tenant_id
         order by r.provider, r.group_name, t.name nulls first"
    )))
    .fetch_all(db)
    .await?)
}

/// What a new rule grants: platform admin, or `role` in `tenant_id`.
pub struct NewGroupRule<'a> {
    pub provider: &'a str,
    pub group_name: &'a str,
    pub platform_admin: bool,
    pub tenant_id: Option<Uuid>,
    pub role: Option<&'a str>,
}

pub async fn create_rule(db: &PgPool, rule: &NewGroupRule<'_>) -> StoreResult<GroupRuleRow> {
    let id = Uuid::now_v7();
    sqlx::query(
        "insert into group_rules (id, provider, group_name, platform_admin, tenant_id, role)
         values ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id)
    .bind(rule.provider)
    .bind(rule.group_name)
    .bind(rule.platform_admin)
    .bind(rule.tenant_id)
    .bind(rule.role)
    .execute(db)
    .await?;
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {RULE_COLUMNS} from group_rules r left join tenants t on t.id = r.tenant_id where r.id = $1"
    )))
    .bind(id)
    .fetch_one(db)
    .await?)
}

pub async fn delete_rule(db: &PgPool, id: Uuid) -> StoreResult<bool> {
    let done = sqlx::query("delete from group_rules where id = $1")
        .bind(id)
        .execute(db)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// What the rules of `provider` grant someone in `groups`: platform admin, and the highest
/// role per tenant (roles compare owner > admin > developer > viewer).
pub async fn grants(
    db: impl PgExecutor<'_>,
    provider: &str,
    groups: &[String],
) -> StoreResult<(bool, Vec<(Uuid, String)>)> {
    let rows: Vec<(bool, Option<Uuid>, Option<String>)> = sqlx::query_as(
        "select platform_admin, tenant_id, role from group_rules
         where provider = $1 and group_name = any($2)",
    )
    .bind(provider)
    .bind(groups)
    .fetch_all(db)
    .await?;
    let admin = rows.iter().any(|(admin, _, _)| *admin);
    let rank = |role: &str| {
        ["viewer", "developer", "admin", "owner"]
            .iter()
            .position(|r| *r == role)
    };
    let mut roles: std::collections::BTreeMap<Uuid, String> = Default::default();
    for (_, tenant, role) in rows {
        if let (Some(tenant), Some(role)) = (tenant, role) {
            let higher = roles
                .get(&tenant)
                .is_none_or(|held| rank(&role) > rank(held));
            if higher {
                roles.insert(tenant, role);
            }
        }
    }
    Ok((admin, roles.into_iter().collect()))
}

/// Makes what group rules granted `user_id` exactly `admin` and `roles`: grants what is new,
/// takes back what the groups no longer give, and leaves alone what was granted by hand (a
/// membership an admin made, a platform admin made so by hand).
pub async fn apply_grants(
    tx: &mut PgConnection,
    user_id: Uuid,
    admin: bool,
    roles: &[(Uuid, String)],
) -> StoreResult<()> {
    sqlx::query(
        "update users set
            is_platform_admin = case when $2 then true
                                     when platform_admin_by_groups then false
                                     else is_platform_admin end,
            platform_admin_by_groups = case when $2 then (platform_admin_by_groups or not is_platform_admin)
                                            else false end,
            updated_at = now()
         where id = $1",
    )
    .bind(user_id)
    .bind(admin)
    .execute(&mut *tx)
    .await?;
    let tenants: Vec<Uuid> = roles.iter().map(|(t, _)| *t).collect();
    let names: Vec<&str> = roles.iter().map(|(_, r)| r.as_str()).collect();
    sqlx::query(
        "delete from memberships where user_id = $1 and granted_by_groups
           and not (tenant_id = any($2))",
    )
    .bind(user_id)
    .bind(&tenants)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "insert into memberships (tenant_id, user_id, role, granted_by_groups)
         select t, $1, r, true from unnest($2::uuid[], $3::text[]) as g(t, r)
         on conflict (tenant_id, user_id) do update set role = excluded.role, updated_at = now()
           where memberships.granted_by_groups and memberships.role <> excluded.role",
    )
    .bind(user_id)
    .bind(&tenants)
    .bind(&names)
    .execute(&mut *tx)
    .await?;
    Ok(())
}
