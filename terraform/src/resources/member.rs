//! `pgplane_member`: a user's membership of a tenant, with its role. The user is named by
//! email or id, and the state keeps the configuration's spelling of it.

use async_trait::async_trait;
use serde_json::{Value as Json, json};
use tf_provider::value::ValueAny;

use crate::client::seg;
use crate::engine::{Context, Diag, Failure, Managed, Read};
use crate::resources::tenant;
use crate::schema::{Attr, Mode, Spec};
use crate::values::{Obj, get, string};

/// The roles a member or a tenant key may hold, least first.
pub const ROLES: [&str; 4] = ["viewer", "developer", "admin", "owner"];

pub fn spec() -> Spec {
    use Mode::{Computed, Required};
    Spec {
        type_name: "pgplane_member",
        description: "A user's membership of a tenant and their role in it. Owners and admins manage members; only owners (and platform administrators) grant or take away `owner`, and pgplane refuses to remove or demote a tenant's last owner.",
        import_id: Some("<tenant>/<email or user id>"),
        attrs: vec![
            Attr::string("id", Computed, "`<tenant>/<user>`."),
            Attr::string("tenant", Required, "The tenant's name.").replace(),
            Attr::string(
                "user",
                Required,
                "The user's email or id (the user must exist in pgplane).",
            )
            .replace(),
            Attr::string(
                "role",
                Required,
                "`viewer`, `developer`, `admin` or `owner`.",
            ),
            Attr::string("user_id", Computed, "The user's id."),
            Attr::string("email", Computed, "The user's email."),
            Attr::string("name", Computed, "The user's name."),
        ],
    }
}

fn members_path(tenant: &str) -> String {
    format!("{}/members", tenant::path(tenant))
}

fn member_path(tenant: &str, user: &str) -> String {
    format!("{}/{}", members_path(tenant), seg(user))
}

/// Whether the member document (`MemberOut`) is `user`: its id (any spelling of the UUID) or
/// its email (compared without case, as pgplane stores them).
pub fn is_user(user: &str, member: &Json) -> bool {
    match user.parse::<uuid::Uuid>() {
        Ok(id) => {
            member["user_id"]
                .as_str()
                .and_then(|s| s.parse::<uuid::Uuid>().ok())
                == Some(id)
        }
        Err(_) => member["email"]
            .as_str()
            .is_some_and(|email| email.to_lowercase() == user.to_lowercase()),
    }
}

fn text(json: &Json) -> ValueAny {
    json.as_str()
        .map_or(ValueAny::Null, |s| ValueAny::String(s.to_string()))
}

/// The state for a member document, `user` spelled as the configuration has it.
pub fn state_from(tenant: &str, user: &str, member: &Json) -> Obj {
    let mut state = Obj::new();
    state.insert("id".into(), ValueAny::String(format!("{tenant}/{user}")));
    state.insert("tenant".into(), ValueAny::String(tenant.to_string()));
    state.insert("user".into(), ValueAny::String(user.to_string()));
    state.insert("role".into(), text(&member["role"]));
    state.insert("user_id".into(), text(&member["user_id"]));
    state.insert("email".into(), text(&member["email"]));
    state.insert("name".into(), text(&member["name"]));
    state
}

/// The `PUT .../members/{user}` body.
pub fn put_body(state: &Obj) -> Json {
    json!({"role": string(state, "role").unwrap_or_default()})
}

/// A diagnostic for a role that is not one of [`ROLES`], on `attribute`.
pub fn role_diag(config: &Obj, attribute: &str) -> Option<Diag> {
    match get(config, attribute) {
        ValueAny::String(role) if !ROLES.contains(&role.as_str()) => Some(
            Diag::error(
                "Invalid role",
                format!("`{role}`: use `viewer`, `developer`, `admin` or `owner`."),
            )
            .on(&[attribute]),
        ),
        _ => None,
    }
}

pub fn validate(config: &Obj) -> Vec<Diag> {
    let mut diags: Vec<Diag> = role_diag(config, "role").into_iter().collect();
    if let ValueAny::String(user) = get(config, "user")
        && (user.trim().is_empty() || user.contains('/'))
    {
        diags.push(
            Diag::error(
                "Invalid user",
                format!("`{user}`: name the user by email or id."),
            )
            .on(&["user"]),
        );
    }
    diags
}

/// `<tenant>/<user>`.
pub fn parse_import(id: &str) -> Result<(String, String), Diag> {
    match id.split_once('/') {
        Some((tenant, user))
            if tenant::is_dns_label(tenant) && !user.is_empty() && !user.contains('/') =>
        {
            Ok((tenant.to_string(), user.to_string()))
        }
        _ => Err(Diag::error(
            "Invalid import id",
            format!("`{id}`: use `<tenant>/<email or user id>`."),
        )),
    }
}

