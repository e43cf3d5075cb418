//! What the config's arrays of tables (`[[checks]]`, `[[alerts]]`,
//! `[[notify]]`, `[[maintenance]]`) share: the error an entry's rules
//! report ([`Invalid`], which the loader turns into the file, the line and
//! the key), and the URL rule their endpoints follow.

/// A rule an entry of an array of tables broke.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Invalid {
    /// The array: `"checks"`, `"alerts"`, `"notify"`, `"maintenance"`.
    pub(crate) section: &'static str,
    /// Which entry (0-based, in file order).
    pub(crate) index: usize,
    /// The offending key; `None` for the entry as a whole.
    pub(crate) field: Option<&'static str>,
    pub(crate) message: String,
}

impl Invalid {
    /// The key as config errors name it, e.g. `checks[1].timeout`.
    pub(crate) fn key(&self) -> String {
        match self.field {
            Some(field) => format!("{}[{}].{field}", self.section, self.index),
            None => format!("{}[{}]", self.section, self.index),
        }
    }
}

/// An absolute URL with one of `schemes` and a host.
pub(crate) fn check_url(url: &str, schemes: &[&str]) -> Result<(), String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("{url:?} is not a URL: {e}"))?;
    if !schemes.contains(&parsed.scheme()) {
        return Err(format!(
            "{url:?} is not a {} URL",
            schemes
                .iter()
                .map(|s| format!("{s}://"))
                .collect::<Vec<_>>()
                .join(" or ")
        ));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(format!("{url:?} has no host"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert!(check_url("https://example.com/x", &["http", "https"]).is_ok());
        assert!(check_url("ws://127.0.0.1:1/", &["ws", "wss"]).is_ok());
        let err = check_url("ftp://example.com", &["http", "https"]).unwrap_err();
        assert!(err.contains("not a http:// or https:// URL"), "{err}");
        let err = check_url("example.com", &["http", "https"]).unwrap_err();
        assert!(err.contains("is not a URL"), "{err}");
    }

    #[test]
    fn keys_name_the_entry_and_field() {
        let mut e = Invalid {
            section: "notify",
            index: 2,
            field: Some("url"),
            message: String::new(),
        };
        assert_eq!(e.key(), "notify[2].url");
        e.field = None;
        assert_eq!(e.key(), "notify[2]");
    }
}
