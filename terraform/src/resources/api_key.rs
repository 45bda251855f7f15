//! `pgplane_api_key`: a tenant service key (with `tenant`) or a personal key of the caller
//! (without). pgplane shows the key once, in the create's answer: the state keeps it from then
//! on. Keys cannot be edited, so every change makes a new key; destroying one revokes it.

use async_trait::async_trait;
use serde_json::{Map, Value as Json, json};
use tf_provider::value::ValueAny;

use crate::client::seg;
use crate::engine::{Context, Diag, Failure, Managed, Read};
use crate::resources::member::role_diag;
use crate::resources::tenant;
use crate::schema::{Attr, Mode, Spec};
use crate::values::{Obj, get, string};

pub fn spec() -> Spec {
    use Mode::{Computed, Optional, Required};
    Spec {
        type_name: "pgplane_api_key",
        description: "An API key: a tenant service key holding one role in one tenant (with `tenant`), or a personal key acting as the caller (without). The key is known only after the create; after an import it is null. Destroying the resource revokes the key; a key revoked outside Terraform is created again.",
        import_id: Some("<tenant>/<id>, or <id> for a personal key"),
        attrs: vec![
            Attr::string("id", Computed, "The key's id."),
            Attr::string("name", Required, "What the key is for, e.g. `terraform-ci`: 1-100 characters, not blank.").replace(),
            Attr::string("tenant", Optional, "The tenant of a service key; left out, the key is a personal key of the caller.").replace(),
            Attr::string("role", Optional, "Role of a tenant key (required with `tenant`, not allowed without): `viewer`, `developer`, `admin` or `owner`, at most the caller's own.").replace(),
            Attr::string("expires_at", Optional, "RFC 3339 time at which the key stops working; never when left out.").replace(),
            Attr::string("key", Computed, "The secret key, known after the create only.").sensitive(),
            Attr::string("prefix", Computed, "The key's first characters, to recognise it."),
            Attr::string("created_at", Computed, "RFC 3339."),
        ],
    }
}

/// Where the keys of `tenant` (or the caller's personal keys) are.
pub fn collection(tenant: Option<&str>) -> String {
    match tenant {
        Some(tenant) => format!("{}/api-keys", tenant::path(tenant)),
        None => "/v1/me/api-keys".into(),
    }
}

fn text(json: &Json) -> ValueAny {
    json.as_str()
        .map_or(ValueAny::Null, |s| ValueAny::String(s.to_string()))
}

/// Seconds and nanoseconds since the Unix epoch of an RFC 3339 timestamp
/// (`2030-01-01T00:00:00Z`, `2030-01-01T01:00:00.5+01:00`).
pub fn instant(text: &str) -> Option<(i64, u32)> {
    let number = |from: usize, to: usize| -> Option<i64> {
        let digits = text.get(from..to)?;
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.parse().ok()
    };
    let at =
        |i: usize, expected: &[u8]| text.as_bytes().get(i).is_some_and(|b| expected.contains(b));
    if !(at(4, b"-") && at(7, b"-") && at(10, b"Tt ") && at(13, b":") && at(16, b":")) {
        return None;
    }
    let (year, month, day) = (number(0, 4)?, number(5, 7)?, number(8, 10)?);
    let (hour, minute, second) = (number(11, 13)?, number(14, 16)?, number(17, 19)?);
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    if !(1..=days_in_month).contains(&day) || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let mut rest = text.get(19..)?;
    let mut nanos = 0u32;
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        for position in 0..9 {
            let digit = fraction
                .as_bytes()
                .get(position)
                .filter(|_| position < digits);
            nanos = nanos * 10 + digit.map_or(0, |b| u32::from(b - b'0'));
        }
        rest = &fraction[digits..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes().first() {
                Some(b'+') => 1,
                Some(b'-') => -1,
                _ => return None,
            };
            let zone = &rest[1..];
            let (hours, minutes) = zone.split_once(':')?;
            if hours.len() != 2 || minutes.len() != 2 {
                return None;
            }
            let (hours, minutes): (i64, i64) = (hours.parse().ok()?, minutes.parse().ok()?);
            if hours > 23 || minutes > 59 {
                return None;
            }
            sign * (hours * 3600 + minutes * 60)
        }
    };
    // Days since 1970-01-01 of the civil date (Howard Hinnant's `days_from_civil`).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    let days = era * 146_097 + day_of_era - 719_468;
    Some((
        days * 86_400 + hour * 3600 + minute * 60 + second - offset,
        nanos,
    ))
}

