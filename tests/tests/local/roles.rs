//! Roles and databases on the local platform (issue 17, defect 6): a role `PUT` is an update
//! operation that ends once the role and its databases exist in PostgreSQL, seen here over a
//! real client connection as the owner would see them, and the role's revealed connection logs
//! in as the role.

use serde_json::json;
use sqlx::Row;

use crate::harness::{LocalWorld, TENANT, connect, small_cluster};

#[tokio::test]
async fn a_role_and_its_databases_exist_in_postgresql_when_its_operation_ends() {
    let world = LocalWorld::start().await;
    let admin = world.app.admin();
    assert_eq!(
        world.create(small_cluster("shop", 1)).await["state"],
        "succeeded"
    );
    let users = format!("/v1/tenants/{TENANT}/clusters/shop/users");

    let op = admin
        .put(
            &format!("{users}/reporting"),
            json!({"databases": ["shop", "analytics"], "options": "CONNECTION LIMIT 5"}),
        )
        .await
        .expect(202)
        .json();
    let done = world.finished(&op).await;
    assert_eq!(done["state"], "succeeded", "{done}");

    // At the moment the operation says done, PostgreSQL has the role and its new database.
    let connection = world.connection("shop").await;
    let ca = connection["ca_certificate"].as_str().unwrap();
    let mut owner = connect(connection["primary"]["uri"].as_str().unwrap(), ca)
        .await
        .expect("the owner connects");
    let role =
        sqlx::query("select rolconnlimit, rolcanlogin from pg_roles where rolname = 'reporting'")
            .fetch_one(&mut owner)
            .await
            .expect("the role exists");
    assert_eq!(role.get::<i32, _>("rolconnlimit"), 5);
    assert!(role.get::<bool, _>("rolcanlogin"));
    let analytics: bool =
        sqlx::query_scalar("select exists (select 1 from pg_database where datname = 'analytics')")
            .fetch_one(&mut owner)
            .await
            .unwrap();
    assert!(analytics, "the role's new database exists");
    let can_connect: bool =
        sqlx::query_scalar("select has_database_privilege('reporting', 'analytics', 'CONNECT')")
            .fetch_one(&mut owner)
            .await
            .unwrap();
    assert!(can_connect);

    let listed = admin.get(&users).await.expect(200).json();
    assert!(
        listed["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["name"] == "reporting" && u["databases"] == json!(["shop", "analytics"])),
        "{listed}"
    );

    // The role's own connection, revealed, logs in as the role to its first database (the
    // sync reads the new role's password at its next look; until then the API answers 409).
    let path = format!("/v1/tenants/{TENANT}/clusters/shop/connection?role=reporting&reveal=true");
    let started = std::time::Instant::now();
    let revealed = loop {
        let response = admin.get(&path).await;
        if response.status != 409 || started.elapsed() > std::time::Duration::from_secs(30) {
            break response.expect(200).json();
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    assert_eq!(revealed["user"], "reporting");
    let mut reporting = connect(revealed["primary"]["uri"].as_str().unwrap(), ca)
        .await
        .expect("the role connects with its revealed password");
    let (user, database): (String, String) =
        sqlx::query_as("select current_user::text, current_database()::text")
            .fetch_one(&mut reporting)
            .await
            .unwrap();
    assert_eq!((user.as_str(), database.as_str()), ("reporting", "shop"));
    world.stop().await;
}
