//! Mounts the web interface (`takedown-webui`) at `/ui` and sends `/` there.
//!
//! The interface talks to the engine, the referral workflow and the impact reports directly
//! (not through `/api/v1`), with the same callers and permissions: a user signs in with an API
//! token, and every page acts as that token.

use std::path::PathBuf;
use std::sync::Arc;

use axum::response::Redirect;
use axum::routing::get;
use axum::Router;
use takedown_referrals::{ReferralConfig, Referrals};
use takedown_webui::{ReferralSource, UiOptions, UiState};

use crate::config::ServerConfig;
use crate::state::AppState;

/// `/ui/...` and the redirect from `/`.
pub fn routes(state: &AppState) -> Router<AppState> {
    let config = state.config();
    // The server's workflow once attached (`AppState::set_referrals`, configured for
    // delivery); until then one with default settings (no SMTP relay), so review works.
    let fallback = match Referrals::new(
        state.engine().clone(),
        config.fetch.clone(),
        ReferralConfig::default(),
    ) {
        Ok(referrals) => Some(referrals),
        Err(error) => {
            tracing::warn!(%error, "web interface without the referral workflow");
            None
        }
    };
    let options = UiOptions {
        upload_limit: config.upload_limit.as_usize(),
        exposure_file: exposure_file(config),
        secure_cookies: false,
    };
    let app = state.clone();
    let source: ReferralSource =
        Arc::new(move || app.referrals().cloned().or_else(|| fallback.clone()));
    let ui = takedown_webui::router(UiState::new(
        state.engine().clone(),
        state.fetcher().clone(),
        source,
        options,
    ));
    Router::new()
        .nest_service("/ui", ui)
        .route("/", get(|| async { Redirect::to("/ui/") }))
}

/// Where reviewers' exposure counts are kept: next to a SQLite database, in the user's data
/// directory for PostgreSQL, nowhere (memory) for an in-memory database.
fn exposure_file(config: &ServerConfig) -> Option<PathBuf> {
    let database = config.database_or_default().ok()?;
    if database.starts_with("postgres://") || database.starts_with("postgresql://") {
        return dirs::data_dir().map(|dir| dir.join("takedown").join("ui-exposure.json"));
    }
    let path = database
        .strip_prefix("sqlite://")
        .or_else(|| database.strip_prefix("sqlite:"))
        .unwrap_or(&database);
    let path = path.split('?').next().unwrap_or("");
    if path.is_empty() || path.contains(":memory:") {
        return None;
    }
    Some(PathBuf::from(format!("{path}.ui-exposure.json")))
}
