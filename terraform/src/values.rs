//! Terraform values (tf-provider's `ValueAny`: strings, numbers, booleans, lists, maps, null and
//! unknown) shaped by the provider's schema, and their conversion to and from the API's JSON.

use std::collections::BTreeMap;

use serde_json::{Map, Value as Json};
use tf_provider::value::ValueAny;

use crate::schema::{Attr, Kind};

/// An object's attributes by name.
pub type Obj = BTreeMap<String, ValueAny>;

/// The attributes of an object value (empty for null or unknown).
pub fn obj(value: &ValueAny) -> Obj {
    match value {
        ValueAny::Map(map) => map.clone(),
        _ => Obj::new(),
    }
}

pub fn get<'a>(object: &'a Obj, name: &str) -> &'a ValueAny {
    object.get(name).unwrap_or(&ValueAny::Null)
}

/// A known, non-empty string attribute.
pub fn string(object: &Obj, name: &str) -> Option<String> {
    match get(object, name) {
        ValueAny::String(value) if !value.is_empty() => Some(value.clone()),
        _ => None,
    }
}

pub fn int(object: &Obj, name: &str) -> Option<i64> {
    match get(object, name) {
        ValueAny::Number(value) => Some(*value),
        _ => None,
    }
}

pub fn is_unknown(value: &ValueAny) -> bool {
    matches!(value, ValueAny::Unknown)
}

/// Whether the value holds an unknown anywhere.
pub fn has_unknown(value: &ValueAny) -> bool {
    match value {
        ValueAny::Unknown => true,
        ValueAny::List(items) => items.iter().any(has_unknown),
        ValueAny::Map(map) => map.values().any(has_unknown),
        _ => false,
    }
}

/// The value as JSON (`None` for an unknown, or a value holding one).
pub fn to_json(value: &ValueAny) -> Option<Json> {
    Some(match value {
        ValueAny::String(s) => Json::String(s.clone()),
        ValueAny::Number(n) => Json::from(*n),
        ValueAny::Bool(b) => Json::Bool(*b),
        ValueAny::List(items) => Json::Array(items.iter().map(to_json).collect::<Option<_>>()?),
        ValueAny::Map(map) => Json::Object(
            map.iter()
                .map(|(k, v)| Some((k.clone(), to_json(v)?)))
                .collect::<Option<Map<_, _>>>()?,
        ),
        ValueAny::Null => Json::Null,
        ValueAny::Unknown => return None,
    })
}

/// A JSON value as the attribute's Terraform value: only the schema's attributes, each of its
/// kind; anything absent or of another type is null.
pub fn from_json(attr: &Attr, json: &Json) -> ValueAny {
    match (&attr.kind, json) {
        (_, Json::Null) => ValueAny::Null,
        (Kind::String, Json::String(s)) => ValueAny::String(s.clone()),
        // Numbers and booleans the API sends as strings stay strings where the schema says so.
        (Kind::String, Json::Number(n)) => ValueAny::String(n.to_string()),
        (Kind::Int, Json::Number(n)) => n.as_i64().map_or(ValueAny::Null, ValueAny::Number),
        (Kind::Bool, Json::Bool(b)) => ValueAny::Bool(*b),
        (Kind::StringSet | Kind::StringList, Json::Array(items)) => ValueAny::List(
            items
                .iter()
                .filter_map(|item| item.as_str().map(|s| ValueAny::String(s.to_string())))
                .collect(),
        ),
        (Kind::IntList, Json::Array(items)) => ValueAny::List(
            items
                .iter()
                .filter_map(|item| item.as_i64().map(ValueAny::Number))
                .collect(),
        ),
        (Kind::StringMap, Json::Object(map)) => ValueAny::Map(
            map.iter()
                .filter_map(|(k, v)| {
                    let text = match v {
                        Json::String(s) => s.clone(),
                        Json::Null => return None,
                        other => other.to_string(),
                    };
                    Some((k.clone(), ValueAny::String(text)))
                })
                .collect(),
        ),
        (Kind::BoolMap, Json::Object(map)) => ValueAny::Map(
            map.iter()
                .filter_map(|(k, v)| v.as_bool().map(|b| (k.clone(), ValueAny::Bool(b))))
                .collect(),
        ),
        (Kind::Object(attrs), Json::Object(_)) => ValueAny::Map(object_from_json(attrs, json)),
        (Kind::ObjectSet(attrs) | Kind::ObjectList(attrs), Json::Array(items)) => ValueAny::List(
            items
                .iter()
                .map(|item| ValueAny::Map(object_from_json(attrs, item)))
                .collect(),
        ),
        _ => ValueAny::Null,
    }
}