/// The state for a key document (`ApiKeyOut`, or `ApiKeyCreatedOut` with its `key`) of
/// `tenant`; `None` for a revoked key. What the API does not send again (`key`) and what it
/// spells its own way (a trimmed name, a timestamp in UTC) keep `prior`'s values.
pub fn state_from(tenant: Option<&str>, key: &Json, prior: &Obj) -> Option<Obj> {
    if !key["revoked_at"].is_null() {
        return None;
    }
    let mut state = Obj::new();
    state.insert("id".into(), text(&key["id"]));
    let name = match (get(prior, "name"), key["name"].as_str()) {
        (ValueAny::String(old), Some(new)) if old.trim() == new => ValueAny::String(old.clone()),
        _ => text(&key["name"]),
    };
    state.insert("name".into(), name);
    state.insert(
        "tenant".into(),
        tenant.map_or(ValueAny::Null, |t| ValueAny::String(t.to_string())),
    );
    state.insert("role".into(), text(&key["role"]));
    let expires_at = match (get(prior, "expires_at"), key["expires_at"].as_str()) {
        (ValueAny::String(old), Some(new))
            if instant(old).is_some() && instant(old) == instant(new) =>
        {
            ValueAny::String(old.clone())
        }
        _ => text(&key["expires_at"]),
    };
    state.insert("expires_at".into(), expires_at);
    let secret = match &key["key"] {
        Json::String(secret) => ValueAny::String(secret.clone()),
        _ => match get(prior, "key") {
            ValueAny::Unknown => ValueAny::Null,
            other => other.clone(),
        },
    };
    state.insert("key".into(), secret);
    state.insert("prefix".into(), text(&key["prefix"]));
    state.insert("created_at".into(), text(&key["created_at"]));
    Some(state)
}

/// The create's body.
pub fn create_body(planned: &Obj) -> Json {
    let mut body = Map::new();
    body.insert(
        "name".into(),
        json!(string(planned, "name").unwrap_or_default()),
    );
    for field in ["role", "expires_at"] {
        if let ValueAny::String(value) = get(planned, field) {
            body.insert(field.into(), json!(value));
        }
    }
    Json::Object(body)
}

pub fn validate(config: &Obj) -> Vec<Diag> {
    let mut diags = Vec::new();
    if let ValueAny::String(name) = get(config, "name")
        && (name.trim().is_empty() || name.chars().count() > 100)
    {
        diags.push(
            Diag::error(
                "Invalid key name",
                format!("`{name}` must be 1-100 characters, not blank."),
            )
            .on(&["name"]),
        );
    }
    diags.extend(role_diag(config, "role"));
    match (get(config, "tenant"), get(config, "role")) {
        (ValueAny::Null, ValueAny::String(_)) => diags.push(
            Diag::error(
                "A personal key has no role",
                "Personal keys act as their user. Set `tenant` for a service key with this role, or leave `role` out.",
            )
            .on(&["role"]),
        ),
        (ValueAny::String(_), ValueAny::Null) => diags.push(
            Diag::error(
                "A tenant key needs a role",
                "Set `role` (`viewer`, `developer`, `admin` or `owner`).",
            )
            .on(&["role"]),
        ),
        _ => {}
    }
    if let ValueAny::String(tenant) = get(config, "tenant")
        && !tenant::is_dns_label(tenant)
    {
        diags.push(
            Diag::error(
                "Invalid tenant name",
                format!("`{tenant}` is not a tenant name (a DNS-1123 label)."),
            )
            .on(&["tenant"]),
        );
    }
    if let ValueAny::String(expires_at) = get(config, "expires_at")
        && instant(expires_at).is_none()
    {
        diags.push(
            Diag::error(
                "Invalid expiry",
                format!("`{expires_at}` is not an RFC 3339 time such as `2030-01-01T00:00:00Z`."),
            )
            .on(&["expires_at"]),
        );
    }
    diags
}

/// `<tenant>/<id>` or `<id>`: the tenant (none for a personal key) and the key's id.
pub fn parse_import(id: &str) -> Result<(Option<String>, String), Diag> {
    let invalid = || {
        Diag::error(
            "Invalid import id",
            format!(
                "`{id}`: use `<tenant>/<key id>` for a tenant key, `<key id>` for a personal key."
            ),
        )
    };
    let (tenant, key) = match id.split_once('/') {
        Some((tenant, key)) if tenant::is_dns_label(tenant) => (Some(tenant.to_string()), key),
        Some(_) => return Err(invalid()),
        None => (None, id),
    };
    let key = key.parse::<uuid::Uuid>().map_err(|_| invalid())?;
    Ok((tenant, key.to_string()))
}

