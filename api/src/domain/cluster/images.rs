//! The PostgreSQL images a platform team has approved, one per major version
//! (`PGPLANE_POSTGRES_IMAGES=17=registry/crunchy-postgres:ubi9-17.6-2550,18=...`). A cluster is
//! pinned to its major's image when it is created; a newer image for that major is a minor
//! version upgrade the tenant runs when it suits it (PGO rolls the instances, replicas first).
//! Without a catalog, clusters run the operator's default images and move to a new minor
//! version when the platform team upgrades PGO.

use std::collections::BTreeMap;

use super::spec::bounds;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageCatalog {
    images: BTreeMap<u32, String>,
}

impl ImageCatalog {
    /// Reads `major=image` pairs separated by commas; every problem at once.
    pub fn parse(text: &str) -> Result<Self, Vec<String>> {
        let mut images = BTreeMap::new();
        let mut problems = Vec::new();
        for pair in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let Some((major, image)) = pair.split_once('=') else {
                problems.push(format!("`{pair}` is not `<major>=<image>`"));
                continue;
            };
            let (major, image) = (major.trim(), image.trim());
            match major.parse::<u32>() {
                Ok(m) if bounds::POSTGRES_VERSIONS.contains(&m) => {
                    if let Err(e) = check_image(image) {
                        problems.push(format!("{major}: {e}"));
                    } else if images.insert(m, image.to_string()).is_some() {
                        problems.push(format!("{major} is listed twice"));
                    }
                }
                _ => problems.push(format!(
                    "`{major}` is not a supported major version ({}-{})",
                    bounds::POSTGRES_VERSIONS.start(),
                    bounds::POSTGRES_VERSIONS.end()
                )),
            }
        }
        if problems.is_empty() {
            Ok(Self { images })
        } else {
            Err(problems)
        }
    }

    /// A catalog of the given images (a platform's own, already known to be runnable).
    pub fn from_images(images: impl IntoIterator<Item = (u32, String)>) -> Self {
        Self {
            images: images.into_iter().collect(),
        }
    }

    /// The approved image of `major`, if the catalog names one.
    pub fn image_for(&self, major: u32) -> Option<&str> {
        self.images.get(&major).map(String::as_str)
    }

    pub fn is_empty(&self) -> bool {
        self.images.is_empty()
    }
}

/// A container image reference with a tag or digest (never an implicit `latest`).
fn check_image(image: &str) -> Result<(), String> {
    if image.is_empty() || image.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("`{image}` is not an image reference"));
    }
    let last = image.rsplit('/').next().unwrap_or(image);
    if !last.contains(':') && !image.contains('@') {
        return Err(format!(
            "`{image}` has no tag or digest: pin a version, not `latest`"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_catalog_names_one_pinned_image_per_supported_major() {
        let catalog = ImageCatalog::parse(
            "17=registry.example/crunchy-postgres:ubi9-17.6-2550, 18=registry.example/pg@sha256:abc",
        )
        .unwrap();
        assert_eq!(
            catalog.image_for(17),
            Some("registry.example/crunchy-postgres:ubi9-17.6-2550")
        );
        assert_eq!(catalog.image_for(16), None);
        assert!(ImageCatalog::parse("").unwrap().is_empty());
    }

    #[test]
    fn every_problem_is_reported() {
        let problems =
            ImageCatalog::parse("9=a:1,17=registry:5000/postgres,18=x:1,18=y:2,junk").unwrap_err();
        assert_eq!(problems.len(), 4, "{problems:?}");
        assert!(problems[0].contains("not a supported major"));
        assert!(problems[1].contains("no tag or digest"));
        assert!(problems[2].contains("twice"));
        assert!(problems[3].contains("not `<major>=<image>`"));
    }
}
