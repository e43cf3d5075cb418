//! One path for every layer: a request whose path is not in normal form is
//! refused before anything looks at it.
//!
//! The gate decides by the path's text (`/auth/…` is public), the router
//! matches the raw text, and the page router resolves `..` and decodes
//! percent escapes. A path on which they could disagree, such as
//! `/auth/../hosts` or `/pkg/%2e%2e/checks`, is one the gate would wave
//! through and the page router would render with the host's data. So the
//! forms that can mean another path are refused outright (400, JSON):
//! dot segments, raw or percent-encoded; encoded slashes and backslashes;
//! raw backslashes; empty segments (`//`); NUL and other control bytes;
//! and escapes that decode to another escape (double encoding). Browsers
//! resolve dot segments themselves before sending, so no real page asks
//! for any of these.

use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use app::error::ApiError;

/// Why a path is not in normal form.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum NotNormal {
    #[error("a \".\" or \"..\" segment")]
    DotSegment,
    #[error("an empty segment (\"//\")")]
    EmptySegment,
    #[error("a backslash")]
    Backslash,
    #[error("an encoded \"/\" or \"\\\"")]
    EncodedSeparator,
    #[error("a control character")]
    Control,
    #[error("a broken or double percent escape")]
    BadEscape,
}

/// Checks that `path` (as sent, before decoding) is in normal form.
pub(crate) fn check(path: &str) -> Result<(), NotNormal> {
    if !path.starts_with('/') {
        // `*` (OPTIONS) and absolute forms reach here only as paths.
        return Err(NotNormal::EmptySegment);
    }
    let segments: Vec<&str> = path[1..].split('/').collect();
    let last = segments.len() - 1;
    for (i, raw) in segments.iter().enumerate() {
        // A trailing slash is an empty last segment, which is fine; `//` is not.
        if raw.is_empty() && i != last {
            return Err(NotNormal::EmptySegment);
        }
        let decoded = decode(raw)?;
        if decoded == "." || decoded == ".." {
            return Err(NotNormal::DotSegment);
        }
        if decoded.contains('\\') {
            return Err(if raw.contains('\\') {
                NotNormal::Backslash
            } else {
                NotNormal::EncodedSeparator
            });
        }
        if decoded.contains('/') {
            return Err(NotNormal::EncodedSeparator);
        }
        if decoded.bytes().any(|b| b.is_ascii_control()) {
            return Err(NotNormal::Control);
        }
        // An escaped `%` only serves to be decoded a second time.
        if decoded.contains('%') {
            return Err(NotNormal::BadEscape);
        }
    }
    Ok(())
}

/// Percent-decodes one segment (bytes, lossily as text: the checks above
/// only look for ASCII).
fn decode(segment: &str) -> Result<String, NotNormal> {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3).ok_or(NotNormal::BadEscape)?;
            let text = std::str::from_utf8(hex).map_err(|_| NotNormal::BadEscape)?;
            let byte = u8::from_str_radix(text, 16).map_err(|_| NotNormal::BadEscape)?;
            out.push(byte);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// The middleware: a 400 for a path not in normal form.
pub(crate) async fn normal_path(request: Request, next: Next) -> Response {
    if let Err(why) = check(request.uri().path()) {
        return ApiError::with_status(
            StatusCode::BAD_REQUEST,
            format!("the request path is not in normal form: it has {why}"),
        )
        .into_response();
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_paths_pass() {
        for path in [
            "/",
            "/checks",
            "/checks/",
            "/checks/api.example.com",
            "/checks/a%20b",
            "/pkg/vigil.wasm",
            "/explore",
            "/api/v1/query",
            "/.well-known/x",
            "/a..b/c.",
            "/%E2%9C%93",
        ] {
            assert_eq!(check(path), Ok(()), "{path}");
        }
    }

    #[test]
    fn every_form_of_another_path_is_refused() {
        for (path, why) in [
            ("/auth/../", NotNormal::DotSegment),
            ("/auth/..", NotNormal::DotSegment),
            ("/auth/./login", NotNormal::DotSegment),
            ("/pkg/%2e%2e/checks", NotNormal::DotSegment),
            ("/pkg/%2E%2e/checks", NotNormal::DotSegment),
            ("/icons/.%2e/explore", NotNormal::DotSegment),
            ("/icons/%2e/explore", NotNormal::DotSegment),
            ("/auth//hosts", NotNormal::EmptySegment),
            ("//hosts", NotNormal::EmptySegment),
            ("/auth\\..\\hosts", NotNormal::Backslash),
            ("/auth/%5c..%5chosts", NotNormal::EncodedSeparator),
            ("/auth%2f..%2fhosts", NotNormal::EncodedSeparator),
            ("/auth/%2F", NotNormal::EncodedSeparator),
            ("/auth/%00", NotNormal::Control),
            ("/auth/%09", NotNormal::Control),
            ("/auth/%252e%252e/hosts", NotNormal::BadEscape),
            ("/auth/%2", NotNormal::BadEscape),
            ("/auth/%zz", NotNormal::BadEscape),
            ("*", NotNormal::EmptySegment),
        ] {
            assert_eq!(check(path), Err(why), "{path}");
        }
    }
}
