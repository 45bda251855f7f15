//! Registry documentation from the provider's own schema, in the layout and format of
//! HashiCorp's `tfplugindocs` (which the Terraform registry renders): `index.md` for the
//! provider, `resources/<name>.md` and `data-sources/<name>.md` (the type name without
//! `pgplane_`), each with YAML front matter, the description, the example from `examples/`
//! when there is one, the schema (Required, Optional, Read-Only, then a section per nested
//! object) and, for importable resources, how to import.
//!
//! `terraform-provider-pgplane docs terraform/docs` writes them; a test of the crate fails when
//! the committed pages differ from [`render`].

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use tf_provider::Diagnostics;
use tf_provider::schema::{Attribute, AttributeType, Schema};

use crate::engine::Shared;
use crate::schema::{Attr, Mode, Spec};
use crate::{data_sources, provider, resources};

/// The provider's short name (registry address `pgplane/pgplane`).
pub const PROVIDER: &str = "pgplane";

/// The command that writes the committed docs, run from the repository root.
pub const REGENERATE: &str = "cargo run -p terraform-provider-pgplane -- docs terraform/docs";

/// The name each resource is given in examples (`pgplane_cluster.example`).
const EXAMPLE_NAME: &str = "example";

/// The crate's `examples/` directory (the docs take their example usage from it).
pub fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples")
}

/// The example of a resource (`resources/<type>/resource.tf`), relative to `examples/`.
pub fn resource_example(type_name: &str) -> PathBuf {
    Path::new("resources").join(type_name).join("resource.tf")
}

/// The `terraform import` example of a resource (`resources/<type>/import.sh`).
pub fn import_example(type_name: &str) -> PathBuf {
    Path::new("resources").join(type_name).join("import.sh")
}

/// The example of a data source (`data-sources/<type>/data-source.tf`).
pub fn data_source_example(type_name: &str) -> PathBuf {
    Path::new("data-sources")
        .join(type_name)
        .join("data-source.tf")
}

/// The provider's example (`provider/provider.tf`).
pub fn provider_example() -> PathBuf {
    Path::new("provider").join("provider.tf")
}

/// Every page, by its path relative to the docs directory, with the examples read from
/// `examples` (a page whose example file is missing has no "Example Usage").
pub fn render(examples: &Path) -> BTreeMap<PathBuf, String> {
    let example = |relative: PathBuf| std::fs::read_to_string(examples.join(relative)).ok();
    let shared = Shared::default();
    let served_resources: HashMap<String, Schema> = resources::all(&shared)
        .into_iter()
        .filter_map(|(name, resource)| Some((name, resource.schema(&mut Diagnostics::default())?)))
        .collect();
    let served_data_sources: HashMap<String, Schema> = data_sources::all(&shared)
        .into_iter()
        .filter_map(|(name, data)| Some((name, data.schema(&mut Diagnostics::default())?)))
        .collect();
    let mut pages = BTreeMap::new();
    let spec = provider::spec();
    pages.insert(
        PathBuf::from("index.md"),
        provider_page(&spec, &spec.to_tf(), example(provider_example()).as_deref()),
    );
    for spec in resources::specs() {
        let text = example(resource_example(spec.type_name));
        pages.insert(
            Path::new("resources").join(page_name(&spec)),
            type_page(
                &spec,
                Page::Resource,
                served(&served_resources, &spec),
                text.as_deref(),
            ),
        );
    }
    for spec in data_sources::specs() {
        let text = example(data_source_example(spec.type_name));
        pages.insert(
            Path::new("data-sources").join(page_name(&spec)),
            type_page(
                &spec,
                Page::DataSource,
                served(&served_data_sources, &spec),
                text.as_deref(),
            ),
        );
    }
    pages
}

/// The schema Terraform is given for `spec`'s type (served under its name without `pgplane_`):
/// the docs take the types from it, as a type may refine its spec's (numbers for strings).
fn served<'a>(schemas: &'a HashMap<String, Schema>, spec: &Spec) -> Option<&'a Schema> {
    schemas
        .get(short_name(spec))
        .or_else(|| schemas.get(spec.type_name))
}

