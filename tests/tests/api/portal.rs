//! The portal served at `/` from `--portal-dir`: cache headers for hashed assets and for
//! index.html, client-side routes falling back to index.html, source maps never served, and
//! the API left as it was.

use std::path::Path;

use pgplane_tests::TestApp;
use pgplane_tests::client::Method;

const INDEX: &str = "<!doctype html><title>pgplane portal</title><div id=root></div>";
const SCRIPT: &str = "console.log('portal')";

/// A built portal as Vite lays it out: index.html beside content-hashed files in assets/.
fn built_portal() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("index.html"), INDEX).unwrap();
    std::fs::write(dir.path().join("favicon.svg"), "<svg/>").unwrap();
    std::fs::create_dir(dir.path().join("assets")).unwrap();
    std::fs::write(dir.path().join("assets/index-3f9a1c.js"), SCRIPT).unwrap();
    // What an old `sourcemap: true` build left beside its script.
    std::fs::write(dir.path().join("assets/index-3f9a1c.js.map"), "{}").unwrap();
    dir
}

async fn spawn_with_portal(dir: &Path) -> TestApp {
    TestApp::spawn_with(&["--portal-dir", dir.to_str().unwrap()]).await
}

#[tokio::test]
async fn the_portal_is_served_at_the_root_and_must_be_revalidated() {
    let portal = built_portal();
    let app = spawn_with_portal(portal.path()).await;
    let call = app.anonymous().get("/").await.expect(200);
    assert_eq!(String::from_utf8_lossy(&call.body), INDEX);
    assert!(
        call.header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
    assert_eq!(call.header("cache-control").as_deref(), Some("no-cache"));
    let icon = app.anonymous().get("/favicon.svg").await.expect(200);
    assert_eq!(icon.header("cache-control").as_deref(), Some("no-cache"));
    app.stop().await;
}

#[tokio::test]
async fn hashed_assets_are_cached_for_a_year_and_missing_ones_are_404() {
    let portal = built_portal();
    let app = spawn_with_portal(portal.path()).await;
    let call = app
        .anonymous()
        .get("/assets/index-3f9a1c.js")
        .await
        .expect(200);
    assert_eq!(String::from_utf8_lossy(&call.body), SCRIPT);
    assert!(call.header("content-type").unwrap().contains("javascript"));
    assert_eq!(
        call.header("cache-control").as_deref(),
        Some("public, max-age=31536000, immutable")
    );
    // An old asset name after an upgrade must not come back as HTML posing as a script.
    let missing = app
        .anonymous()
        .get("/assets/index-0000.js")
        .await
        .expect_problem(404, None);
    assert_eq!(missing["status"], 404);
    app.stop().await;
}

#[tokio::test]
async fn source_maps_in_the_portal_directory_are_answered_404() {
    let portal = built_portal();
    let app = spawn_with_portal(portal.path()).await;
    for path in [
        "/assets/index-3f9a1c.js.map",
        "/assets/index-3f9a1c.js%2Emap",
        "/assets/index-3f9a1c.js.map?v=1",
    ] {
        let call = app.anonymous().get(path).await.expect_problem(404, None);
        assert_eq!(call["status"], 404, "{path}");
    }
    // Not the index.html fallback either.
    app.anonymous()
        .get("/index-3f9a1c.js.map")
        .await
        .expect_problem(404, None);
    app.anonymous()
        .get("/assets/index-3f9a1c.js")
        .await
        .expect(200);
    app.stop().await;
}

#[tokio::test]
async fn client_side_routes_fall_back_to_index_html() {
    let portal = built_portal();
    let app = spawn_with_portal(portal.path()).await;
    for path in ["/t/acme/clusters/orders", "/sign-in", "/admin/users?x=1"] {
        let call = app.anonymous().get(path).await.expect(200);
        assert_eq!(String::from_utf8_lossy(&call.body), INDEX, "{path}");
        assert_eq!(call.header("cache-control").as_deref(), Some("no-cache"));
    }
    app.stop().await;
}

#[tokio::test]
async fn the_api_is_unchanged_when_the_portal_is_served() {
    let portal = built_portal();
    let app = spawn_with_portal(portal.path()).await;
    let anonymous = app.anonymous();
    // Unknown API paths stay problem documents, never the portal's HTML.
    anonymous.get("/v1/nope").await.expect_problem(404, None);
    anonymous.get("/v1").await.expect_problem(404, None);
    app.admin()
        .get("/v1/tenants/acme/nothing-here")
        .await
        .expect_problem(404, None);
    anonymous.get("/v1/me").await.expect_problem(401, None);
    anonymous.get("/healthz").await.expect(200);
    let spec = anonymous.get("/openapi.json").await.expect(200).json();
    assert!(spec["paths"]["/v1/me"].is_object());
    app.admin().get("/v1/me").await.expect(200);
    // Writing to a page is not a thing.
    anonymous
        .send(Method::POST, "/t/acme", None, &[])
        .await
        .expect_problem(405, None);
    app.stop().await;
}

#[tokio::test]
async fn without_a_portal_directory_the_root_is_a_404_problem() {
    let app = TestApp::spawn().await;
    app.anonymous().get("/").await.expect_problem(404, None);
    app.anonymous()
        .get("/assets/index-3f9a1c.js")
        .await
        .expect_problem(404, None);
    app.stop().await;
}
