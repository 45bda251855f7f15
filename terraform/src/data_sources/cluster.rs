//! `pgplane_cluster` (data source): a cluster's spec and status, read only.

use async_trait::async_trait;

use crate::engine::Managed;
use crate::engine::{Context, Diag, Failure, Lookup};
use crate::resources::cluster::{self, Cluster, tenant_of};
use crate::schema::{Mode, Spec};
use crate::values::{Obj, string};

pub fn spec() -> Spec {
    let attrs = cluster::attrs()
        .into_iter()
        .filter(|attr| !attr.local && attr.name != "extensions")
        .map(|mut attr| {
            attr.mode = match attr.name {
                "name" => Mode::Required,
                "tenant" => Mode::Default,
                _ => Mode::Computed,
            };
            attr.replace = false;
            computed_children(&mut attr);
            attr
        })
        .collect();
    Spec {
        type_name: "pgplane_cluster",
        description: "A cluster of a tenant as pgplane has it: its spec with every default filled in, and its status.",
        import_id: None,
        attrs,
    }
}

fn computed_children(attr: &mut crate::schema::Attr) {
    use crate::schema::Kind;
    if let Kind::Object(children) | Kind::ObjectSet(children) | Kind::ObjectList(children) =
        &mut attr.kind
    {
        for child in children {
            child.mode = Mode::Computed;
            child.replace = false;
            computed_children(child);
        }
    }
}

pub struct ClusterData;

#[async_trait]
impl Lookup for ClusterData {
    fn spec(&self) -> Spec {
        spec()
    }

    async fn read(&self, context: &Context, config: &Obj) -> Result<Obj, Failure> {
        let tenant = tenant_of(context, config)?;
        let name = string(config, "name").unwrap_or_default();
        let mut config = config.clone();
        config.insert(
            "tenant".into(),
            tf_provider::value::ValueAny::String(tenant.clone()),
        );
        match Cluster.read(context, &config).await? {
            Some(read) => Ok(read.state),
            None => Err(Diag::error(
                "No such cluster",
                format!("Tenant `{tenant}` has no cluster `{name}`."),
            )
            .on(&["name"])
            .into()),
        }
    }
}