/// Writes [`render`]'s pages (with the crate's examples) under `dir`, and removes pages of
/// resources or data sources that no longer exist.
pub fn write(dir: &Path) -> anyhow::Result<()> {
    let pages = render(&examples_dir());
    for sub in ["resources", "data-sources"] {
        let Ok(entries) = std::fs::read_dir(dir.join(sub)) else {
            continue;
        };
        for entry in entries {
            let path = entry?.path();
            let relative = Path::new(sub).join(path.file_name().unwrap_or_default());
            if path.extension().is_some_and(|ext| ext == "md") && !pages.contains_key(&relative) {
                std::fs::remove_file(&path)
                    .with_context(|| format!("removing {}", path.display()))?;
            }
        }
    }
    for (relative, text) in &pages {
        let path = dir.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
            std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
        }
    }
    Ok(())
}

/// `cluster` for `pgplane_cluster`.
fn short_name(spec: &Spec) -> &'static str {
    spec.type_name
        .strip_prefix("pgplane_")
        .unwrap_or(spec.type_name)
}

/// `cluster.md` for `pgplane_cluster`.
fn page_name(spec: &Spec) -> String {
    format!("{}.md", short_name(spec))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Page {
    Resource,
    DataSource,
}

impl Page {
    fn title(self) -> &'static str {
        match self {
            Page::Resource => "Resource",
            Page::DataSource => "Data Source",
        }
    }
}

fn front_matter(out: &mut String, page_title: &str, description: &str) {
    out.push_str("---\n");
    let _ = writeln!(out, "# generated by `{REGENERATE}`: do not edit");
    let _ = writeln!(out, "page_title: \"{page_title}\"");
    out.push_str("subcategory: \"\"\n");
    out.push_str("description: |-\n");
    for line in plain(description).lines() {
        let _ = writeln!(out, "  {line}");
    }
    out.push_str("---\n\n");
}

fn example_usage(out: &mut String, example: Option<&str>) {
    if let Some(example) = example {
        out.push_str("## Example Usage\n\n");
        code_block(out, "terraform", example);
    }
}

fn code_block(out: &mut String, language: &str, text: &str) {
    let _ = write!(out, "```{language}\n{}\n```\n\n", text.trim());
}

fn provider_page(spec: &Spec, served: &Schema, example: Option<&str>) -> String {
    let mut out = String::new();
    front_matter(&mut out, &format!("{PROVIDER} Provider"), spec.description);
    let _ = write!(
        out,
        "# {PROVIDER} Provider\n\n{}\n\n",
        spec.description.trim()
    );
    example_usage(&mut out, example);
    schema(&mut out, &spec.attrs, Some(served));
    finish(out)
}

fn type_page(spec: &Spec, page: Page, served: Option<&Schema>, example: Option<&str>) -> String {
    let mut out = String::new();
    let title = page.title();
    front_matter(
        &mut out,
        &format!("{} {title} - {PROVIDER}", spec.type_name),
        spec.description,
    );
    let _ = write!(
        out,
        "# {} ({title})\n\n{}\n\n",
        spec.type_name,
        spec.description.trim()
    );
    example_usage(&mut out, example);
    schema(&mut out, &spec.attrs, served);
    if page == Page::Resource
        && let Some(id) = spec.import_id
    {
        import(&mut out, spec.type_name, id);
    }
    finish(out)
}

/// The import section. `id` is one format (`<tenant>/<name>`) or several separated by `, or `,
/// each after the first optionally followed by what it is for (`<id> for a personal key`).
fn import(out: &mut String, type_name: &str, id: &str) {
    let formats = import_formats(id);
    let address = format!("{type_name}.{EXAMPLE_NAME}");
    out.push_str("## Import\n\nImport is supported using the following syntax:\n\n");
    out.push_str("In Terraform v1.5.0 and later, the [`import` block](https://developer.hashicorp.com/terraform/language/import) can be used with the `id` attribute, for example:\n\n");
    let (first, _) = formats[0];
    let mut block = format!("import {{\n  to = {address}\n  id = \"{first}\"");
    for (format, purpose) in &formats[1..] {
        let _ = write!(block, " # or{}: \"{format}\"", purpose_text(purpose));
    }
    block.push_str("\n}");
    code_block(out, "terraform", &block);
    out.push_str("The [`terraform import` command](https://developer.hashicorp.com/terraform/cli/commands/import) can be used, for example:\n\n");
    let mut commands = String::new();
    for (i, (format, purpose)) in formats.iter().enumerate() {
        if i > 0 {
            let _ = writeln!(commands, "# or{}:", purpose_text(purpose));
        }
        let _ = writeln!(commands, "terraform import {address} {format}");
    }
    code_block(out, "shell", &commands);
}