pub struct Member;

impl Member {
    async fn find(
        &self,
        context: &Context,
        tenant: &str,
        user: &str,
    ) -> Result<Option<Read>, Failure> {
        let member = context
            .api
            .find_listed(&members_path(tenant), |m| is_user(user, m))
            .await
            .map_err(|e| Failure::api(&spec(), "Reading the tenant's members failed", &e))?;
        Ok(member.map(|member| Read {
            state: state_from(tenant, user, &member),
            etag: None,
        }))
    }

    async fn put(&self, context: &Context, planned: &Obj) -> Result<Read, Failure> {
        let tenant = string(planned, "tenant").unwrap_or_default();
        let user = string(planned, "user").unwrap_or_default();
        let answer = context
            .api
            .put(&member_path(&tenant, &user), &put_body(planned))
            .await
            .map_err(|e| Failure::api(&spec(), "Setting the member's role failed", &e))?;
        Ok(Read {
            state: state_from(&tenant, &user, &answer.body),
            etag: None,
        })
    }
}

#[async_trait]
impl Managed for Member {
    fn spec(&self) -> Spec {
        spec()
    }

    fn validate(&self, config: &Obj) -> Vec<Diag> {
        validate(config)
    }

    fn plan(&self, _context: &Context, planned: &mut Obj) {
        if let (Some(tenant), Some(user)) = (string(planned, "tenant"), string(planned, "user")) {
            planned.insert("id".into(), ValueAny::String(format!("{tenant}/{user}")));
        }
    }

    async fn read(&self, context: &Context, state: &Obj) -> Result<Option<Read>, Failure> {
        let tenant = string(state, "tenant").unwrap_or_default();
        let user = string(state, "user").unwrap_or_default();
        self.find(context, &tenant, &user).await
    }

    async fn create(
        &self,
        context: &Context,
        planned: &Obj,
        _private: &Obj,
    ) -> Result<Read, Failure> {
        let tenant = string(planned, "tenant").unwrap_or_default();
        let user = string(planned, "user").unwrap_or_default();
        if self.find(context, &tenant, &user).await?.is_some() {
            return Err(Diag::error(
                "The user is already a member",
                format!("Bring the membership under Terraform with `terraform import` (id `{tenant}/{user}`)."),
            )
            .on(&["user"])
            .into());
        }
        self.put(context, planned).await
    }

    async fn update(
        &self,
        context: &Context,
        _prior: &Obj,
        planned: &Obj,
        _private: &Obj,
    ) -> Result<Read, Failure> {
        self.put(context, planned).await
    }

