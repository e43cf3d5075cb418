//! Accounts and sessions, as the app sees them: who is signed in
//! ([`Principal`]), the roles, the errors, the user-administration trait the
//! server implements, and its server functions. The pages are in
//! [`view`]; signing in and out are plain form posts to the server
//! (`POST /auth/login`, `/auth/logout`, `/auth/setup`) that set or clear the
//! session cookie, so they work the same with and without scripts.

pub mod view;

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::ApiError;

/// What an account may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Everything, including managing accounts.
    Admin,
    /// Reads every page and API; changes nothing but their own password.
    Viewer,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Viewer => "viewer",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        match text {
            "admin" => Some(Role::Admin),
            "viewer" => Some(Role::Viewer),
            _ => None,
        }
    }
}

/// Who is making a request: an account, or nobody in particular while
/// Vigil runs open (bound to loopback with no account yet). The server puts
/// it in each admitted request's extensions.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    /// The account name; `None` when Vigil runs open.
    pub name: Option<String>,
    pub role: Role,
}

impl Principal {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// Whether this is the anonymous principal of an open Vigil.
    pub fn is_open(&self) -> bool {
        self.name.is_none()
    }
}

/// An account as the admin page lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub name: String,
    pub role: Role,
    /// Unix milliseconds.
    pub created_ms: i64,
    /// Sessions currently signed in.
    pub sessions: usize,
}

/// The longest account name and password accepted.
pub const MAX_NAME_CHARS: usize = 64;
pub const MIN_PASSWORD_CHARS: usize = 8;
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// Why an account operation failed.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("wrong user name or password")]
    BadCredentials,
    #[error("too many sign-in attempts from your address; try again in {0} s")]
    RateLimited(u64),
    #[error("sign in first")]
    SignedOut,
    #[error("only an admin may do this")]
    Forbidden,
    #[error("user names are 1 to 64 letters, digits, '.', '_', '-' or '@'")]
    BadName,
    #[error("passwords are {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_BYTES} bytes long")]
    BadPassword,
    #[error("the two passwords differ")]
    Mismatch,
    #[error("the current password is wrong")]
    WrongCurrent,
    #[error("unknown role {0:?}: admin or viewer")]
    BadRole(String),
    #[error("an account named {0:?} exists already")]
    Exists(String),
    #[error("no account named {0:?}")]
    NoSuchAccount(String),
    #[error("that would leave no admin account")]
    LastAdmin,
    #[error("the first account exists already; sign in instead")]
    SetupDone,
    /// The account database failed; the detail is logged.
    #[error("accounts unavailable: {0}")]
    Unavailable(String),
}

impl crate::error::PublicError for AuthError {
    fn status(&self) -> u16 {
        match self {
            AuthError::BadCredentials | AuthError::SignedOut => 401,
            AuthError::Forbidden => 403,
            AuthError::NoSuchAccount(_) => 404,
            AuthError::Exists(_) | AuthError::LastAdmin | AuthError::SetupDone => 409,
            AuthError::RateLimited(_) => 429,
            AuthError::Unavailable(_) => 503,
            AuthError::BadName
            | AuthError::BadPassword
            | AuthError::Mismatch
            | AuthError::BadRole(_)
            | AuthError::WrongCurrent => 400,
        }
    }

    fn public_message(&self) -> String {
        match self {
            AuthError::Unavailable(_) => "accounts are unavailable right now".into(),
            other => other.to_string(),
        }
    }
}

impl AuthError {
    /// A short word for the sign-in and setup pages' `?error=` parameter
    /// (the pages show [`describe`]'s text for it, never text from the URL).
    pub fn code(&self) -> &'static str {
        match self {
            AuthError::BadCredentials => "credentials",
            AuthError::RateLimited(_) => "limited",
            AuthError::BadName => "name",
            AuthError::BadPassword => "password",
            AuthError::Mismatch => "mismatch",
            AuthError::SetupDone => "done",
            _ => "unavailable",
        }
    }
}

/// The sign-in page, coming back to `next` (a path with its query)
/// afterwards: what the server redirects a signed-out visitor to, and what
/// a page whose session ended links to.
pub fn login_href(next: &str) -> String {
    let next: String = next
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    format!("/login?next={next}")
}

/// The message for an `?error=` code (with `?wait=` seconds for the rate limit).
pub fn describe(code: &str, wait: Option<u64>) -> Option<String> {
    use crate::error::PublicError;
    let err = match code {
        "credentials" => AuthError::BadCredentials,
        "limited" => AuthError::RateLimited(wait.unwrap_or(60)),
        "name" => AuthError::BadName,
        "password" => AuthError::BadPassword,
        "mismatch" => AuthError::Mismatch,
        "done" => AuthError::SetupDone,
        "unavailable" => AuthError::Unavailable(String::new()),
        _ => return None,
    };
    Some(sentence(&err.public_message()))
}

/// An error message as a sentence: a capital first letter and a full stop.
pub fn sentence(message: &str) -> String {
    let mut chars = message.chars();
    let Some(first) = chars.next() else {
        return String::new();
    };
    let mut text: String = first.to_uppercase().chain(chars).collect();
    if !text.ends_with('.') {
        text.push('.');
    }
    text
}