/// The formats of an import id and what each is for (empty when not said).
fn import_formats(id: &str) -> Vec<(&str, &str)> {
    id.split(", or ")
        .map(|alternative| {
            // The format ends at the first `>` followed by a space: `<id> for a personal key`
            // (`<email or user id>` has spaces inside its placeholder).
            match alternative.find("> ") {
                Some(end) => (&alternative[..=end], alternative[end + 1..].trim()),
                None => (alternative.trim(), ""),
            }
        })
        .collect()
}

fn purpose_text(purpose: &str) -> String {
    if purpose.is_empty() {
        String::new()
    } else {
        format!(", {purpose}")
    }
}

/// One trailing newline, no trailing spaces.
fn finish(out: String) -> String {
    let mut text = out.trim_end().to_string();
    text.push('\n');
    text
}

/// A group of attributes: its heading at the top level, its heading in a nested section, and
/// which attributes it lists.
struct Group {
    top: &'static str,
    nested: &'static str,
    lists: fn(Mode) -> bool,
}

/// The groups of a schema, in tfplugindocs' order.
const GROUPS: [Group; 3] = [
    Group {
        top: "### Required",
        nested: "Required:",
        lists: |mode| mode == Mode::Required,
    },
    Group {
        top: "### Optional",
        nested: "Optional:",
        lists: |mode| matches!(mode, Mode::Optional | Mode::Default),
    },
    Group {
        top: "### Read-Only",
        nested: "Read-Only:",
        lists: |mode| mode == Mode::Computed,
    },
];

fn schema(out: &mut String, attrs: &[Attr], served: Option<&Schema>) {
    out.push_str("## Schema\n\n");
    attributes(out, &[], attrs, served.map(|s| &s.block.attributes));
}

/// One level of the schema Terraform is given: its attributes by name.
type Served = HashMap<String, Attribute>;

/// The attributes at `path` grouped and sorted by name, then a section for each nested object
/// (depth first, in the order they were listed), as tfplugindocs writes them. `served` is the
/// same level of the schema Terraform is given, whose types win.
fn attributes(out: &mut String, path: &[&str], attrs: &[Attr], served: Option<&Served>) {
    let mut nested: Vec<(Vec<&str>, &Attr, Option<&Served>)> = Vec::new();
    for group in GROUPS {
        let mut listed: Vec<&Attr> = attrs
            .iter()
            .filter(|attr| (group.lists)(attr.mode))
            .collect();
        if listed.is_empty() {
            continue;
        }
        listed.sort_by_key(|attr| attr.name);
        let heading = if path.is_empty() {
            group.top
        } else {
            group.nested
        };
        let _ = write!(out, "{heading}\n\n");
        for attr in listed {
            let mut attr_path = path.to_vec();
            attr_path.push(attr.name);
            let served_attr = served.and_then(|attrs| attrs.get(attr.name));
            let type_name =
                served_attr.map_or_else(|| attr.type_name(), |served| type_name(&served.attr_type));
            let _ = write!(out, "- `{}` ({type_name}", attr.name);
            if attr.sensitive {
                out.push_str(", Sensitive");
            }
            out.push(')');
            let description = description(attr);
            if !description.is_empty() {
                let _ = write!(out, " {description}");
            }
            if attr.children().is_some() {
                let _ = write!(
                    out,
                    " (see [below for nested schema](#{}))",
                    anchor(&attr_path)
                );
                nested.push((attr_path, attr, served_attr.and_then(nested_attributes)));
            }
            out.push('\n');
        }
        out.push('\n');
    }
    for (attr_path, attr, served) in nested {
        let _ = write!(
            out,
            "<a id=\"{}\"></a>\n### Nested Schema for `{}`\n\n",
            anchor(&attr_path),
            attr_path.join(".")
        );
        attributes(out, &attr_path, attr.children().unwrap_or_default(), served);
    }
}

