//! The world the schemathesis stage fuzzes: pgplane on the local platform (clusters are real
//! PostgreSQL processes), a tenant with a running cluster, a developer and a spare user, one
//! credential per fuzzed role, and the names and ids of what exists. The fuzzer draws path
//! parameters from those names most of the time, so cluster, backup, connection, user,
//! extension and operation requests reach the handlers' real code paths instead of a 404.

use pgplane::platform::local::LocalPlatform;
use pgplane_tests::TestApp;
use serde_json::{Value, json};

use crate::local_harness::{LocalWorld, TENANT, small_cluster};

/// The running cluster every cluster operation is pointed at.
pub const CLUSTER: &str = "app";

/// Who a credential belongs to.
#[derive(Clone, Copy)]
pub enum Role {
    PlatformAdmin,
    /// A member of [`TENANT`] with this role.
    Member(&'static str),
    /// A user of no tenant.
    Outsider,
}

/// What one fuzzed caller authenticates with, and who it is.
pub struct Credential {
    /// A personal API key: unlike an access token it outlives a long `scripts/fuzz` run.
    pub key: String,
    pub key_id: String,
    pub user_id: String,
    pub email: String,
}

/// The local-platform pgplane and what lives in it.
pub struct FuzzWorld {
    pub world: LocalWorld,
    /// The operation that created [`CLUSTER`].
    pub operation_id: String,
    /// A tenant service key (owner role) of [`TENANT`].
    pub tenant_key_id: String,
    /// Users the fuzzer may change or remove: a developer of [`TENANT`] and a user of no tenant.
    pub bystanders: Vec<Credential>,
}

impl FuzzWorld {
    pub async fn start() -> FuzzWorld {
        let root = tempfile::tempdir().expect("temporary directory");
        let platform = LocalPlatform::start(root.path()).expect("local platform");
        // Tenants the fuzzer creates may hold no cluster: every cluster is real PostgreSQL
        // processes on a 2-core machine. Logins are not rate limited for the fuzzer's sake.
        let flags = [
            "--login-max-failures",
            "100000",
            "--default-max-clusters",
            "0",
        ];
        let app = TestApp::spawn_with_platform(platform.clone(), &flags).await;
        app.create_tenant(TENANT).await;
        let world = LocalWorld {
            root,
            platform,
            app,
        };
        // Room for four more clusters of any size, so creates (and create → delete chains)
        // succeed but stay few.
        world
            .app
            .admin()
            .put(
                &format!("/v1/tenants/{TENANT}/quota"),
                json!({"max_clusters": 5, "max_instances": 6, "max_cpu_millis": 32000,
                       "max_memory_mib": 131072, "max_storage_gib": 2000}),
            )
            .await
            .expect(200);
        let operation = world
            .app
            .admin()
            .post(
                &format!("/v1/tenants/{TENANT}/clusters"),
                small_cluster(CLUSTER, 1),
            )
            .await
            .expect(202)
            .json();
        let done = world.finished(&operation).await;
        assert_eq!(done["state"], "succeeded", "{done}");
        let tenant_key = world
            .app
            .admin()
            .post(
                &format!("/v1/tenants/{TENANT}/api-keys"),
                json!({"name": "ci", "role": "owner"}),
            )
            .await
            .expect(201)
            .json();
        let mut world = FuzzWorld {
            world,
            operation_id: text(&operation["id"]),
            tenant_key_id: text(&tenant_key["id"]),
            bystanders: Vec::new(),
        };
        world.bystanders = vec![
            world
                .credential("bystander-dev", Role::Member("developer"))
                .await,
            world.credential("bystander", Role::Outsider).await,
        ];
        world
    }

    pub fn app(&self) -> &TestApp {
        &self.world.app
    }

