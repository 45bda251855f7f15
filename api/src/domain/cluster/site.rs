//! Where a cluster runs. Every cluster starts on its tenant's home site; a platform may
//! configure a disaster-recovery site (on Kubernetes: another namespace per tenant), and then a
//! standby is placed on the site its source is not on. A cluster keeps its site for life,
//! through promotion: a promoted standby is the new primary where it stands.

use std::fmt;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The site a cluster runs on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Site {
    /// The tenant's own place (on Kubernetes, its namespace).
    #[default]
    Home,
    /// The disaster-recovery site the platform configured.
    Recovery,
}

impl Site {
    /// The stored and serialized name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Home => "home",
            Self::Recovery => "recovery",
        }
    }

    /// The stored name back; `None` for anything else.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "home" => Some(Self::Home),
            "recovery" => Some(Self::Recovery),
            _ => None,
        }
    }

    /// Where a standby of a cluster on this site goes: the other site when the platform has a
    /// recovery site (so losing one site never loses both copies), else alongside its source.
    pub fn for_standby(self, recovery_site_configured: bool) -> Self {
        match (recovery_site_configured, self) {
            (false, site) => site,
            (true, Self::Home) => Self::Recovery,
            (true, Self::Recovery) => Self::Home,
        }
    }
}

impl fmt::Display for Site {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_standby_goes_to_the_other_site_only_when_there_is_one() {
        assert_eq!(Site::Home.for_standby(false), Site::Home);
        assert_eq!(Site::Home.for_standby(true), Site::Recovery);
        assert_eq!(Site::Recovery.for_standby(true), Site::Home, "failback");
        for site in [Site::Home, Site::Recovery] {
            assert_eq!(Site::parse(site.as_str()), Some(site));
        }
        assert_eq!(Site::parse("elsewhere"), None);
    }
}
