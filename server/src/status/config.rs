//! `[[status_pages]]`: public pages for the people who use the services.
//!
//! ```toml
//! [[status_pages]]
//! slug = "public"                 # served at /status/public
//! title = "Example status"
//! description = "Our API and website."
//! hostname = "status.example.com" # optional: this Host gets the page at /
//! checks = ["website"]            # shown first, without a heading
//!
//! [[status_pages.groups]]
//! name = "API"
//! checks = ["api-eu", "api-us"]
//! ```

use serde::Deserialize;

use crate::entries::Invalid;

/// One status page.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusPageConfig {
    /// 1 to 64 of `a-z`, `0-9`, `-`: the page's path, `/status/SLUG`.
    pub slug: String,
    pub title: String,
    pub description: Option<String>,
    /// A host name (a status subdomain) whose requests for `/` get this page.
    pub hostname: Option<String>,
    /// Checks shown first, without a group heading.
    #[serde(default)]
    pub checks: Vec<String>,
    /// Checks shown under a heading each.
    #[serde(default)]
    pub groups: Vec<GroupConfig>,
    /// Whether a listed check going down opens a draft incident for an
    /// admin to publish (default true).
    #[serde(default = "yes")]
    pub draft_incidents: bool,
}

/// A heading and its checks.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupConfig {
    pub name: String,
    pub checks: Vec<String>,
}

fn yes() -> bool {
    true
}

impl StatusPageConfig {
    /// Every check the page shows, in order.
    pub(crate) fn all_checks(&self) -> impl Iterator<Item = &String> {
        self.checks
            .iter()
            .chain(self.groups.iter().flat_map(|g| g.checks.iter()))
    }
}

/// Slugs that are files under `/status/`, not pages.
const RESERVED: &[&str] = &["assets"];

/// Checks every page against the rules and the check names.
pub(crate) fn validate(pages: &[StatusPageConfig], check_names: &[&str]) -> Result<(), Invalid> {
    let mut slugs = std::collections::HashMap::new();
    let mut hosts = std::collections::HashMap::new();
    for (index, page) in pages.iter().enumerate() {
        let fail = |field: &'static str, message: String| Invalid {
            section: "status_pages",
            index,
            field: Some(field),
            message: format!("status page {:?}: {message}", page.slug),
        };
        let slug_ok = !page.slug.is_empty()
            && page.slug.len() <= 64
            && page
                .slug
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !slug_ok || RESERVED.contains(&page.slug.as_str()) {
            return Err(fail(
                "slug",
                "a slug is 1 to 64 of a-z, 0-9 and '-' (it is the page's path)".into(),
            ));
        }
        if let Some(first) = slugs.insert(page.slug.as_str(), index) {
            return Err(fail(
                "slug",
                format!("duplicate slug (status_pages[{first}] has it too)"),
            ));
        }
        if page.title.trim().is_empty() || page.title.len() > 200 {
            return Err(fail("title", "a title of 1 to 200 bytes".into()));
        }
        if page.description.as_ref().is_some_and(|d| d.len() > 2000) {
            return Err(fail("description", "at most 2,000 bytes".into()));
        }
        if let Some(host) = &page.hostname {
            let ok = !host.is_empty()
                && host.len() <= 253
                && host
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
            if !ok {
                return Err(fail(
                    "hostname",
                    format!("{host:?} is not a lowercase host name (like status.example.com)"),
                ));
            }
            if let Some(first) = hosts.insert(host.as_str(), index) {
                return Err(fail(
                    "hostname",
                    format!("status_pages[{first}] has this host name too"),
                ));
            }
        }
        for group in &page.groups {
            if group.name.trim().is_empty() || group.name.len() > 100 {
                return Err(fail("groups", "a group name of 1 to 100 bytes".into()));
            }
        }
        let mut seen = std::collections::HashSet::new();
        for check in page.all_checks() {
            if !check_names.contains(&check.as_str()) {
                return Err(fail("checks", format!("no check is named {check:?}")));
            }
            if !seen.insert(check) {
                return Err(fail("checks", format!("{check:?} is listed twice")));
            }
        }
        if seen.is_empty() {
            return Err(fail("checks", "a status page shows at least one check".into()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(slug: &str, checks: &[&str]) -> StatusPageConfig {
        StatusPageConfig {
            slug: slug.into(),
            title: "T".into(),
            description: None,
            hostname: None,
            checks: checks.iter().map(|c| c.to_string()).collect(),
            groups: vec![],
            draft_incidents: true,
        }
    }

    #[test]
    fn pages_name_known_checks_once_under_a_clean_slug() {
        let names = ["api", "web"];
        assert!(validate(&[page("public", &["api"])], &names).is_ok());
        let err = validate(&[page("Public", &["api"])], &names).unwrap_err();
        assert_eq!(err.key(), "status_pages[0].slug");
        let err = validate(&[page("a.json", &["api"])], &names).unwrap_err();
        assert_eq!(err.key(), "status_pages[0].slug");
        let err = validate(&[page("p", &["api"]), page("p", &["web"])], &names).unwrap_err();
        assert_eq!(err.key(), "status_pages[1].slug");
        let err = validate(&[page("p", &["nope"])], &names).unwrap_err();
        assert!(err.message.contains("\"nope\""), "{}", err.message);
        let mut twice = page("p", &["api"]);
        twice.groups.push(GroupConfig {
            name: "G".into(),
            checks: vec!["api".into()],
        });
        assert!(validate(&[twice], &names).unwrap_err().message.contains("twice"));
        assert!(validate(&[page("p", &[])], &names).is_err());
        let mut host = page("p", &["api"]);
        host.hostname = Some("Status.Example.com".into());
        assert_eq!(validate(&[host], &names).unwrap_err().key(), "status_pages[0].hostname");
    }
}
