//! The accounts, sessions and door policy, on a real account database in a temp dir.

use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

use app::auth::{AuthError, Role};
use axum::http::HeaderMap;

use super::cookie::{session_cookie, session_id, COOKIE};
use super::*;
fn options(dir: &Path, loopback: bool) -> AuthOptions {
    AuthOptions {
        data_dir: dir.to_path_buf(),
        loopback,
        session_ttl: Duration::from_secs(3600),
        attempts_per_minute: 3,
        metrics_token: Some("scrape-me".into()),
        bootstrap_admin: None,
        secure_cookies: false,
        proxies: TrustedProxies::none(),
        names: SiteNames::default(),
    }
}

fn cookie(token: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert("cookie", format!("theme=dark; {COOKIE}={token}").parse().unwrap());
    headers
}

#[test]
fn open_only_on_loopback_without_accounts() {
    let dir = tempfile::tempdir().unwrap();
    let local = Auth::open(options(dir.path(), true)).unwrap();
    assert!(local.is_open());
    let (who, session) = local.identify(&HeaderMap::new()).unwrap();
    assert!(who.is_open() && who.is_admin() && session.is_none());

    let dir = tempfile::tempdir().unwrap();
    let exposed = Auth::open(options(dir.path(), false)).unwrap();
    assert!(!exposed.is_open());
    assert!(exposed.identify(&HeaderMap::new()).is_none());
}

#[tokio::test]
async fn a_session_signs_in_survives_a_restart_and_signs_out() {
    let dir = tempfile::tempdir().unwrap();
    let auth = Auth::open(options(dir.path(), true)).unwrap();
    let client: IpAddr = "192.0.2.1".parse().unwrap();
    let first = auth
        .set_up("root".into(), "correct horse".into(), client)
        .await
        .unwrap();
    assert!(!auth.is_open(), "an account closes the open doors");
    assert!(auth.identify(&HeaderMap::new()).is_none());
    assert_eq!(
        auth.set_up("late".into(), "correct horse".into(), client).await.err(),
        Some(AuthError::SetupDone)
    );
    drop(auth);

    let auth = Auth::open(options(dir.path(), true)).unwrap();
    let (who, id) = auth.identify(&cookie(&first.token)).expect("the session survived");
    assert_eq!(who.name.as_deref(), Some("root"));
    assert_eq!(who.role, Role::Admin);
    auth.end_session(id.unwrap()).await.unwrap();
    assert!(auth.identify(&cookie(&first.token)).is_none());
}

#[tokio::test]
async fn wrong_passwords_and_unknown_names_look_the_same_and_are_rate_limited() {
    let dir = tempfile::tempdir().unwrap();
    let auth = Auth::open(options(dir.path(), false)).unwrap();
    auth.set_up("root".into(), "correct horse".into(), "192.0.2.250".parse().unwrap())
        .await
        .unwrap();
    let client: IpAddr = "192.0.2.7".parse().unwrap();
    let wrong = auth.sign_in("root".into(), "wrong horse".into(), client).await.err();
    let unknown = auth
        .sign_in("nobody".into(), "correct horse".into(), client)
        .await
        .err();
    assert_eq!(wrong, Some(AuthError::BadCredentials));
    assert_eq!(unknown, Some(AuthError::BadCredentials));
    assert!(auth
        .sign_in("root".into(), "correct horse".into(), client)
        .await
        .is_ok());
    // Three per minute: the fourth is refused, even with the right password.
    match auth.sign_in("root".into(), "correct horse".into(), client).await {
        Err(AuthError::RateLimited(wait)) => assert!((1..=60).contains(&wait), "{wait}"),
        other => panic!("expected the rate limit, got {:?}", other.map(|_| ())),
    }
    let other_client: IpAddr = "192.0.2.8".parse().unwrap();
    assert!(auth
        .sign_in("root".into(), "correct horse".into(), other_client)
        .await
        .is_ok());
}

#[tokio::test]
async fn removing_or_repassing_an_account_ends_its_sessions() {
    use app::auth::Accounts;
    let dir = tempfile::tempdir().unwrap();
    let auth = Auth::open(options(dir.path(), false)).unwrap();
    auth.set_up("root".into(), "correct horse".into(), "192.0.2.250".parse().unwrap())
        .await
        .unwrap();
    auth.add("eve".into(), "viewer pass".into(), Role::Viewer)
        .await
        .unwrap();
    assert_eq!(
        auth.add("eve".into(), "viewer pass".into(), Role::Viewer).await,
        Err(AuthError::Exists("eve".into()))
    );
    let client: IpAddr = "192.0.2.1".parse().unwrap();
    let one = auth.sign_in("eve".into(), "viewer pass".into(), client).await.unwrap();
    let two = auth.sign_in("eve".into(), "viewer pass".into(), client).await.unwrap();
    let keep = session_id(&two.token);
    assert_eq!(
        auth.set_password("eve".into(), "new viewer pass".into(), None, Some("not it".into()))
            .await,
        Err(AuthError::WrongCurrent),
        "a wrong current password changes nothing"
    );
    assert!(auth.identify(&cookie(&one.token)).is_some());
    auth.set_password(
        "eve".into(),
        "new viewer pass".into(),
        Some(keep),
        Some("viewer pass".into()),
    )
    .await
    .unwrap();
    assert!(auth.identify(&cookie(&one.token)).is_none(), "other sessions end");
    let (who, _) = auth.identify(&cookie(&two.token)).expect("the caller's own stays");
    assert_eq!(who.role, Role::Viewer);
    assert_eq!(auth.remove("root".into()).await, Err(AuthError::LastAdmin));
    auth.remove("eve".into()).await.unwrap();
    assert!(auth.identify(&cookie(&two.token)).is_none());
    assert_eq!(
        auth.remove("eve".into()).await,
        Err(AuthError::NoSuchAccount("eve".into()))
    );
}

