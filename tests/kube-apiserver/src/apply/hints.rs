//! Structure hints for server-side apply: is a list atomic, a set, or a map keyed by some
//! fields; is an object an atomic value or a set of independently owned fields.
//!
//! For PGO custom resources the hints come from the v6.0.3 schema (`x-kubernetes-list-type`,
//! `x-kubernetes-list-map-keys`, `x-kubernetes-map-type`), exactly as structured-merge-diff
//! reads them. For built-in types (and every type's `metadata`) a small table reproduces the
//! `+listType`/`+listMapKey` markers of the Go types that matter here; other lists are atomic.

use serde_json::Value;

use crate::resources::{Model, ResourceDef};
use crate::validation::schemas::{CrdKind, storage_schema};

/// How a list merges and is owned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ListKind {
    /// Replaced as a whole; owned as one field.
    Atomic,
    /// Items are scalars owned individually (`v:` elements).
    Set,
    /// Items are objects keyed by these fields (`k:` elements).
    Map(Vec<String>),
}

/// Where in the type a value sits.
#[derive(Clone, Debug)]
pub(crate) enum Cursor {
    /// The top of an object; `schema` is set for custom resources.
    Root {
        schema: Option<&'static Value>,
        model: Model,
    },
    /// Inside a CRD schema (`None` once the schema says nothing more, e.g. preserved fields).
    Schema(Option<&'static Value>),
    /// Inside a built-in type (or metadata): the dotted path, list items as `[]`.
    Builtin { model: Model, path: String },
}

/// Builtin list markers: (model or `None` for all types, dotted path, kind).
fn builtin_list(model: Model, path: &str) -> ListKind {
    let map = |keys: &[&str]| ListKind::Map(keys.iter().map(|k| k.to_string()).collect());
    match (model, path) {
        (_, "metadata.finalizers") => ListKind::Set,
        (_, "metadata.ownerReferences") => map(&["uid"]),
        (Model::Service, "spec.ports") => map(&["port", "protocol"]),
        (Model::Pod, "spec.containers" | "spec.initContainers" | "spec.volumes") => map(&["name"]),
        (Model::Pod, "spec.containers[].env" | "spec.initContainers[].env") => map(&["name"]),
        (Model::Pod, "spec.containers[].ports") => map(&["containerPort", "protocol"]),
        (
            Model::StatefulSet,
            "spec.template.spec.containers"
            | "spec.template.spec.initContainers"
            | "spec.template.spec.volumes",
        ) => map(&["name"]),
        (
            Model::StatefulSet,
            "spec.template.spec.containers[].env" | "spec.template.spec.initContainers[].env",
        ) => map(&["name"]),
        (Model::StatefulSet, "spec.template.spec.containers[].ports") => {
            map(&["containerPort", "protocol"])
        }
        (Model::Pod | Model::Namespace | Model::StatefulSet, "status.conditions") => map(&["type"]),
        _ => ListKind::Atomic,
    }
}

fn builtin_atomic_map(model: Model, path: &str) -> bool {
    matches!((model, path), (Model::Service, "spec.selector"))
}

impl Cursor {
    /// The cursor at the root of an object of type `def`.
    pub fn root(def: &'static ResourceDef) -> Self {
        let kind = match def.model {
            Model::PostgresCluster => Some(CrdKind::PostgresCluster),
            Model::PgUpgrade => Some(CrdKind::PgUpgrade),
            _ => None,
        };
        Cursor::Root {
            schema: kind.and_then(storage_schema).map(|s| &s.root),
            model: def.model,
        }
    }

    /// The cursor of field `name` of an object.
    pub fn field(&self, name: &str) -> Cursor {
        match self {
            Cursor::Root { model, .. } if name == "metadata" => Cursor::Builtin {
                model: *model,
                path: "metadata".into(),
            },
            Cursor::Root {
                schema: Some(s), ..
            } => Cursor::Schema(s.get("properties").and_then(|p| p.get(name))),
            Cursor::Root {
                schema: None,
                model,
            } => Cursor::Builtin {
                model: *model,
                path: name.into(),
            },
            Cursor::Schema(schema) => {
                let next = schema.and_then(|s| {
                    s.get("properties")
                        .and_then(|p| p.get(name))
                        .or_else(|| s.get("additionalProperties").filter(|a| a.is_object()))
                });
                Cursor::Schema(next)
            }
            Cursor::Builtin { model, path } => {
                let path = if path.is_empty() {
                    name.to_string()
                } else {
                    format!("{path}.{name}")
                };
                Cursor::Builtin {
                    model: *model,
                    path,
                }
            }
        }
    }

    /// The cursor of the items of a list.
    pub fn item(&self) -> Cursor {
        match self {
            Cursor::Root { .. } => Cursor::Schema(None),
            Cursor::Schema(schema) => Cursor::Schema(schema.and_then(|s| s.get("items"))),
            Cursor::Builtin { model, path } => Cursor::Builtin {
                model: *model,
                path: format!("{path}[]"),
            },
        }
    }

    pub fn list_kind(&self) -> ListKind {
        match self {
            Cursor::Schema(Some(s)) => {
                match s.get("x-kubernetes-list-type").and_then(Value::as_str) {
                    Some("set") => ListKind::Set,
                    Some("map") => ListKind::Map(
                        s.get("x-kubernetes-list-map-keys")
                            .and_then(Value::as_array)
                            .map(|k| {
                                k.iter()
                                    .filter_map(Value::as_str)
                                    .map(String::from)
                                    .collect()
                            })
                            .unwrap_or_default(),
                    ),
                    _ => ListKind::Atomic,
                }
            }
            Cursor::Schema(None) | Cursor::Root { .. } => ListKind::Atomic,
            Cursor::Builtin { model, path } => builtin_list(*model, path),
        }
    }

    /// Whether an object here is owned and replaced as one value.
    pub fn atomic_object(&self) -> bool {
        match self {
            Cursor::Schema(Some(s)) => {
                s.get("x-kubernetes-map-type").and_then(Value::as_str) == Some("atomic")
            }
            Cursor::Schema(None) | Cursor::Root { .. } => false,
            Cursor::Builtin { model, path } => builtin_atomic_map(*model, path),
        }
    }
}
