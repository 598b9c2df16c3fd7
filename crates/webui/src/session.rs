//! Sessions: a random id in an `HttpOnly; SameSite=Strict` cookie, mapped in server memory to
//! the API token the user signed in with and the session's CSRF token.
//!
//! The token never reaches the browser again after sign-in, and is authenticated by the engine
//! on every request, so revoking it ends every session that uses it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Redirect, Response};
use rand::RngCore;
use takedown_engine::Caller;

use crate::layout::UiError;
use crate::UiState;

/// The session cookie.
pub const SESSION_COOKIE: &str = "takedown_session";
/// The sign-in form's pre-session cookie (double-submit token against login CSRF).
pub const SIGNIN_COOKIE: &str = "takedown_signin";
/// The form field carrying the CSRF token.
pub const CSRF_FIELD: &str = "csrf";
/// The header the script sends the CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// A session ends after this long without a request.
const IDLE_LIMIT: Duration = Duration::from_secs(8 * 3600);

/// A one-line message shown once on the next page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flash {
    /// `ok` or `error`.
    pub kind: &'static str,
    /// The text.
    pub text: String,
}

/// One signed-in browser.
#[derive(Debug)]
pub struct Session {
    token: String,
    /// The CSRF token every POST form of this session carries.
    pub csrf: String,
    /// Who is signed in, as the header shows it ("Demo Referral Unit · admin").
    pub display: String,
    /// The reviewer the exposure counter counts for (the token's audit actor).
    pub reviewer: String,
    last_seen: Mutex<Instant>,
    flash: Mutex<Vec<Flash>>,
}

impl Session {
    /// Queues a message for the next page.
    pub fn flash(&self, kind: &'static str, text: impl Into<String>) {
        if let Ok(mut flash) = self.flash.lock() {
            flash.push(Flash {
                kind,
                text: text.into(),
            });
        }
    }

    /// Takes the queued messages.
    pub fn take_flash(&self) -> Vec<Flash> {
        self.flash
            .lock()
            .map(|mut flash| std::mem::take(&mut *flash))
            .unwrap_or_default()
    }

    /// Fails unless `given` is this session's CSRF token.
    pub fn check_csrf(&self, given: &str) -> Result<(), UiError> {
        if constant_time_eq(given.as_bytes(), self.csrf.as_bytes()) {
            Ok(())
        } else {
            Err(UiError::forbidden(
                "the form's security token is missing or stale: reload the page and try again",
            ))
        }
    }
}

/// Every live session, by id.
#[derive(Debug, Default)]
pub struct Sessions {
    map: Mutex<HashMap<String, Arc<Session>>>,
}

impl Sessions {
    /// Starts a session for a verified token; returns its id and the session.
    pub fn create(&self, token: &str, display: String, reviewer: String) -> (String, Arc<Session>) {
        let id = random_token();
        let session = Arc::new(Session {
            token: token.to_string(),
            csrf: random_token(),
            display,
            reviewer,
            last_seen: Mutex::new(Instant::now()),
            flash: Mutex::new(Vec::new()),
        });
        if let Ok(mut map) = self.map.lock() {
            // Forget idle sessions while here, so the table cannot grow without bound.
            map.retain(|_, session| !session.idle());
            map.insert(id.clone(), session.clone());
        }
        (id, session)
    }

    /// A live session, touched.
    pub fn get(&self, id: &str) -> Option<Arc<Session>> {
        let mut map = self.map.lock().ok()?;
        let session = map.get(id)?.clone();
        if session.idle() {
            map.remove(id);
            return None;
        }
        if let Ok(mut seen) = session.last_seen.lock() {
            *seen = Instant::now();
        }
        Some(session)
    }

    /// Ends a session.
    pub fn remove(&self, id: &str) {
        if let Ok(mut map) = self.map.lock() {
            map.remove(id);
        }
    }

    /// How many sessions are live.
    pub fn len(&self) -> usize {
        self.map.lock().map(|map| map.len()).unwrap_or(0)
    }

    /// Whether no session is live.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Session {
    fn idle(&self) -> bool {
        self.last_seen
            .lock()
            .map(|seen| seen.elapsed() > IDLE_LIMIT)
            .unwrap_or(true)
    }
}

/// 32 random bytes from the operating system, as hex.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Equality that takes the same time wherever the first difference is.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() || a.is_empty() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.trim())
}

/// A `Set-Cookie` value: scoped to `/ui`, never readable by scripts, never sent cross-site.
/// `max_age` 0 deletes the cookie.
pub fn set_cookie(name: &str, value: &str, max_age: Option<u64>, secure: bool) -> String {
    let mut cookie = format!("{name}={value}; Path=/ui; HttpOnly; SameSite=Strict");
    if let Some(age) = max_age {
        cookie.push_str(&format!("; Max-Age={age}"));
    }
    if secure {
        cookie.push_str("; Secure");
    }
    cookie
}

/// A signed-in request: its session and the caller its token speaks for.
#[derive(Debug, Clone)]
pub struct Signed {
    /// The session.
    pub session: Arc<Session>,
    /// Who the token speaks for, authenticated for this request.
    pub caller: Caller,
}

/// Where an unauthenticated request goes.
fn to_signin() -> Response {
    Redirect::to("/ui/signin").into_response()
}

impl FromRequestParts<UiState> for Signed {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &UiState) -> Result<Self, Response> {
        let Some(id) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(to_signin());
        };
        let Some(session) = state.sessions().get(id) else {
            return Err(to_signin());
        };
        match state.engine().authenticate(&session.token).await {
            Ok(caller) => Ok(Signed { session, caller }),
            Err(takedown_engine::EngineError::Unauthenticated(_)) => {
                // Revoked or expired: the session ends with its token.
                state.sessions().remove(id);
                Err(to_signin())
            }
            Err(error) => Err(UiError::from(error).into_response()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_long() {
        let a = random_token();
        let b = random_token();
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
    }

    #[test]
    fn constant_time_comparison() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        assert!(!constant_time_eq(b"", b""));
    }

    #[test]
    fn cookies_are_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.append(header::COOKIE, "a=1; takedown_session=xyz".parse().unwrap());
        headers.append(header::COOKIE, "b=2".parse().unwrap());
        assert_eq!(cookie(&headers, SESSION_COOKIE), Some("xyz"));
        assert_eq!(cookie(&headers, "b"), Some("2"));
        assert_eq!(cookie(&headers, "takedown"), None);
    }

    #[test]
    fn cookie_attributes() {
        let text = set_cookie(SESSION_COOKIE, "v", None, true);
        assert!(text.contains("HttpOnly"));
        assert!(text.contains("SameSite=Strict"));
        assert!(text.contains("Path=/ui"));
        assert!(text.ends_with("; Secure"));
    }

    #[test]
    fn csrf_check() {
        let sessions = Sessions::default();
        let (_, session) = sessions.create("t", "x".into(), "r".into());
        assert!(session.check_csrf(&session.csrf.clone()).is_ok());
        assert!(session.check_csrf("").is_err());
        assert!(session.check_csrf("0000").is_err());
    }
}