pub struct ApiKey;

#[async_trait]
impl Managed for ApiKey {
    fn spec(&self) -> Spec {
        spec()
    }

    fn validate(&self, config: &Obj) -> Vec<Diag> {
        validate(config)
    }

    async fn read(&self, context: &Context, state: &Obj) -> Result<Option<Read>, Failure> {
        let tenant = string(state, "tenant");
        let id = string(state, "id").unwrap_or_default();
        let Ok(id) = id.parse::<uuid::Uuid>() else {
            return Ok(None);
        };
        let found = context
            .api
            .find_listed(&collection(tenant.as_deref()), |key| {
                key["id"]
                    .as_str()
                    .and_then(|k| k.parse::<uuid::Uuid>().ok())
                    == Some(id)
            })
            .await
            .map_err(|e| Failure::api(&spec(), "Reading the API keys failed", &e))?;
        Ok(found
            .and_then(|key| state_from(tenant.as_deref(), &key, state))
            .map(|state| Read { state, etag: None }))
    }

    async fn create(
        &self,
        context: &Context,
        planned: &Obj,
        _private: &Obj,
    ) -> Result<Read, Failure> {
        let tenant = string(planned, "tenant");
        let answer = context
            .api
            .post(&collection(tenant.as_deref()), &create_body(planned), &[])
            .await
            .map_err(|e| Failure::api(&spec(), "Creating the API key failed", &e))?;
        let state = state_from(tenant.as_deref(), &answer.body, planned).ok_or_else(|| {
            Diag::error(
                "The new key is revoked",
                "pgplane answered the create with a revoked key.",
            )
        })?;
        Ok(Read { state, etag: None })
    }

    async fn update(
        &self,
        _context: &Context,
        _prior: &Obj,
        _planned: &Obj,
        _private: &Obj,
    ) -> Result<Read, Failure> {
        // Every configurable attribute replaces the key: there is nothing to change in place.
        Err(Diag::error(
            "API keys cannot be changed",
            "Every change to an API key creates a new one; this is a bug in the provider.",
        )
        .into())
    }