/// Checks an account name: short, and plain enough to show anywhere.
pub fn validate_name(name: &str) -> Result<(), AuthError> {
    let plain = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@');
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS || !name.chars().all(plain) {
        return Err(AuthError::BadName);
    }
    Ok(())
}

/// Checks a new password's length (in characters at least, in bytes at most).
pub fn validate_password(password: &str) -> Result<(), AuthError> {
    if password.chars().count() < MIN_PASSWORD_CHARS || password.len() > MAX_PASSWORD_BYTES {
        return Err(AuthError::BadPassword);
    }
    Ok(())
}

/// Checks a new password typed twice: its length, then that both agree.
pub fn validate_new_password(password: &str, confirm: &str) -> Result<(), AuthError> {
    validate_password(password)?;
    if password != confirm {
        return Err(AuthError::Mismatch);
    }
    Ok(())
}

#[cfg(feature = "ssr")]
pub use ssr::*;

#[cfg(feature = "ssr")]
mod ssr {
    use std::sync::Arc;

    use super::*;

    /// Account administration, implemented by the server.
    #[async_trait::async_trait]
    pub trait Accounts: Send + Sync + 'static {
        /// Every account, by name.
        async fn list(&self) -> Result<Vec<Account>, AuthError>;
        async fn add(&self, name: String, password: String, role: Role) -> Result<(), AuthError>;
        /// Removes the account and signs out its sessions.
        async fn remove(&self, name: String) -> Result<(), AuthError>;
        /// Sets a password and signs out the account's other sessions.
        /// With `current`, only if that is the account's password now
        /// (changing one's own password asks for it).
        async fn set_password(
            &self,
            name: String,
            password: String,
            keep_session: Option<String>,
            current: Option<String>,
        ) -> Result<(), AuthError>;
        /// Signs out every session of an account; returns how many.
        async fn sign_out(&self, name: String) -> Result<usize, AuthError>;
    }

    /// The accounts service provided for this request.
    pub fn use_accounts() -> Result<Arc<dyn Accounts>, AuthError> {
        use_context::<Arc<dyn Accounts>>()
            .ok_or_else(|| AuthError::Unavailable("no Accounts in the server function's context".into()))
    }

    /// The principal the server admitted this request as.
    pub fn principal() -> Option<Principal> {
        use_context::<http::request::Parts>().and_then(|parts| parts.extensions.get::<Principal>().cloned())
    }

    /// The hash of this request's session token, as the server stored it
    /// beside the principal (`None` when Vigil runs open).
    pub fn session_id() -> Option<String> {
        use_context::<http::request::Parts>().and_then(|parts| parts.extensions.get::<SessionId>().map(|s| s.0.clone()))
    }

    /// The id of the session a request came with (a hash of its token).
    #[derive(Clone, Debug)]
    pub struct SessionId(pub String);

    /// The principal, or `SignedOut`.
    pub fn require_principal() -> Result<Principal, AuthError> {
        principal().ok_or(AuthError::SignedOut)
    }

    /// The principal if it is an admin.
    pub fn require_admin() -> Result<Principal, AuthError> {
        let who = require_principal()?;
        if who.is_admin() {
            Ok(who)
        } else {
            Err(AuthError::Forbidden)
        }
    }
}

/// Who this request is signed in as: `GET /api/v1/me`. `None` on the
/// sign-in pages (which the server serves to anyone).
#[server(prefix = "/api/v1", endpoint = "me", input = leptos::server_fn::codec::GetUrl)]
pub async fn who_am_i() -> Result<Option<Principal>, ApiError> {
    Ok(principal())
}

/// Every account: `GET /api/v1/users` (admins only).
#[server(prefix = "/api/v1", endpoint = "users", input = leptos::server_fn::codec::GetUrl)]
pub async fn list_accounts() -> Result<Vec<Account>, ApiError> {
    require_admin()?;
    Ok(use_accounts()?.list().await?)
}

/// Adds an account: `POST /api/v1/users/add` (admins only).
#[server(prefix = "/api/v1", endpoint = "users/add")]
pub async fn add_account(name: String, password: String, confirm: String, role: String) -> Result<(), ApiError> {
    require_admin()?;
    let name = name.trim().to_string();
    validate_name(&name)?;
    validate_new_password(&password, &confirm)?;
    let role = Role::parse(&role).ok_or_else(|| AuthError::BadRole(role.chars().take(20).collect()))?;
    Ok(use_accounts()?.add(name, password, role).await?)
}

/// Removes an account and signs it out: `POST /api/v1/users/remove` (admins only).
#[server(prefix = "/api/v1", endpoint = "users/remove")]
pub async fn remove_account(name: String) -> Result<(), ApiError> {
    require_admin()?;
    validate_name(&name)?;
    Ok(use_accounts()?.remove(name).await?)
}