#[test]
fn metrics_take_a_bearer_token_off_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let auth = Auth::open(options(dir.path(), false)).unwrap();
    let mut headers = HeaderMap::new();
    assert!(!auth.metrics_allowed(&headers, None));
    headers.insert("authorization", "Bearer wrong".parse().unwrap());
    assert!(!auth.metrics_allowed(&headers, None));
    headers.insert("authorization", "Bearer scrape-me".parse().unwrap());
    assert!(auth.metrics_allowed(&headers, None));
}

#[test]
fn an_open_vigil_serves_only_local_requests() {
    let dir = tempfile::tempdir().unwrap();
    let local = Auth::open(options(dir.path(), true)).unwrap();
    let mut headers = HeaderMap::new();
    headers.insert("host", "127.0.0.1:3000".parse().unwrap());
    assert!(local.identify(&headers).is_some());
    assert!(local.metrics_allowed(&headers, None));
    // A rebound name: not this machine's browser.
    headers.insert("host", "rebound.example:3000".parse().unwrap());
    assert_eq!(
        local.local(&headers),
        Err(NotLocal::Host("rebound.example:3000".into()))
    );
    assert!(local.identify(&headers).is_none());
    assert!(!local.metrics_allowed(&headers, None));
    // Through a proxy nobody declared: not local either.
    headers.insert("host", "127.0.0.1:3000".parse().unwrap());
    headers.insert("x-forwarded-for", "203.0.113.9".parse().unwrap());
    assert_eq!(local.local(&headers), Err(NotLocal::Proxied));
    assert!(local.identify(&headers).is_none());
    assert!(!local.metrics_allowed(&headers, None));
}

#[tokio::test]
async fn setup_after_setup_is_refused_before_hashing_and_setup_is_rate_limited() {
    let dir = tempfile::tempdir().unwrap();
    let auth = Auth::open(options(dir.path(), false)).unwrap();
    let client: IpAddr = "2001:db8::1".parse().unwrap();
    // Three a minute per client, shared with sign-in, per /64.
    for _ in 0..3 {
        assert_eq!(
            auth.set_up("root".into(), "short".into(), client).await.err(),
            Some(AuthError::BadPassword)
        );
    }
    let neighbour: IpAddr = "2001:db8::ffff".parse().unwrap();
    assert!(matches!(
        auth.set_up("root".into(), "correct horse".into(), neighbour).await,
        Err(AuthError::RateLimited(_))
    ));
    let elsewhere: IpAddr = "2001:db8:0:1::1".parse().unwrap();
    auth.set_up("root".into(), "correct horse".into(), elsewhere)
        .await
        .unwrap();
    // Done: refused at once, with no hash slot taken and no limit spent.
    let _slots = auth
        .hashing
        .clone()
        .acquire_many_owned(hash_slots() as u32)
        .await
        .unwrap();
    let refused = tokio::time::timeout(
        Duration::from_millis(200),
        auth.set_up("late".into(), "correct horse".into(), elsewhere),
    )
    .await
    .expect("answered without waiting for a hash slot");
    assert_eq!(refused.err(), Some(AuthError::SetupDone));
}

#[test]
fn the_first_account_ends_the_open_sockets() {
    let dir = tempfile::tempdir().unwrap();
    let auth = Auth::open(options(dir.path(), true)).unwrap();
    let open = auth.socket_end(None).ended;
    assert!(!open.is_cancelled());
    auth.create_first("root", "correct horse").unwrap();
    assert!(open.is_cancelled(), "an account closes the open Vigil's sockets");
    assert!(auth.socket_end(Some("no-such-session")).ended.is_cancelled());
}

#[test]
fn only_well_formed_session_cookies_are_read() {
    assert_eq!(session_cookie(&cookie(&"a".repeat(64))), Some("a".repeat(64)));
    assert_eq!(session_cookie(&cookie("short")), None);
    assert_eq!(session_cookie(&cookie(&"z".repeat(64))), None);
}
