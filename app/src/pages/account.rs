//! The sign-in and account pages (`/login`, `/setup`, `/account`,
//! `/admin/users`), whose views live in [`crate::auth::view`]. Lazy routes
//! of the `people` group (see [`super`]): most visits never open them, and
//! a visitor who must sign in first gets the group's module along with the
//! main module.

use leptos::prelude::*;

use crate::auth::view::{AccountPage, LoginPage, SetupPage, UsersPage};

lazy_route!(
    /// `/login`.
    Login => login, in people
);

lazy_route!(
    /// `/setup`: the first admin account.
    Setup => setup, in people
);

lazy_route!(
    /// `/account`: one's own password.
    Account => account, in people
);

lazy_route!(
    /// `/admin/users`.
    Users => users, in people
);

fn login() -> AnyView {
    view! { <LoginPage/> }.into_any()
}

fn setup() -> AnyView {
    view! { <SetupPage/> }.into_any()
}

fn account() -> AnyView {
    view! { <AccountPage/> }.into_any()
}

fn users() -> AnyView {
    view! { <UsersPage/> }.into_any()
}
