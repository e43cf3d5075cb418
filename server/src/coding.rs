//! Content codings: whether a request's `Accept-Encoding` takes one. The
//! built site's files and the status pages are compressed ahead of time,
//! and both pick the copy to send the same way.

use axum::http::{header, HeaderMap};

/// Whether `Accept-Encoding` takes `name` (`br`, `gzip`), by name or `*`;
/// a `q=0` refuses it.
pub(crate) fn accepts(headers: &HeaderMap, name: &str) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|item| {
            let mut parts = item.split(';').map(str::trim);
            let coding = parts.next().unwrap_or_default();
            let refused = parts.any(|p| {
                p.strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            (coding.eq_ignore_ascii_case(name) || coding == "*") && !refused
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT_ENCODING, value.parse().unwrap());
        h
    }

    #[test]
    fn codings_are_taken_by_name_or_star_unless_refused() {
        assert!(accepts(&with("gzip, br"), "br"));
        assert!(accepts(&with("GZIP"), "gzip"));
        assert!(accepts(&with("*"), "br"));
        assert!(!accepts(&with("br;q=0, gzip"), "br"));
        assert!(accepts(&with("br;q=0.5"), "br"));
        assert!(!accepts(&with("deflate"), "gzip"));
        assert!(!accepts(&HeaderMap::new(), "gzip"));
    }
}
