//! The provider's own description of its resources and data sources: one tree of attributes
//! from which come the schema Terraform is given, the plan (what is computed, what forces a
//! replacement), the conversion of API documents to state, and the registry docs.

use std::collections::HashMap;

use tf_provider::schema::{
    Attribute, AttributeConstraint, AttributeType, Block, Description, Schema,
};

/// What an attribute holds.
#[derive(Clone, Debug)]
pub enum Kind {
    String,
    Int,
    Bool,
    /// Unordered strings (Terraform's `set(string)`).
    StringSet,
    /// Ordered strings (`list(string)`).
    StringList,
    /// Ordered numbers (`list(number)`).
    IntList,
    /// `map(string)`.
    StringMap,
    /// `map(bool)`.
    BoolMap,
    /// A nested object (`attr = { ... }`).
    Object(Vec<Attr>),
    /// An unordered set of nested objects (`attr = [{ ... }, ...]`).
    ObjectSet(Vec<Attr>),
    /// An ordered list of nested objects.
    ObjectList(Vec<Attr>),
}

/// Who sets an attribute: the configuration, the provider, or either.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Required,
    /// Set in the configuration or absent (null); never filled in by the provider.
    Optional,
    /// Set in the configuration, or filled in by the server's default.
    Default,
    /// Only the provider sets it.
    Computed,
}

#[derive(Clone, Debug)]
pub struct Attr {
    pub name: &'static str,
    pub kind: Kind,
    pub mode: Mode,
    pub description: &'static str,
    pub sensitive: bool,
    /// A change forces a new resource (the API cannot make it in place).
    pub replace: bool,
    /// Kept in state from the configuration only: never sent to nor read from the API
    /// (`timeouts`).
    pub local: bool,
}

impl Attr {
    pub fn new(name: &'static str, kind: Kind, mode: Mode, description: &'static str) -> Attr {
        Attr {
            name,
            kind,
            mode,
            description,
            sensitive: false,
            replace: false,
            local: false,
        }
    }
    pub fn string(name: &'static str, mode: Mode, description: &'static str) -> Attr {
        Attr::new(name, Kind::String, mode, description)
    }
    pub fn int(name: &'static str, mode: Mode, description: &'static str) -> Attr {
        Attr::new(name, Kind::Int, mode, description)
    }
    pub fn bool(name: &'static str, mode: Mode, description: &'static str) -> Attr {
        Attr::new(name, Kind::Bool, mode, description)
    }
    pub fn object(
        name: &'static str,
        mode: Mode,
        description: &'static str,
        attrs: Vec<Attr>,
    ) -> Attr {
        Attr::new(name, Kind::Object(attrs), mode, description)
    }
    pub fn sensitive(mut self) -> Attr {
        self.sensitive = true;
        self
    }
    pub fn replace(mut self) -> Attr {
        self.replace = true;
        self
    }
    pub fn local(mut self) -> Attr {
        self.local = true;
        self
    }

    /// The nested attributes of an object or a set or list of objects.
    pub fn children(&self) -> Option<&[Attr]> {
        match &self.kind {
            Kind::Object(attrs) | Kind::ObjectSet(attrs) | Kind::ObjectList(attrs) => Some(attrs),
            _ => None,
        }
    }

    /// Terraform's name for the type, as the docs show it.
    pub fn type_name(&self) -> String {
        match &self.kind {
            Kind::String => "String".into(),
            Kind::Int => "Number".into(),
            Kind::Bool => "Boolean".into(),
            Kind::StringSet => "Set of String".into(),
            Kind::StringList => "List of String".into(),
            Kind::IntList => "List of Number".into(),
            Kind::StringMap => "Map of String".into(),
            Kind::BoolMap => "Map of Boolean".into(),
            Kind::Object(_) => "Attributes".into(),
            Kind::ObjectSet(_) => "Attributes Set".into(),
            Kind::ObjectList(_) => "Attributes List".into(),
        }
    }

    fn to_tf(&self) -> Attribute {
        let attr_type = match &self.kind {
            Kind::String => AttributeType::String,
            Kind::Int => AttributeType::Number,
            Kind::Bool => AttributeType::Bool,
            Kind::StringSet => AttributeType::Set(Box::new(AttributeType::String)),
            Kind::StringList => AttributeType::List(Box::new(AttributeType::String)),
            Kind::IntList => AttributeType::List(Box::new(AttributeType::Number)),
            Kind::StringMap => AttributeType::Map(Box::new(AttributeType::String)),
            Kind::BoolMap => AttributeType::Map(Box::new(AttributeType::Bool)),
            Kind::Object(attrs) => AttributeType::AttributeSingle(to_tf_attributes(attrs)),
            Kind::ObjectSet(attrs) => AttributeType::AttributeSet(to_tf_attributes(attrs)),
            Kind::ObjectList(attrs) => AttributeType::AttributeList(to_tf_attributes(attrs)),
        };
        let constraint = match self.mode {
            Mode::Required => AttributeConstraint::Required,
            Mode::Optional => AttributeConstraint::Optional,
            Mode::Default => AttributeConstraint::OptionalComputed,
            Mode::Computed => AttributeConstraint::Computed,
        };
        let mut description = self.description.to_string();
        if self.replace {
            description.push_str(" Changing it creates a new resource.");
        }
        Attribute {
            attr_type,
            description: Description::markdown(description),
            constraint,
            sensitive: self.sensitive,
            deprecated: false,
        }
    }
}

fn to_tf_attributes(attrs: &[Attr]) -> HashMap<String, Attribute> {
    attrs
        .iter()
        .map(|attr| (attr.name.to_string(), attr.to_tf()))
        .collect()
}

/// A resource's, data source's or the provider's schema.
#[derive(Clone, Debug)]
pub struct Spec {
    /// `pgplane_cluster`, or `provider` for the provider's configuration.
    pub type_name: &'static str,
    /// One paragraph for the docs' header and Terraform's description.
    pub description: &'static str,
    /// What `terraform import` takes, for resources that can be imported.
    pub import_id: Option<&'static str>,
    pub attrs: Vec<Attr>,
}

impl Spec {
    pub fn to_tf(&self) -> Schema {
        Schema {
            version: 1,
            block: Block {
                version: 1,
                attributes: to_tf_attributes(&self.attrs),
                blocks: HashMap::new(),
                description: Description::markdown(self.description),
                deprecated: false,
            },
        }
    }

    pub fn attr(&self, name: &str) -> Option<&Attr> {
        self.attrs.iter().find(|attr| attr.name == name)
    }
}

/// The `timeouts` attribute of resources whose changes are operations that take time.
pub fn timeouts() -> Attr {
    Attr::object(
        "timeouts",
        Mode::Optional,
        "How long to wait for each kind of change, as durations such as `30m` or `1h30m`.",
        vec![
            Attr::string(
                "create",
                Mode::Optional,
                "Waiting for a create (default 30m).",
            ),
            Attr::string(
                "update",
                Mode::Optional,
                "Waiting for an update (default 30m).",
            ),
            Attr::string(
                "delete",
                Mode::Optional,
                "Waiting for a delete (default 20m).",
            ),
        ],
    )
    .local()
}
