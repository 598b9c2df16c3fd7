//! The page shell (skip link, navigation, who is signed in, today's exposures, messages), the
//! security headers every page carries, and the error page.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup, DOCTYPE};
use takedown_engine::EngineError;
use takedown_model::Timestamp;

use crate::session::{Session, Signed, CSRF_FIELD};
use crate::UiState;

/// Content-Security-Policy of every page: nothing from elsewhere, no inline script or style,
/// no framing, forms only to this server.
pub const CSP: &str = "default-src 'self'; img-src 'self' data:; media-src 'self'; \
     style-src 'self'; script-src 'self'; object-src 'none'; frame-ancestors 'none'; \
     form-action 'self'; base-uri 'none'";

/// The main navigation: (path, label).
const NAV: [(&str, &str); 7] = [
    ("/ui/", "Dashboard"),
    ("/ui/banks", "Banks"),
    ("/ui/match", "Match"),
    ("/ui/review", "Review"),
    ("/ui/referrals", "Referrals"),
    ("/ui/operations", "Operations"),
    ("/ui/audit", "Audit log"),
];

/// A time as pages show it.
pub fn time(at: Timestamp) -> String {
    at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// An optional time.
pub fn maybe_time(at: Option<Timestamp>) -> String {
    at.map(time).unwrap_or_else(|| "—".into())
}

/// The hidden CSRF field of a session's forms.
pub fn csrf_input(session: &Session) -> Markup {
    html! { input type="hidden" name=(CSRF_FIELD) value=(session.csrf); }
}

/// Adds the headers every HTML answer carries.
pub fn secure_headers(response: &mut Response, csp: &'static str) {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(csp),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

/// An HTML answer with the security headers.
pub fn html_response(status: StatusCode, markup: Markup) -> Response {
    let mut response = (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        markup.into_string(),
    )
        .into_response();
    secure_headers(&mut response, CSP);
    response
}

/// The document around a page's content. `signed` is `None` on the sign-in page.
pub fn document(title: &str, header: Markup, main: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="referrer" content="no-referrer";
                title { (title) " · takedown" }
                link rel="stylesheet" href="/ui/assets/ui.css";
                script src="/ui/assets/ui.js" defer {}
            }
            body {
                a.skip href="#main" { "Skip to main content" }
                (header)
                main #main tabindex="-1" {
                    (main)
                }
            }
        }
    }
}

/// A signed-in page: navigation with `active` marked, the user, today's exposures and sign
/// out, queued messages, then `content`.
pub fn page(
    state: &UiState,
    signed: &Signed,
    active: &str,
    title: &str,
    content: Markup,
) -> Response {
    let today = state.engine().clock().now().date_naive();
    let exposures = state.exposures().count(&signed.session.reviewer, today);
    let flash = signed.session.take_flash();
    let header = html! {
        header.top {
            div.brand { a href="/ui/" { "takedown" } }
            nav aria-label="Main" {
                ul {
                    @for (path, label) in NAV {
                        li {
                            @if label == active {
                                a href=(path) aria-current="page" { (label) }
                            } @else {
                                a href=(path) { (label) }
                            }
                        }
                    }
                }
            }
            div.who {
                span { "Signed in as " strong { (signed.session.display) } }
                span.exposure #exposure-count title="Media items you revealed today (UTC)" {
                    "Exposures today: " strong #exposure-value { (exposures) }
                }
                form method="post" action="/ui/signout" {
                    (csrf_input(&signed.session))
                    button type="submit" { "Sign out" }
                }
            }
        }
    };
    let main = html! {
        h1 { (title) }
        @for message in &flash {
            @if message.kind == "error" {
                p.flash.error role="alert" { (message.text) }
            } @else {
                p.flash.ok role="status" { (message.text) }
            }
        }
        (content)
    };
    html_response(StatusCode::OK, document(title, header, main))
}

/// Why a page could not be shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UiError {
    /// The status.
    pub status: StatusCode,
    /// What to tell the user.
    pub message: String,
}

impl UiError {
    /// A bad request.
    pub fn invalid(message: impl Into<String>) -> UiError {
        UiError {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }

    /// Not allowed.
    pub fn forbidden(message: impl Into<String>) -> UiError {
        UiError {
            status: StatusCode::FORBIDDEN,
            message: message.into(),
        }
    }

    /// Not there.
    pub fn not_found(message: impl Into<String>) -> UiError {
        UiError {
            status: StatusCode::NOT_FOUND,
            message: message.into(),
        }
    }
}

impl From<EngineError> for UiError {
    fn from(error: EngineError) -> Self {
        let status = match &error {
            EngineError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            EngineError::Forbidden(_) => StatusCode::FORBIDDEN,
            EngineError::NotFound(_) => StatusCode::NOT_FOUND,
            EngineError::Conflict(_) => StatusCode::CONFLICT,
            EngineError::Invalid { .. } => StatusCode::BAD_REQUEST,
            EngineError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            EngineError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            EngineError::NotReady => StatusCode::SERVICE_UNAVAILABLE,
            EngineError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let message = if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(%error, "web interface");
            "something went wrong on the server; the error is in its log".to_string()
        } else {
            error.to_string()
        };
        UiError { status, message }
    }
}

impl From<takedown_referrals::ReferralError> for UiError {
    fn from(error: takedown_referrals::ReferralError) -> Self {
        UiError::from(error.into_engine())
    }
}

impl From<takedown_store::StoreError> for UiError {
    fn from(error: takedown_store::StoreError) -> Self {
        UiError::from(EngineError::from(error))
    }
}

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        let reason = self.status.canonical_reason().unwrap_or("Error");
        let main = html! {
            h1 { (self.status.as_u16()) " " (reason) }
            p.flash.error role="alert" { (self.message) }
            p { a href="/ui/" { "Back to the dashboard" } }
        };
        let header = html! { header.top { div.brand { a href="/ui/" { "takedown" } } } };
        html_response(self.status, document(reason, header, main))
    }
}

/// After a form: go to `to`, showing the outcome (or the error) as a message there.
pub fn after_form<T>(
    session: &Session,
    to: &str,
    result: Result<T, UiError>,
    ok: impl FnOnce(T) -> String,
) -> Response {
    match result {
        Ok(value) => session.flash("ok", ok(value)),
        Err(error) => session.flash("error", error.message),
    }
    Redirect::to(to).into_response()
}

/// Percent-encodes a path segment or query value.
pub fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_escape_interpolated_text() {
        let hostile = "<script>alert(1)</script>\"'";
        let markup = html! { p title=(hostile) { (hostile) } }.into_string();
        assert!(!markup.contains("<script>"));
        assert!(markup.contains("&lt;script&gt;"));
        assert!(markup.contains("&quot;"));
    }

    #[test]
    fn errors_render_escaped_with_headers() {
        let response = UiError::invalid("<img src=x onerror=alert(1)>").into_response();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert!(response
            .headers()
            .get(header::CONTENT_SECURITY_POLICY)
            .is_some());
    }

    #[test]
    fn encoding_of_path_segments() {
        assert_eq!(encode("TD-2018/1 x"), "TD-2018%2F1%20x");
    }
}