/// How tfplugindocs names a Terraform type.
fn type_name(attr_type: &AttributeType) -> String {
    match attr_type {
        AttributeType::String => "String".into(),
        AttributeType::Number => "Number".into(),
        AttributeType::Bool => "Boolean".into(),
        AttributeType::List(item) => format!("List of {}", type_name(item)),
        AttributeType::Set(item) => format!("Set of {}", type_name(item)),
        AttributeType::Map(item) => format!("Map of {}", type_name(item)),
        AttributeType::Object(_) => "Object".into(),
        AttributeType::Tuple(_) => "Tuple".into(),
        AttributeType::AttributeSingle(_) => "Attributes".into(),
        AttributeType::AttributeList(_) => "Attributes List".into(),
        AttributeType::AttributeSet(_) => "Attributes Set".into(),
        AttributeType::AttributeMap(_) => "Attributes Map".into(),
        AttributeType::Any => "Dynamic".into(),
    }
}

fn nested_attributes(attr: &Attribute) -> Option<&Served> {
    match &attr.attr_type {
        AttributeType::AttributeSingle(attrs)
        | AttributeType::AttributeList(attrs)
        | AttributeType::AttributeSet(attrs)
        | AttributeType::AttributeMap(attrs) => Some(attrs),
        _ => None,
    }
}

fn anchor(path: &[&str]) -> String {
    format!("nestedatt--{}", path.join("--"))
}

/// The description Terraform is given (see `Attr::to_tf`), on one line.
fn description(attr: &Attr) -> String {
    let mut text = attr
        .description
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    if attr.replace {
        if !text.is_empty() {
            text.push(' ');
        }
        text.push_str("Changing it creates a new resource.");
    }
    text
}