    /// A new user in `role`, and a personal API key of theirs.
    pub async fn credential(&self, name: &str, role: Role) -> Credential {
        let app = self.app();
        let email = format!("{name}@fuzz.example.com");
        let user = app.create_user(&email).await;
        let user_id = text(&user["id"]);
        match role {
            Role::Member(role) => {
                app.admin()
                    .put(
                        &format!("/v1/tenants/{TENANT}/members/{email}"),
                        json!({"role": role}),
                    )
                    .await
                    .expect(201);
            }
            Role::PlatformAdmin => {
                app.admin()
                    .patch(
                        &format!("/v1/users/{user_id}"),
                        json!({"is_platform_admin": true}),
                    )
                    .await
                    .expect(200);
            }
            Role::Outsider => {}
        }
        let token = app.login(&email).await;
        let key = app
            .client(&token)
            .post("/v1/me/api-keys", json!({"name": "fuzzer"}))
            .await
            .expect(201)
            .json();
        Credential {
            key: text(&key["key"]),
            key_id: text(&key["id"]),
            user_id,
            email,
        }
    }

    /// `schemathesis.toml` fragments: dictionaries of what exists, and which parameters draw
    /// from them (with `probability`; otherwise schemathesis generates the value). `me` is the
    /// caller, whose own id and key are offered only to the lockout run.
    pub fn dictionaries(&self, me: Option<&Credential>) -> String {
        let mut user_ids: Vec<&str> = self.bystanders.iter().map(|c| &*c.user_id).collect();
        let mut emails: Vec<&str> = self.bystanders.iter().map(|c| &*c.email).collect();
        let mut own_keys = vec!["00000000-0000-0000-0000-000000000000"];
        if let Some(me) = me {
            user_ids.push(&me.user_id);
            emails.push(&me.email);
            own_keys = vec![&me.key_id];
        }
        let dictionaries: [(&str, Vec<&str>); 10] = [
            ("tenant", vec![TENANT]),
            ("cluster", vec![CLUSTER]),
            ("database", vec![CLUSTER]),
            ("extension", vec!["citext", "hstore", "pgcrypto", "vector"]),
            ("role", vec!["reporting", CLUSTER]),
            ("operation", vec![&self.operation_id]),
            ("user_id", user_ids),
            ("email", emails),
            ("tenant_key", vec![&self.tenant_key_id]),
            ("own_key", own_keys),
        ];
        let mut toml = String::new();
        for (name, values) in dictionaries {
            toml += &format!("[dictionaries.{name}]\nvalues = {}\n", json!(values));
        }
        toml += "\n[parameters]\n";
        for (parameter, dictionary) in [
            ("path.tenant", "tenant"),
            ("path.cluster", "cluster"),
            ("path.database", "database"),
            ("path.extension", "extension"),
            ("path.role", "role"),
            ("query.cluster", "cluster"),
        ] {
            toml += &bind(parameter, dictionary);
        }
        for (operations, parameter, dictionary) in [
            ("users.", "path.user", "user_id"),
            ("tenants.members.", "path.user", "email"),
            ("operations.", "path.id", "operation"),
            ("tenants.api_keys.", "path.id", "tenant_key"),
            ("me.api_keys.", "path.id", "own_key"),
        ] {
            toml += &format!(
                "\n[[operations]]\ninclude-operation-id-regex = \"^{}\"\n[operations.parameters]\n{}",
                operations.replace('.', "\\\\."),
                bind(parameter, dictionary)
            );
        }
        toml
    }
}

/// How often a bound parameter takes a known value: mostly, so requests reach real objects,
/// but not always, so generated values (and the 404 path) are still tried.
const KNOWN_VALUE_PROBABILITY: f64 = 0.8;

fn bind(parameter: &str, dictionary: &str) -> String {
    format!(
        "\"{parameter}\" = {{ dictionary = \"{dictionary}\", probability = {KNOWN_VALUE_PROBABILITY} }}\n"
    )
}

fn text(value: &Value) -> String {
    value.as_str().expect("a string").to_string()
}