/// Sets an account's password: `POST /api/v1/users/password`. Admins may
/// set any; everyone may set their own, giving the current one in
/// `current` (whoever holds a session must still know the password to
/// change it). Other sessions of that account are signed out; the
/// caller's own stays.
#[server(prefix = "/api/v1", endpoint = "users/password")]
pub async fn set_password(
    name: String,
    password: String,
    confirm: String,
    #[server(default)] current: Option<String>,
) -> Result<(), ApiError> {
    let who = require_principal()?;
    let own = who.name.as_deref() == Some(name.as_str());
    if !who.is_admin() && !own {
        return Err(AuthError::Forbidden.into());
    }
    validate_name(&name)?;
    validate_new_password(&password, &confirm)?;
    let current = if own {
        let current = current.filter(|c| !c.is_empty()).ok_or(AuthError::WrongCurrent)?;
        if current.len() > MAX_PASSWORD_BYTES {
            return Err(AuthError::WrongCurrent.into());
        }
        Some(current)
    } else {
        None
    };
    Ok(use_accounts()?
        .set_password(name, password, session_id(), current)
        .await?)
}

/// Signs out every session of an account: `POST /api/v1/users/sign-out` (admins only).
#[server(prefix = "/api/v1", endpoint = "users/sign-out")]
pub async fn sign_out_account(name: String) -> Result<usize, ApiError> {
    require_admin()?;
    validate_name(&name)?;
    Ok(use_accounts()?.sign_out(name).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Defence in depth: the engines are handed out only to a principal,
    /// whatever the gate decided. Without one, every accessor says "sign
    /// in first" (401) before it even looks for its engine; with one, it
    /// goes on to look (and here finds none: 503).
    #[cfg(feature = "ssr")]
    #[test]
    fn no_engine_is_handed_out_without_a_principal() {
        use crate::error::PublicError;
        fn statuses() -> [u16; 4] {
            [
                crate::metrics::use_metrics().err().map_or(0, |e| e.status()),
                crate::fleet::use_fleet().err().map_or(0, |e| e.status()),
                crate::health::use_health().err().map_or(0, |e| e.status()),
                crate::checks::use_checks().err().map_or(0, |e| e.status()),
            ]
        }
        let owner = Owner::new();
        owner.with(|| assert_eq!(statuses(), [401; 4], "no request parts at all"));
        let owner = Owner::new();
        owner.with(|| {
            let (parts, ()) = http::Request::new(()).into_parts();
            provide_context(parts);
            assert_eq!(statuses(), [401; 4], "a request the gate found no principal for");
        });
        let owner = Owner::new();
        owner.with(|| {
            let (mut parts, ()) = http::Request::new(()).into_parts();
            parts.extensions.insert(Principal {
                name: Some("eve".into()),
                role: Role::Viewer,
            });
            provide_context(parts);
            assert_eq!(statuses(), [503; 4], "a principal gets as far as the engine");
        });
    }

    #[test]
    fn the_page_to_come_back_to_is_encoded() {
        assert_eq!(login_href("/"), "/login?next=/");
        assert_eq!(
            login_href("/checks?q=a b&x=1"),
            "/login?next=/checks%3Fq%3Da%20b%26x%3D1"
        );
    }
    use crate::error::PublicError;

    #[test]
    fn names_are_plain_and_short() {
        assert_eq!(validate_name("ops-team_1.a@b"), Ok(()));
        for bad in ["", "with space", "semi;colon", "ünïcode", &"a".repeat(65)] {
            assert_eq!(validate_name(bad), Err(AuthError::BadName), "{bad:?}");
        }
    }

    #[test]
    fn passwords_have_a_floor_and_a_ceiling() {
        assert_eq!(validate_password("short"), Err(AuthError::BadPassword));
        assert_eq!(validate_password("long enough"), Ok(()));
        assert_eq!(validate_password(&"x".repeat(1025)), Err(AuthError::BadPassword));
    }

    #[test]
    fn errors_map_to_statuses_and_hide_internals() {
        assert_eq!(AuthError::BadCredentials.status(), 401);
        assert_eq!(AuthError::RateLimited(3).status(), 429);
        assert!(AuthError::RateLimited(42).public_message().contains("42 s"));
        let internal = AuthError::Unavailable("disk I/O error at /var/lib".into());
        assert_eq!(internal.status(), 503);
        assert!(!internal.public_message().contains("/var/lib"));
    }

    #[test]
    fn error_codes_describe_themselves_and_nothing_else() {
        for err in [
            AuthError::BadCredentials,
            AuthError::BadName,
            AuthError::Mismatch,
            AuthError::SetupDone,
        ] {
            let text = describe(err.code(), None).unwrap();
            assert!(
                text.to_lowercase().starts_with(&err.to_string().to_lowercase()),
                "{text}"
            );
        }
        assert_eq!(
            describe("limited", Some(12)).as_deref(),
            Some("Too many sign-in attempts from your address; try again in 12 s.")
        );
        assert_eq!(describe("<script>", None), None);
    }

    #[test]
    fn roles_round_trip_as_lowercase_words() {
        for role in [Role::Admin, Role::Viewer] {
            assert_eq!(Role::parse(role.as_str()), Some(role));
            assert_eq!(serde_json::to_string(&role).unwrap(), format!("\"{}\"", role.as_str()));
        }
        assert_eq!(Role::parse("root"), None);
    }
}