/// Every attribute of `attrs` taken from the JSON object of the same field names.
pub fn object_from_json(attrs: &[Attr], json: &Json) -> Obj {
    attrs
        .iter()
        .map(|attr| {
            let field = json.get(attr.name).unwrap_or(&Json::Null);
            (attr.name.to_string(), from_json(attr, field))
        })
        .collect()
}

/// The value with every unknown replaced by null: what a state saved after a failure holds
/// for what could not be read.
pub fn unknowns_to_null(value: &ValueAny) -> ValueAny {
    match value {
        ValueAny::Unknown => ValueAny::Null,
        ValueAny::List(items) => ValueAny::List(items.iter().map(unknowns_to_null).collect()),
        ValueAny::Map(map) => ValueAny::Map(
            map.iter()
                .map(|(k, v)| (k.clone(), unknowns_to_null(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Whether two values are equal as Terraform compares them: sets (lists here) in any order.
pub fn same(attr: &Attr, a: &ValueAny, b: &ValueAny) -> bool {
    match (&attr.kind, a, b) {
        (Kind::StringSet | Kind::ObjectSet(_), ValueAny::List(x), ValueAny::List(y)) => {
            x.len() == y.len() && x.iter().all(|item| y.contains(item))
        }
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::schema::Mode;

    fn resources() -> Attr {
        Attr::object(
            "resources",
            Mode::Default,
            "",
            vec![
                Attr::string("cpu", Mode::Default, ""),
                Attr::string("memory", Mode::Default, ""),
            ],
        )
    }

    #[test]
    fn json_becomes_the_schemas_shape_and_back() {
        let value = from_json(
            &resources(),
            &json!({"cpu": "1", "memory": "2Gi", "extra": 1}),
        );
        assert_eq!(
            to_json(&value),
            Some(json!({"cpu": "1", "memory": "2Gi"})),
            "only the schema's attributes are kept"
        );
        let partial = from_json(&resources(), &json!({"cpu": "1"}));
        assert_eq!(to_json(&partial), Some(json!({"cpu": "1", "memory": null})));
    }

    #[test]
    fn an_unknown_anywhere_has_no_json_and_becomes_null_after_a_failure() {
        let mut map = Obj::new();
        map.insert("cpu".into(), ValueAny::Unknown);
        let value = ValueAny::Map(map);
        assert!(has_unknown(&value));
        assert_eq!(to_json(&value), None);
        assert_eq!(
            to_json(&unknowns_to_null(&value)),
            Some(json!({"cpu": null}))
        );
    }

    #[test]
    fn sets_compare_in_any_order() {
        let set = Attr::new("databases", Kind::StringSet, Mode::Default, "");
        let a = from_json(&set, &json!(["a", "b"]));
        let b = from_json(&set, &json!(["b", "a"]));
        assert!(same(&set, &a, &b));
        let list = Attr::new("databases", Kind::StringList, Mode::Default, "");
        assert!(!same(&list, &a, &b));
    }

    #[test]
    fn values_survive_terraforms_wire_format_including_unknowns() {
        let mut map = Obj::new();
        map.insert("cpu".into(), ValueAny::Unknown);
        map.insert("memory".into(), ValueAny::String("2Gi".into()));
        map.insert("instances".into(), ValueAny::Number(3));
        map.insert("tags".into(), ValueAny::List(vec![ValueAny::Bool(true)]));
        map.insert("class".into(), ValueAny::Null);
        let value = ValueAny::Map(map);
        let wire = rmp_serde::to_vec_named(&value).expect("encodes");
        let back: ValueAny = rmp_serde::from_slice(&wire).expect("decodes");
        assert!(back == value, "{back:?}");
    }
}
