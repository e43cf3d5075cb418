//! Outgoing HTTP, as every part that asks another server sees it: who
//! Vigil says it is, how it authenticates to an engine, how a URL is shown
//! in logs (never its credentials), and how a failed request is put in
//! words (never reqwest's own, which carry the URL).

use std::path::PathBuf;
use std::time::Duration;

/// The `User-Agent` of Vigil's own requests to engines and receivers.
pub(crate) const USER_AGENT: &str = concat!("vigil/", env!("CARGO_PKG_VERSION"));

/// Checks an engine URL: absolute `http` or `https`.
pub(crate) fn validate_url(url: &str) -> Result<(), String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("not a URL ({e})"))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(format!(
            "{:?} must be an http:// or https:// URL with a host",
            redact_url(url)
        ));
    }
    Ok(())
}

/// An engine URL fit for logs and summaries: without the credentials it
/// may carry (`user:pass@`) or its query (which may hold a key).
pub fn redact_url(url: &str) -> String {
    let Ok(mut parsed) = reqwest::Url::parse(url) else {
        return "(not a URL)".into();
    };
    let had_query = parsed.query().is_some();
    let _ = parsed.set_username("");
    let _ = parsed.set_password(None);
    if !parsed.username().is_empty() || parsed.password().is_some() {
        // A URL whose credentials cannot be taken out (no host).
        return format!("{}://…", parsed.scheme());
    }
    parsed.set_query(None);
    parsed.set_fragment(None);
    let mut text = parsed.to_string();
    if had_query {
        text.push_str("?…");
    }
    text
}

/// How requests to the engine authenticate, read once from the files.
#[derive(Clone, Default)]
pub enum Credentials {
    #[default]
    None,
    Bearer(String),
    Basic {
        user: String,
        password: String,
    },
}

impl std::fmt::Debug for Credentials {
    /// Never prints a secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Credentials::None => "None",
            Credentials::Bearer(_) => "Bearer(..)",
            Credentials::Basic { .. } => "Basic(..)",
        })
    }
}

impl Credentials {
    /// Reads the token or password file (trailing newline trimmed); a
    /// bearer token wins over basic auth.
    pub(crate) fn read(
        bearer_token_file: Option<&PathBuf>,
        basic_user: Option<&str>,
        basic_password_file: Option<&PathBuf>,
    ) -> std::io::Result<Credentials> {
        let read = |path: &PathBuf| {
            crate::private::read_secret(path)
                .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", path.display())))
        };
        if let Some(path) = bearer_token_file {
            return Ok(Credentials::Bearer(read(path)?));
        }
        if let Some(user) = basic_user {
            let password = basic_password_file.map(read).transpose()?.unwrap_or_default();
            return Ok(Credentials::Basic {
                user: user.to_string(),
                password,
            });
        }
        Ok(Credentials::None)
    }

    /// Adds the `Authorization` header, if any.
    pub(crate) fn apply(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match self {
            Credentials::None => request,
            Credentials::Bearer(token) => request.bearer_auth(token),
            Credentials::Basic { user, password } => request.basic_auth(user, Some(password)),
        }
    }
}

/// A request error in words, without the URL (it may hold a key):
/// "connect refused", "timed out after 3 s", "connect failed: invalid peer
/// certificate: Expired".
pub(crate) fn describe_error(err: &reqwest::Error, timeout: Duration) -> String {
    use std::error::Error;
    if err.is_timeout() {
        return format!("timed out after {}", human(timeout));
    }
    let mut source = err.source();
    let mut innermost = None;
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            if matches!(
                io.kind(),
                std::io::ErrorKind::ConnectionRefused | std::io::ErrorKind::ConnectionReset
            ) {
                return describe_io(io);
            }
        }
        innermost = Some(e);
        source = e.source();
    }
    // Never reqwest's own words at the top: they carry the URL.
    let detail = innermost.map_or_else(|| "no detail".to_string(), |e| e.to_string());
    if err.is_connect() {
        format!("connect failed: {detail}")
    } else if err.is_body() || err.is_decode() {
        format!("reading the body failed: {detail}")
    } else if err.is_redirect() {
        format!("redirect failed: {detail}")
    } else {
        format!("request failed: {detail}")
    }
}

/// A connection error in words ("connect refused", "connect timed out").
pub(crate) fn describe_io(err: &std::io::Error) -> String {
    use std::io::ErrorKind;
    match err.kind() {
        ErrorKind::ConnectionRefused => "connect refused".into(),
        ErrorKind::ConnectionReset => "connection reset".into(),
        ErrorKind::ConnectionAborted => "connection aborted".into(),
        ErrorKind::TimedOut => "connect timed out".into(),
        ErrorKind::HostUnreachable | ErrorKind::NetworkUnreachable => format!("unreachable: {err}"),
        _ => format!("connect failed: {err}"),
    }
}

/// A duration as a reason says it: "850 ms", "3 s", "2.5 s".
pub(crate) fn human(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        format!("{ms} ms")
    } else if ms.is_multiple_of(1000) {
        format!("{} s", ms / 1000)
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_well() {
        assert_eq!(human(Duration::from_millis(500)), "500 ms");
        assert_eq!(human(Duration::from_secs(3)), "3 s");
        assert_eq!(human(Duration::from_millis(1500)), "1.5 s");
    }
}