/// Markdown as plain text for the front matter: no backticks, emphasis or link targets.
fn plain(markdown: &str) -> String {
    let mut out = String::new();
    let mut rest = markdown.trim();
    while let Some(start) = rest.find('[') {
        let after = &rest[start..];
        let link = after.find("](").and_then(|mid| {
            let end = after[mid..].find(')')? + mid;
            Some((mid, end))
        });
        match link {
            Some((mid, end)) => {
                out.push_str(&rest[..start]);
                out.push_str(&after[1..mid]);
                rest = &after[end + 1..];
            }
            None => {
                out.push_str(&rest[..=start]);
                rest = &rest[start + 1..];
            }
        }
    }
    out.push_str(rest);
    out.replace(['`', '*'], "")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::Kind;

    #[test]
    fn plain_text_drops_code_emphasis_and_link_targets() {
        assert_eq!(
            plain("Uses `PGPLANE_TENANT`, **always**; see [the docs](https://example.com) [sic]."),
            "Uses PGPLANE_TENANT, always; see the docs [sic]."
        );
    }

    #[test]
    fn attributes_are_grouped_sorted_and_nested_sections_follow_depth_first() {
        let attrs = vec![
            Attr::string("zeta", Mode::Required, "Last name.").replace(),
            Attr::string("id", Mode::Computed, "The id."),
            Attr::string("secret", Mode::Default, "A secret.").sensitive(),
            Attr::object(
                "outer",
                Mode::Optional,
                "An object.",
                vec![
                    Attr::object(
                        "inner",
                        Mode::Default,
                        "",
                        vec![Attr::int("n", Mode::Required, "A number.")],
                    ),
                    Attr::new("tags", Kind::StringSet, Mode::Computed, "Tags."),
                ],
            ),
            Attr::new(
                "items",
                Kind::ObjectSet(vec![Attr::bool("on", Mode::Optional, "On.")]),
                Mode::Optional,
                "Items.",
            ),
        ];
        let mut out = String::new();
        schema(&mut out, &attrs, None);
        assert_eq!(
            out,
            "## Schema

### Required

- `zeta` (String) Last name. Changing it creates a new resource.

### Optional

- `items` (Attributes Set) Items. (see [below for nested schema](#nestedatt--items))
- `outer` (Attributes) An object. (see [below for nested schema](#nestedatt--outer))
- `secret` (String, Sensitive) A secret.

### Read-Only

- `id` (String) The id.

<a id=\"nestedatt--items\"></a>
### Nested Schema for `items`

Optional:

- `on` (Boolean) On.

<a id=\"nestedatt--outer\"></a>
### Nested Schema for `outer`

Optional:

- `inner` (Attributes) (see [below for nested schema](#nestedatt--outer--inner))

Read-Only:

- `tags` (Set of String) Tags.

<a id=\"nestedatt--outer--inner\"></a>
### Nested Schema for `outer.inner`

Required:

- `n` (Number) A number.

"
        );
    }

    #[test]
    fn types_are_those_terraform_is_given() {
        let spec = Spec {
            type_name: "pgplane_x",
            description: "X.",
            import_id: None,
            attrs: vec![
                Attr::new("versions", Kind::StringList, Mode::Computed, "Versions."),
                Attr::object(
                    "outer",
                    Mode::Computed,
                    "",
                    vec![Attr::new("sizes", Kind::StringMap, Mode::Computed, "")],
                ),
            ],
        };
        let mut served = spec.to_tf();
        let number_list = AttributeType::List(Box::new(AttributeType::Number));
        served
            .block
            .attributes
            .get_mut("versions")
            .unwrap()
            .attr_type = number_list.clone();
        if let AttributeType::AttributeSingle(inner) =
            &mut served.block.attributes.get_mut("outer").unwrap().attr_type
        {
            inner.get_mut("sizes").unwrap().attr_type = number_list;
        }
        let mut out = String::new();
        schema(&mut out, &spec.attrs, Some(&served));
        assert!(
            out.contains("- `versions` (List of Number) Versions.\n"),
            "{out}"
        );
        assert!(out.contains("- `sizes` (List of Number)\n"), "{out}");
    }

    #[test]
    fn every_type_has_a_page_named_without_the_prefix() {
        let pages = render(Path::new("/nonexistent"));
        assert!(pages.contains_key(Path::new("index.md")));
        assert!(pages.contains_key(Path::new("resources/cluster.md")));
        assert!(pages.contains_key(Path::new("data-sources/cluster.md")));
        assert_eq!(
            pages.len(),
            1 + resources::specs().len() + data_sources::specs().len()
        );
        let cluster = &pages[Path::new("resources/cluster.md")];
        assert!(cluster.starts_with("---\n"), "{cluster}");
        assert!(cluster.contains("\n# pgplane_cluster (Resource)\n"));
        assert!(!cluster.contains("## Example Usage"), "no example file");
        assert!(
            cluster.contains(
                "```shell\nterraform import pgplane_cluster.example <tenant>/<name>\n```\n"
            )
        );
        assert!(
            cluster.contains(
                "import {\n  to = pgplane_cluster.example\n  id = \"<tenant>/<name>\"\n}"
            )
        );
        let mut out = String::new();
        import(
            &mut out,
            "pgplane_api_key",
            "<tenant>/<id>, or <id> for a personal key",
        );
        assert!(
            out.contains("  id = \"<tenant>/<id>\" # or, for a personal key: \"<id>\"\n}"),
            "{out}"
        );
        assert!(
            out.contains("```shell\nterraform import pgplane_api_key.example <tenant>/<id>\n# or, for a personal key:\nterraform import pgplane_api_key.example <id>\n```"),
            "{out}"
        );
        assert_eq!(
            import_formats("<tenant>/<email or user id>"),
            [("<tenant>/<email or user id>", "")]
        );
        let data = &pages[Path::new("data-sources/cluster.md")];
        assert!(data.contains("\n# pgplane_cluster (Data Source)\n"));
        assert!(!data.contains("## Import"));
    }
}