    async fn delete(&self, context: &Context, state: &Obj) -> Result<(), Failure> {
        let tenant = string(state, "tenant").unwrap_or_default();
        let user = string(state, "user").unwrap_or_default();
        match context.api.delete(&member_path(&tenant, &user)).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_not_found() => Ok(()),
            Err(e) => Err(Failure::api(&spec(), "Removing the member failed", &e)),
        }
    }

    fn import(&self, _context: &Context, id: &str) -> Result<Obj, Diag> {
        let (tenant, user) = parse_import(id)?;
        let mut state = Obj::new();
        state.insert("id".into(), ValueAny::String(id.to_string()));
        state.insert("tenant".into(), ValueAny::String(tenant));
        state.insert("user".into(), ValueAny::String(user));
        Ok(state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake;

    const DBA_ID: &str = "0191d3c2-6f1e-7c3a-9b1a-2f6c1d0e4a22";

    /// A `MemberOut` as the OpenAPI schema describes it.
    fn document(email: &str, id: &str) -> Json {
        json!({
            "user_id": id,
            "email": email,
            "name": "Dee Bea",
            "role": "developer",
            "created_at": "2025-01-02T03:04:05Z",
            "updated_at": "2025-01-02T03:04:05Z"
        })
    }

    fn obj_of(pairs: &[(&str, &str)]) -> Obj {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), ValueAny::String(v.to_string())))
            .collect()
    }

    #[test]
    fn a_member_is_found_by_email_in_any_case_or_by_id_in_any_spelling() {
        let member = document("dba@acme.example.com", DBA_ID);
        assert!(is_user("dba@acme.example.com", &member));
        assert!(is_user("DBA@Acme.example.com", &member));
        assert!(is_user(DBA_ID, &member));
        assert!(is_user(&DBA_ID.to_uppercase(), &member));
        assert!(is_user(&DBA_ID.replace('-', ""), &member));
        assert!(!is_user("other@acme.example.com", &member));
        assert!(!is_user("0191d3c2-6f1e-7c3a-9b1a-2f6c1d0e4a23", &member));
    }

    #[test]
    fn the_state_keeps_the_configurations_spelling_of_the_user() {
        let member = document("dba@acme.example.com", DBA_ID);
        let state = state_from("acme", "DBA@acme.example.com", &member);
        let s = |v: &str| ValueAny::String(v.into());
        assert_eq!(state["id"], s("acme/DBA@acme.example.com"));
        assert_eq!(state["user"], s("DBA@acme.example.com"));
        assert_eq!(state["email"], s("dba@acme.example.com"));
        assert_eq!(state["user_id"], s(DBA_ID));
        assert_eq!(state["role"], s("developer"));
        assert_eq!(state["name"], s("Dee Bea"));
        let by_id = state_from("acme", DBA_ID, &member);
        assert_eq!(by_id["user"], s(DBA_ID));
    }

    #[test]
    fn the_body_is_the_role() {
        let state = obj_of(&[("tenant", "acme"), ("user", "x@y.z"), ("role", "admin")]);
        assert_eq!(put_body(&state), json!({"role": "admin"}));
        assert_eq!(
            member_path("acme", "x@y.z"),
            "/v1/tenants/acme/members/x@y.z"
        );
    }

    #[test]
    fn roles_and_users_are_checked_at_plan() {
        let ok = obj_of(&[("user", "x@y.z"), ("role", "owner")]);
        assert!(validate(&ok).is_empty());
        let bad = obj_of(&[("user", "a/b"), ("role", "superuser")]);
        let paths: Vec<Vec<String>> = validate(&bad).into_iter().map(|d| d.path).collect();
        assert_eq!(paths, vec![vec!["role"], vec!["user"]]);
    }

    #[test]
    fn import_ids_are_tenant_slash_user() {
        assert_eq!(
            parse_import("acme/dba@acme.example.com").expect("valid"),
            ("acme".to_string(), "dba@acme.example.com".to_string())
        );
        assert_eq!(
            parse_import(&format!("acme/{DBA_ID}")).expect("valid"),
            ("acme".to_string(), DBA_ID.to_string())
        );
        for bad in ["acme", "acme/", "/x@y.z", "acme/x/y", "Acme/x@y.z"] {
            assert!(parse_import(bad).is_err(), "{bad}");
        }
    }

    #[tokio::test]
    async fn reading_follows_the_pages_until_the_member_and_keeps_the_users_spelling() {
        let server = fake::serve(|_, target, _| match target {
            "/v1/tenants/acme/members?page_size=500" => (
                200,
                json!({"items": [document("a@acme.example.com", "0191d3c2-6f1e-7c3a-9b1a-2f6c1d0e4a01")], "next_page_token": "djE6YQ"}),
            ),
            "/v1/tenants/acme/members?page_size=500&page_token=djE6YQ" => (
                200,
                json!({"items": [document("dba@acme.example.com", DBA_ID)]}),
            ),
            _ => (404, json!({"title": "Not Found"})),
        })
        .await;
        let context = fake::context(&server.url, None);
        let state = obj_of(&[("tenant", "acme"), ("user", "DBA@acme.example.com")]);
        let read = Member
            .read(&context, &state)
            .await
            .expect("read")
            .expect("found on page two");
        assert_eq!(
            read.state["user"],
            ValueAny::String("DBA@acme.example.com".into())
        );
        assert_eq!(read.state["user_id"], ValueAny::String(DBA_ID.into()));
        let absent = obj_of(&[("tenant", "acme"), ("user", "nobody@acme.example.com")]);
        assert!(
            Member
                .read(&context, &absent)
                .await
                .expect("read")
                .is_none()
        );
        let gone = obj_of(&[("tenant", "gone"), ("user", "x@y.z")]);
        assert!(
            Member.read(&context, &gone).await.expect("read").is_none(),
            "a deleted tenant has no members"
        );
    }

    #[tokio::test]
    async fn an_existing_membership_is_not_taken_over_by_a_create() {
        let server = fake::serve(|method, _, _| match method {
            "GET" => (
                200,
                json!({"items": [document("dba@acme.example.com", DBA_ID)]}),
            ),
            _ => (200, document("dba@acme.example.com", DBA_ID)),
        })
        .await;
        let context = fake::context(&server.url, None);
        let planned = obj_of(&[
            ("tenant", "acme"),
            ("user", "dba@acme.example.com"),
            ("role", "admin"),
        ]);
        let failure = Member
            .create(&context, &planned, &Obj::new())
            .await
            .err()
            .expect("refused");
        assert!(failure.diags[0].detail.contains("terraform import"));
        assert!(
            server.calls().iter().all(|c| c.starts_with("GET ")),
            "nothing was changed: {:?}",
            server.calls()
        );
    }
}
