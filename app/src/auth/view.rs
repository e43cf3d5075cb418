//! The account pages and the header's account menu.
//!
//! - `/login` and `/setup`: plain forms posting to `/auth/login` and
//!   `/auth/setup`; the server answers with a redirect, so they need no
//!   scripts. Errors come back as `?error=CODE`, shown as fixed text.
//! - `/admin/users`: accounts, with forms (server functions) to add and
//!   remove them, set passwords and sign them out everywhere.
//! - `/account`: who is signed in; changing one's own password.
//! - [`AccountMenu`]: who is signed in (a link to `/account`), the users
//!   link for admins, and the sign-out button.

use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::{
    describe, sentence, who_am_i, Account, AddAccount, Principal, RemoveAccount, Role, SetPassword, SignOutAccount,
    MAX_NAME_CHARS, MIN_PASSWORD_CHARS,
};
use crate::format;

/// The `?error=` message of a sign-in or setup page, if any.
fn query_error() -> impl Fn() -> Option<String> {
    let query = use_query_map();
    move || {
        query.with(|q| {
            let wait = q.get("wait").and_then(|w| w.parse().ok());
            q.get("error").and_then(|code| describe(&code, wait))
        })
    }
}

#[component]
fn FormError(message: Signal<Option<String>>) -> impl IntoView {
    view! {
        <Show when=move || message.with(Option::is_some)>
            <p class="form-error" role="alert" data-testid="form-error">{move || message.get()}</p>
        </Show>
    }
}

/// `/login`.
#[component]
pub fn LoginPage() -> impl IntoView {
    let query = use_query_map();
    let next = move || query.with(|q| q.get("next")).unwrap_or_else(|| "/".into());
    let error = Signal::derive(query_error());
    view! {
        <Title text="Sign in · Vigil"/>
        <section class="auth-card">
            <h1 class="page-title">"Sign in"</h1>
            <FormError message=error/>
            <form method="post" action="/auth/login" class="auth-form">
                <input type="hidden" name="next" value=next/>
                <label>
                    "User name"
                    <input name="name" autocomplete="username" required maxlength=MAX_NAME_CHARS/>
                </label>
                <label>
                    "Password"
                    <input name="password" type="password" autocomplete="current-password" required/>
                </label>
                <button type="submit" class="primary">"Sign in"</button>
            </form>
        </section>
    }
}

/// `/setup`: the first admin account (the server sends people elsewhere
/// once one exists).
#[component]
pub fn SetupPage() -> impl IntoView {
    let error = Signal::derive(query_error());
    let me = Resource::new_blocking(|| (), |_| who_am_i());
    view! {
        <Title text="Set up · Vigil"/>
        <section class="auth-card">
            <h1 class="page-title">"Create the first admin account"</h1>
            <Suspense>
                {move || Suspend::new(async move {
                    let open = me.await.ok().flatten().is_some();
                    if open {
                        view! {
                            <p class="muted">
                                "Vigil runs open on this machine. Once an account exists, every page and API asks to sign in."
                            </p>
                        }
                        .into_any()
                    } else {
                        view! {
                            <p class="notice" data-testid="setup-required">
                                "Vigil is reachable beyond this machine and shows no data until an admin account exists."
                            </p>
                        }
                        .into_any()
                    }
                })}
            </Suspense>
            <FormError message=error/>
            <form method="post" action="/auth/setup" class="auth-form">
                <label>
                    "User name"
                    <input name="name" autocomplete="username" required maxlength=MAX_NAME_CHARS/>
                </label>
                <PasswordPair/>
                <button type="submit" class="primary">"Create account and sign in"</button>
            </form>
        </section>
    }
}

/// A new password typed twice.
#[component]
fn PasswordPair() -> impl IntoView {
    view! {
        <label>
            "Password"
            <input name="password" type="password" autocomplete="new-password" required minlength=MIN_PASSWORD_CHARS/>
        </label>
        <label>
            "Password again"
            <input name="confirm" type="password" autocomplete="new-password" required minlength=MIN_PASSWORD_CHARS/>
        </label>
    }
}