    async fn delete(&self, context: &Context, state: &Obj) -> Result<(), Failure> {
        let tenant = string(state, "tenant");
        let id = string(state, "id").unwrap_or_default();
        let url = format!("{}/{}", collection(tenant.as_deref()), seg(&id));
        match context.api.delete(&url).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_not_found() => Ok(()),
            Err(e) => Err(Failure::api(&spec(), "Revoking the API key failed", &e)),
        }
    }

    fn import(&self, _context: &Context, id: &str) -> Result<Obj, Diag> {
        let (tenant, key) = parse_import(id)?;
        let mut state = Obj::new();
        state.insert("id".into(), ValueAny::String(key));
        if let Some(tenant) = tenant {
            state.insert("tenant".into(), ValueAny::String(tenant));
        }
        Ok(state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake;

    const ID: &str = "0191d3c2-6f1e-7c3a-9b1a-2f6c1d0e4a33";

    /// An `ApiKeyOut` of a tenant key as the OpenAPI schema describes it.
    fn document() -> Json {
        json!({
            "id": ID,
            "name": "ci",
            "kind": "tenant",
            "prefix": "pgp_3f9a",
            "tenant_id": "0191d3c2-6f1e-7c3a-9b1a-2f6c1d0e4a11",
            "role": "viewer",
            "created_by": null,
            "expires_at": "2030-01-01T00:00:00Z",
            "last_used_at": null,
            "revoked_at": null,
            "created_at": "2025-01-02T03:04:05.123456Z",
            "updated_at": "2025-01-02T03:04:05.123456Z"
        })
    }

    fn obj_of(pairs: &[(&str, &str)]) -> Obj {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), ValueAny::String(v.to_string())))
            .collect()
    }

    fn s(value: &str) -> ValueAny {
        ValueAny::String(value.into())
    }

    #[test]
    fn the_created_key_is_kept_and_a_later_read_keeps_it() {
        let mut created = document();
        created["key"] = json!("pgp_3f9a_secret");
        let planned = obj_of(&[("name", "ci"), ("tenant", "acme"), ("role", "viewer")]);
        let state = state_from(Some("acme"), &created, &planned).expect("live key");
        assert_eq!(state["key"], s("pgp_3f9a_secret"));
        assert_eq!(state["id"], s(ID));
        assert_eq!(state["tenant"], s("acme"));
        assert_eq!(state["role"], s("viewer"));
        assert_eq!(state["prefix"], s("pgp_3f9a"));
        assert_eq!(state["created_at"], s("2025-01-02T03:04:05.123456Z"));
        let read = state_from(Some("acme"), &document(), &state).expect("live key");
        assert_eq!(read["key"], s("pgp_3f9a_secret"), "the list never has it");
        let imported =
            state_from(Some("acme"), &document(), &obj_of(&[("id", ID)])).expect("live key");
        assert_eq!(imported["key"], ValueAny::Null);
    }

    #[test]
    fn a_personal_key_has_no_tenant_and_no_role() {
        let mut personal = document();
        let object = personal.as_object_mut().expect("object");
        object.remove("role");
        object.remove("tenant_id");
        object.insert("kind".into(), json!("personal"));
        let state = state_from(None, &personal, &Obj::new()).expect("live key");
        assert_eq!(state["tenant"], ValueAny::Null);
        assert_eq!(state["role"], ValueAny::Null);
    }

    #[test]
    fn a_revoked_key_is_gone() {
        let mut revoked = document();
        revoked["revoked_at"] = json!("2025-02-01T00:00:00Z");
        assert!(state_from(Some("acme"), &revoked, &Obj::new()).is_none());
    }

    #[test]
    fn the_expiry_and_name_keep_the_configurations_spelling() {
        let prior = obj_of(&[
            ("name", "ci "),
            ("expires_at", "2030-01-01T01:00:00.000+01:00"),
        ]);
        let state = state_from(Some("acme"), &document(), &prior).expect("live key");
        assert_eq!(state["expires_at"], s("2030-01-01T01:00:00.000+01:00"));
        assert_eq!(state["name"], s("ci "));
        let prior = obj_of(&[("name", "cd"), ("expires_at", "2031-01-01T00:00:00Z")]);
        let state = state_from(Some("acme"), &document(), &prior).expect("live key");
        assert_eq!(
            state["expires_at"],
            s("2030-01-01T00:00:00Z"),
            "drift shows"
        );
        assert_eq!(state["name"], s("ci"), "drift shows");
    }

    #[test]
    fn timestamps_compare_as_instants() {
        assert_eq!(instant("1970-01-01T00:00:00Z"), Some((0, 0)));
        assert_eq!(instant("2000-03-01T00:00:00Z"), Some((951_868_800, 0)));
        assert_eq!(instant("1969-12-31T23:59:59Z"), Some((-1, 0)));
        assert_eq!(
            instant("2030-01-01T00:00:00Z"),
            instant("2029-12-31T19:30:00-04:30")
        );
        assert_eq!(
            instant("2030-01-01T00:00:00.5Z"),
            instant("2030-01-01t00:00:00.500000+00:00")
        );
        assert_eq!(
            instant("2030-01-01T00:00:00.123456789Z").map(|i| i.1),
            Some(123_456_789)
        );
        assert_ne!(
            instant("2030-01-01T00:00:00Z"),
            instant("2030-01-01T00:00:01Z")
        );
        assert_ne!(
            instant("2030-01-01T00:00:00Z"),
            instant("2030-01-01T00:00:00.1Z")
        );
        for bad in [
            "2030-01-01",
            "2030-01-01T00:00:00",
            "2030-02-30T00:00:00Z",
            "2030-01-01T24:00:00Z",
            "2030-01-01T00:00:00.Z",
            "2030-01-01T00:00:00+0100",
            "tomorrow",
        ] {
            assert_eq!(instant(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_create_body_has_what_is_configured() {
        let tenant_key = obj_of(&[
            ("name", "ci"),
            ("tenant", "acme"),
            ("role", "viewer"),
            ("expires_at", "2030-01-01T00:00:00Z"),
        ]);
        assert_eq!(
            create_body(&tenant_key),
            json!({"name": "ci", "role": "viewer", "expires_at": "2030-01-01T00:00:00Z"})
        );
        let personal = obj_of(&[("name", "laptop")]);
        assert_eq!(create_body(&personal), json!({"name": "laptop"}));
        assert_eq!(collection(Some("acme")), "/v1/tenants/acme/api-keys");
        assert_eq!(collection(None), "/v1/me/api-keys");
    }

    #[test]
    fn what_pgplane_would_refuse_is_refused_at_plan() {
        let ok = obj_of(&[("name", "ci"), ("tenant", "acme"), ("role", "viewer")]);
        assert!(validate(&ok).is_empty());
        let mut unknown_tenant = obj_of(&[("name", "ci"), ("role", "viewer")]);
        unknown_tenant.insert("tenant".into(), ValueAny::Unknown);
        assert!(validate(&unknown_tenant).is_empty(), "known at apply");
        let paths = |config: &Obj| -> Vec<Vec<String>> {
            validate(config).into_iter().map(|d| d.path).collect()
        };
        assert_eq!(paths(&obj_of(&[("name", " ")])), vec![vec!["name"]]);
        assert_eq!(
            paths(&obj_of(&[("name", &"k".repeat(101))])),
            vec![vec!["name"]]
        );
        assert!(paths(&obj_of(&[("name", &"ü".repeat(100))])).is_empty());
        assert_eq!(
            paths(&obj_of(&[("name", "ci"), ("role", "viewer")])),
            vec![vec!["role"]],
            "a personal key with a role"
        );
        assert_eq!(
            paths(&obj_of(&[("name", "ci"), ("tenant", "acme")])),
            vec![vec!["role"]],
            "a tenant key without one"
        );
        assert_eq!(
            paths(&obj_of(&[
                ("name", "ci"),
                ("tenant", "acme"),
                ("role", "root")
            ])),
            vec![vec!["role"]]
        );
        assert_eq!(
            paths(&obj_of(&[("name", "ci"), ("expires_at", "next year")])),
            vec![vec!["expires_at"]]
        );
    }

    #[test]
    fn every_configurable_attribute_replaces_the_key() {
        for attr in spec().attrs {
            assert_eq!(
                attr.replace,
                attr.mode != Mode::Computed,
                "{}: keys cannot be edited",
                attr.name
            );
        }
        assert!(spec().attr("key").expect("key").sensitive);
    }

    #[test]
    fn import_ids_name_the_tenant_or_none() {
        assert_eq!(
            parse_import(&format!("acme/{ID}")).expect("valid"),
            (Some("acme".to_string()), ID.to_string())
        );
        assert_eq!(parse_import(ID).expect("valid"), (None, ID.to_string()));
        assert_eq!(
            parse_import(&ID.to_uppercase()).expect("valid").1,
            ID,
            "one spelling of the id in the state"
        );
        for bad in [
            "acme/ci",
            "ci",
            "Acme/0191d3c2-6f1e-7c3a-9b1a-2f6c1d0e4a33",
            "acme/x/y",
        ] {
            assert!(parse_import(bad).is_err(), "{bad}");
        }
    }

    #[tokio::test]
    async fn reading_finds_the_key_on_a_later_page_and_a_revoked_one_is_gone() {
        let server = fake::serve(|_, target, _| {
            let other = json!({"id": "0191d3c2-6f1e-7c3a-9b1a-2f6c1d0e4a00", "name": "old", "kind": "personal", "prefix": "pgp_0000", "revoked_at": null, "created_at": "2025-01-01T00:00:00Z", "updated_at": "2025-01-01T00:00:00Z"});
            let mut revoked = document();
            revoked["revoked_at"] = json!("2025-02-01T00:00:00Z");
            match target {
                "/v1/me/api-keys?page_size=500" => {
                    (200, json!({"items": [other], "next_page_token": "djE6YQ"}))
                }
                "/v1/me/api-keys?page_size=500&page_token=djE6YQ" => {
                    (200, json!({"items": [document()]}))
                }
                "/v1/tenants/acme/api-keys?page_size=500" => (200, json!({"items": [revoked]})),
                _ => (404, json!({"title": "Not Found"})),
            }
        })
        .await;
        let context = fake::context(&server.url, Some("acme"));
        let prior = obj_of(&[("id", ID), ("name", "ci"), ("key", "pgp_3f9a_secret")]);
        let read = ApiKey
            .read(&context, &prior)
            .await
            .expect("read")
            .expect("found on page two");
        assert_eq!(read.state["key"], s("pgp_3f9a_secret"));
        assert_eq!(
            read.state["tenant"],
            ValueAny::Null,
            "no tenant is a personal key, whatever the provider's default"
        );
        let tenant_key = obj_of(&[("id", ID), ("tenant", "acme")]);
        assert!(
            ApiKey
                .read(&context, &tenant_key)
                .await
                .expect("read")
                .is_none()
        );
    }
}
