//! The dashboard: banks, index size, today's observations and matches, open referrals, and
//! the removal rate with the time it was measured.

use std::sync::atomic::Ordering;

use axum::extract::State;
use axum::response::Response;
use maud::{html, Markup};
use takedown_engine::Caller;
use takedown_model::Permission;
use takedown_store::referrals::ObservationQuery;

use crate::layout::{time, UiError};
use crate::session::Signed;
use crate::UiState;

/// Referral figures the dashboard shows.
struct ReferralFigures {
    observations_today: usize,
    matched_today: usize,
    open_referrals: usize,
    referred_urls: usize,
    gone_urls: usize,
}

async fn referral_figures(
    state: &UiState,
    caller: &Caller,
) -> Result<Option<ReferralFigures>, UiError> {
    let Some(referrals) = state.referrals() else {
        return Ok(None);
    };
    if caller.require(Permission::Review).is_err() {
        return Ok(None);
    }
    let store = state.engine().store();
    let today = state.engine().clock().now().date_naive();
    let observations = store
        .observations(&ObservationQuery {
            org: caller.org,
            limit: 10_000,
            ..ObservationQuery::default()
        })
        .await?;
    let todays: Vec<_> = observations
        .iter()
        .filter(|observation| observation.created_at.date_naive() == today)
        .collect();
    let list = referrals.referrals(caller, None, 1_000).await?;
    let mut referred_urls = 0;
    let mut gone_urls = 0;
    for referral in list.iter().filter(|referral| referral.sent_at.is_some()) {
        for item in store.referral_items(referral.id).await? {
            referred_urls += 1;
            if item.first_gone_at.is_some() {
                gone_urls += 1;
            }
        }
    }
    Ok(Some(ReferralFigures {
        observations_today: todays.len(),
        matched_today: todays.iter().filter(|o| !o.matches.is_empty()).count(),
        open_referrals: list.iter().filter(|r| r.status.is_open()).count(),
        referred_urls,
        gone_urls,
    }))
}

fn card(figure: impl std::fmt::Display, label: &str, detail: Markup) -> Markup {
    html! {
        div.card {
            div.figure { (figure) }
            div.label { (label) }
            (detail)
        }
    }
}

/// `GET /ui/`.
pub async fn page_handler(state: &UiState, signed: &Signed) -> Result<Response, UiError> {
    let engine = state.engine();
    // A matcher may not read banks; its dashboard shows the rest.
    let banks = match engine.banks(&signed.caller).await {
        Err(takedown_engine::EngineError::Forbidden(_)) => Vec::new(),
        other => other?,
    };
    let mut rows = Vec::new();
    for bank in &banks {
        rows.push((bank, engine.store().content_count(bank.id).await?));
    }
    let index = engine.index_status();
    let indexed: usize = index.signals.values().sum();
    let matches = engine.counters().matches.load(Ordering::Relaxed);
    let lookups = engine.counters().lookups.load(Ordering::Relaxed);
    let figures = referral_figures(state, &signed.caller).await?;
    let now = engine.clock().now();
    let content = html! {
        div.cards {
            (card(banks.len(), "banks you can see", html! {}))
            (card(indexed, "signals in the matching index", html! {
                p.hint { @if index.ready { "ready" } @else { "still loading" } }
            }))
            (card(matches, "matches since the server started", html! {
                p.hint { (lookups) " lookups" }
            }))
            @if let Some(f) = &figures {
                (card(f.observations_today, "observations today (UTC)", html! {
                    p.hint { (f.matched_today) " matched a bank" }
                }))
                (card(f.open_referrals, "open referrals", html! {
                    p.hint { a href="/ui/referrals" { "Referrals board" } }
                }))
                @if f.referred_urls > 0 {
                    (card(format!("{:.0}%", 100.0 * f.gone_urls as f64 / f.referred_urls as f64),
                        "removal rate of referred URLs", html! {
                        p.hint #removal-measured { (f.gone_urls) " of " (f.referred_urls) " seen gone; measured " (time(now)) }
                    }))
                } @else {
                    (card("—", "removal rate", html! {
                        p.hint #removal-measured { "no URL sent to a provider yet; measured " (time(now)) }
                    }))
                }
            } @else {
                (card("—", "observations and referrals", html! {
                    p.hint { "your role does not review, or the referral workflow is off" }
                }))
            }
        }
        h2 { "Banks" }
        @if banks.is_empty() {
            p { "No bank is visible to your organisation." }
        } @else {
            table {
                thead { tr { th scope="col" { "Bank" } th scope="col" { "Items" } th scope="col" { "Matching" } th scope="col" { "Description" } } }
                tbody {
                    @for (bank, count) in &rows {
                        tr {
                            td { a href={"/ui/banks/" (bank.name.as_str())} { (bank.name.as_str()) } }
                            td { (count) }
                            td { @if bank.matching_enabled { "on" } @else { "off" } }
                            td { (bank.description) }
                        }
                    }
                }
            }
        }
    };
    Ok(crate::layout::page(
        state,
        signed,
        "Dashboard",
        "Dashboard",
        content,
    ))
}

/// `GET /ui/`.
pub async fn page(State(state): State<UiState>, signed: Signed) -> Result<Response, UiError> {
    page_handler(&state, &signed).await
}
