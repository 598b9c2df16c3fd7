//! Sign in with an API token, and sign out.

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use maud::html;

use crate::layout::{document, html_response};
use crate::pages::CsrfOnly;
use crate::session::{
    constant_time_eq, cookie, random_token, set_cookie, Signed, SESSION_COOKIE, SIGNIN_COOKIE,
};
use crate::UiState;

/// The sign-in form's fields.
#[derive(Debug, serde::Deserialize)]
pub struct SignIn {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    token: String,
}

/// The form, with a fresh pre-session token in a cookie and in the form (double submit).
fn render(state: &UiState, status: StatusCode, error: Option<&str>) -> Response {
    let token = random_token();
    let header = html! { header.top { div.brand { "takedown" } } };
    let main = html! {
        div.signin {
            h1 { "Sign in" }
            @if let Some(error) = error {
                p.flash.error role="alert" #signin-error { (error) }
            }
            form.stack method="post" action="/ui/signin" {
                input type="hidden" name="csrf" value=(token);
                div.field {
                    label for="token" { "API token" }
                    input #token type="password" name="token" required autocomplete="off"
                        spellcheck="false" aria-describedby="token-hint";
                    p.hint #token-hint {
                        "A token made with " code { "takedown token create" } "; it stays on the server, "
                        "your browser keeps only a session cookie."
                    }
                }
                div { button type="submit" { "Sign in" } }
            }
        }
    };
    let mut response = html_response(status, document("Sign in", header, main));
    if let Ok(value) = set_cookie(
        SIGNIN_COOKIE,
        &token,
        Some(600),
        state.options().secure_cookies,
    )
    .parse()
    {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// `GET /ui/signin`.
pub async fn form(State(state): State<UiState>, headers: HeaderMap) -> Response {
    if cookie(&headers, SESSION_COOKIE).is_some_and(|id| state.sessions().get(id).is_some()) {
        return Redirect::to("/ui/").into_response();
    }
    render(&state, StatusCode::OK, None)
}

/// `POST /ui/signin`.
pub async fn submit(
    State(state): State<UiState>,
    headers: HeaderMap,
    Form(form): Form<SignIn>,
) -> Response {
    let expected = cookie(&headers, SIGNIN_COOKIE).unwrap_or("");
    if !constant_time_eq(expected.as_bytes(), form.csrf.as_bytes()) {
        return render(
            &state,
            StatusCode::FORBIDDEN,
            Some("The sign-in form expired or came from another site: try again."),
        );
    }
    let caller = match state.engine().authenticate(&form.token).await {
        Ok(caller) => caller,
        Err(_) => {
            return render(
                &state,
                StatusCode::UNAUTHORIZED,
                Some("That token is not valid (unknown, revoked or expired)."),
            )
        }
    };
    let org_name = match caller.org {
        Some(org) => state
            .engine()
            .store()
            .organisation(org)
            .await
            .map(|org| org.name)
            .unwrap_or_else(|_| format!("organisation {}", org.0)),
        None => "this instance".to_string(),
    };
    let display = format!("{org_name} · {}", caller.role);
    let (id, _) = state
        .sessions()
        .create(form.token.trim(), display, caller.actor.to_string());
    let secure = state.options().secure_cookies;
    let mut response = Redirect::to("/ui/").into_response();
    for cookie in [
        set_cookie(SESSION_COOKIE, &id, None, secure),
        set_cookie(SIGNIN_COOKIE, "", Some(0), secure),
    ] {
        if let Ok(value) = cookie.parse() {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}

/// `POST /ui/signout`.
pub async fn signout(
    State(state): State<UiState>,
    signed: Signed,
    headers: HeaderMap,
    Form(form): Form<CsrfOnly>,
) -> Response {
    if let Err(error) = signed.session.check_csrf(&form.csrf) {
        return error.into_response();
    }
    if let Some(id) = cookie(&headers, SESSION_COOKIE) {
        state.sessions().remove(id);
    }
    let mut response = Redirect::to("/ui/signin").into_response();
    if let Ok(value) =
        set_cookie(SESSION_COOKIE, "", Some(0), state.options().secure_cookies).parse()
    {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}