/// `/admin/users` (the server lets only admins in).
#[component]
pub fn UsersPage() -> impl IntoView {
    let me = Resource::new_blocking(|| (), |_| who_am_i());
    let add = ServerAction::<AddAccount>::new();
    let remove = ServerAction::<RemoveAccount>::new();
    let password = ServerAction::<SetPassword>::new();
    let sign_out = ServerAction::<SignOutAccount>::new();
    let accounts = Resource::new_blocking(
        move || {
            (
                add.version().get(),
                remove.version().get(),
                password.version().get(),
                sign_out.version().get(),
            )
        },
        |_| super::list_accounts(),
    );
    let error = Signal::derive(move || {
        [
            add.value().get().and_then(Result::err),
            remove.value().get().and_then(Result::err),
            password.value().get().and_then(Result::err),
            sign_out.value().get().and_then(Result::err),
        ]
        .into_iter()
        .flatten()
        .next()
        .map(|e| sentence(&e.to_string()))
    });
    view! {
        <Title text="Users · Vigil"/>
        <h1 class="page-title">"Users"</h1>
        <FormError message=error/>
        <Transition fallback=|| view! { <p class="muted">"Loading accounts…"</p> }>
            <ErrorBoundary fallback=crate::pages::load_error>
                {move || Suspend::new(async move {
                    let me = me.await.ok().flatten().and_then(|p| p.name);
                    accounts.await.map(|list| view! { <AccountTable list me remove password sign_out/> })
                })}
            </ErrorBoundary>
        </Transition>
        <section class="card admin-add">
            <h2>"Add an account"</h2>
            <ActionForm action=add attr:class="auth-form inline">
                <label>
                    "User name"
                    <input name="name" autocomplete="off" required maxlength=MAX_NAME_CHARS/>
                </label>
                <PasswordPair/>
                <label>
                    "Role"
                    <select name="role">
                        <option value="viewer" selected>"Viewer (reads everything)"</option>
                        <option value="admin">"Admin (also manages accounts)"</option>
                    </select>
                </label>
                <button type="submit" class="primary">"Add"</button>
            </ActionForm>
        </section>
    }
}

#[component]
fn AccountTable(
    list: Vec<Account>,
    /// The signed-in admin, whose own password is changed on `/account`
    /// (with the current one), not here.
    me: Option<String>,
    remove: ServerAction<RemoveAccount>,
    password: ServerAction<SetPassword>,
    sign_out: ServerAction<SignOutAccount>,
) -> impl IntoView {
    let rows = list
        .into_iter()
        .map(|account| {
            let name = account.name;
            let (for_sign_out, for_remove, for_password) = (name.clone(), name.clone(), name.clone());
            let remove_label = format!("Remove {name}");
            let row_name = name.clone();
            let own = me.as_deref() == Some(name.as_str());
            view! {
                <tr data-testid="account-row" data-name=row_name>
                    <th scope="row">{name}</th>
                    <td>{account.role.as_str()}</td>
                    <td class="num">{format::date(account.created_ms)}</td>
                    <td class="num">{account.sessions}</td>
                    <td class="actions">
                        <ActionForm action=sign_out attr:class="inline">
                            <input type="hidden" name="name" value=for_sign_out.clone()/>
                            <button type="submit">"Sign out everywhere"</button>
                        </ActionForm>
                        <ActionForm action=remove attr:class="inline">
                            <input type="hidden" name="name" value=for_remove.clone()/>
                            <button type="submit" class="danger" aria-label=remove_label.clone()>"Remove"</button>
                        </ActionForm>
                        {if own {
                            view! { <a href="/account">"Change your password"</a> }.into_any()
                        } else {
                            view! {
                                <details>
                                    <summary>"Set password"</summary>
                                    <ActionForm action=password attr:class="auth-form">
                                        <input type="hidden" name="name" value=for_password.clone()/>
                                        <PasswordPair/>
                                        <button type="submit">"Set"</button>
                                    </ActionForm>
                                </details>
                            }
                            .into_any()
                        }}
                    </td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="accounts">
            <thead>
                <tr>
                    <th scope="col">"Name"</th>
                    <th scope="col">"Role"</th>
                    <th scope="col" class="num">"Created"</th>
                    <th scope="col" class="num">"Sessions"</th>
                    <th scope="col">"Actions"</th>
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
    }
}

/// `/account`: who is signed in, and a form to change one's own password
/// (the account's other sessions end; this one stays).
#[component]
pub fn AccountPage() -> impl IntoView {
    let me = Resource::new_blocking(|| (), |_| who_am_i());
    let password = ServerAction::<SetPassword>::new();
    let error = Signal::derive(move || {
        password
            .value()
            .get()
            .and_then(Result::err)
            .map(|e| sentence(&e.to_string()))
    });
    let done = move || matches!(password.value().get(), Some(Ok(())));
    view! {
        <Title text="Account · Vigil"/>
        <h1 class="page-title">"Account"</h1>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match me.await.ok().flatten() {
                    Some(Principal { name: Some(name), role }) => view! {
                        <p data-testid="account-who">
                            "Signed in as " <strong>{name.clone()}</strong> ", " {role.as_str()} "."
                        </p>
                        <section class="card admin-add">
                            <h2>"Change your password"</h2>
                            <FormError message=error/>
                            <Show when=done>
                                <p class="form-ok" role="status" data-testid="password-changed">
                                    "Password changed. Your other sessions were signed out; this one stays."
                                </p>
                            </Show>
                            <ActionForm action=password attr:class="auth-form">
                                <input type="hidden" name="name" value=name/>
                                <label>
                                    "Current password"
                                    <input name="current" type="password" autocomplete="current-password" required/>
                                </label>
                                <PasswordPair/>
                                <button type="submit" class="primary">"Change password"</button>
                            </ActionForm>
                        </section>
                    }
                    .into_any(),
                    _ => view! {
                        <p class="muted" data-testid="account-who">
                            "No one is signed in: Vigil runs open to this machine until the first account is "
                            <a href="/setup">"set up"</a> "."
                        </p>
                    }
                    .into_any(),
                }
            })}
        </Suspense>
    }
}

/// The header's account part: who is signed in, the users page for
/// admins, and sign-out; while Vigil runs open, a way to turn sign-in on.
///
/// The header is drawn once per page load, so its principal comes with the
/// page (the resource's hydration data): the browser never asks again, and
/// the module every page loads first holds no server-function client for it.
#[component]
pub fn AccountMenu() -> impl IntoView {
    let me = Resource::new_blocking(|| (), |_| async { on_server!(who_am_i()) });
    view! {
        <Suspense>
            {move || Suspend::new(async move {
                match me.await.ok().flatten().flatten() {
                    Some(Principal { name: Some(name), role }) => view! {
                        <div class="account" data-testid="account">
                            <a class="account-name" href="/account" data-testid="account-link"
                                title=format!("Signed in as {name} ({}); change your password", role.as_str())>{name.clone()}</a>
                            <Show when=move || role == Role::Admin>
                                <a href="/admin/users">"Users"</a>
                            </Show>
                            <form method="post" action="/auth/logout" class="inline">
                                <button type="submit" data-testid="sign-out">"Sign out"</button>
                            </form>
                        </div>
                    }
                    .into_any(),
                    Some(Principal { name: None, .. }) => view! {
                        <div class="account" data-testid="account">
                            <a href="/setup" title="No account exists: Vigil is open to this machine">"Set up sign-in"</a>
                        </div>
                    }
                    .into_any(),
                    None => ().into_any(),
                }
            })}
        </Suspense>
    }
}
