//! The review queue: open cases, highest priority first, decided from the keyboard (`j`/`k`
//! move, `c` confirms, `r` goes to the rejection reason, `v` reveals the preview), and URL
//! intake that fills it.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::Form;
use maud::html;
use takedown_referrals::{CaseDetail, Decision, IntakeRequest};
use takedown_store::referrals::{CaseId, CaseStatus, DecisionKind};

use crate::layout::{after_form, csrf_input, page, time, UiError};
use crate::media::guard;
use crate::pages::referrals;
use crate::session::Signed;
use crate::UiState;

/// Cases shown at once.
const QUEUE_LENGTH: u32 = 50;

/// `GET /ui/review`.
pub async fn queue(State(state): State<UiState>, signed: Signed) -> Result<Response, UiError> {
    let workflow = referrals(&state)?;
    let open = workflow
        .cases(&signed.caller, Some(CaseStatus::Open), QUEUE_LENGTH)
        .await?;
    let mut details: Vec<CaseDetail> = Vec::new();
    for case in &open {
        details.push(workflow.case(&signed.caller, case.id).await?);
    }
    let confirmed = workflow
        .cases(&signed.caller, Some(CaseStatus::Confirmed), 10)
        .await?;
    let csrf = csrf_input(&signed.session);
    let content = html! {
        p.keys #queue-keys {
            "Keys: " kbd { "j" } " next case, " kbd { "k" } " previous, " kbd { "v" } " reveal its preview, "
            kbd { "c" } " confirm, " kbd { "r" } " write a rejection reason (then " kbd { "Enter" } "), "
            kbd { "Esc" } " back to the case."
        }
        h2 #queue-heading { "Open cases (" (open.len()) ")" }
        @if details.is_empty() {
            p #queue-empty { "Nothing to review. Submit URLs below to fill the queue." }
        } @else {
            ol.queue data-queue aria-labelledby="queue-heading" {
                @for detail in &details {
                    @let case = &detail.case;
                    @let shown = detail.observations.iter().find(|o| o.content_type.is_some() && o.outcome.as_str() == "live");
                    li.case tabindex="0" id={"case-" (case.id.0)} aria-label={"Case " (case.id.0) ", rank " (case.rank_score)} {
                        div {
                            @if let Some(observation) = shown {
                                (guard(&format!("/ui/media/observation/{}", observation.id.0),
                                       observation.content_type.as_deref(),
                                       &format!("media of case {}", case.id.0)))
                            } @else {
                                p.hint { "No previewable medium." }
                            }
                        }
                        div {
                            h3 { "Case " (case.id.0) " · rank " (case.rank_score) }
                            p {
                                "Severity " (case.severity) ", confidence " (case.confidence)
                                @if let Some(entity) = &case.entity { " · " (entity) }
                                @if let Some(tier) = case.tier { " · tier " (tier) }
                                " · " (case.observation_count) " observation(s) · opened " (time(case.created_at))
                            }
                            ul {
                                @for observation in detail.observations.iter().take(5) {
                                    li {
                                        code { (observation.url) } " — " (observation.outcome.as_str())
                                        @for m in &observation.matches {
                                            " · matched " (m.bank_name) " item " (m.content.0) " at distance " (m.distance)
                                        }
                                    }
                                }
                            }
                            div.decide {
                                form.inline method="post" action={"/ui/review/" (case.id.0) "/decide"} data-decision="confirm" {
                                    (csrf)
                                    input type="hidden" name="decision" value="confirm";
                                    div.field {
                                        label for={"entity-" (case.id.0)} { "Entity" }
                                        input id={"entity-" (case.id.0)} type="text" name="entity" value=(case.entity.clone().unwrap_or_default());
                                    }
                                    div.field {
                                        label for={"tier-" (case.id.0)} { "Tier" }
                                        select id={"tier-" (case.id.0)} name="tier" {
                                            @for tier in 1u8..=4 {
                                                option value=(tier) selected[case.tier.map(|t| t.number()) == Some(tier) || (case.tier.is_none() && tier == 3)] { (tier) }
                                            }
                                        }
                                    }
                                    button type="submit" { "Confirm (c)" }
                                }
                                form.inline method="post" action={"/ui/review/" (case.id.0) "/decide"} data-decision="reject" {
                                    (csrf)
                                    input type="hidden" name="decision" value="reject";
                                    div.field {
                                        label for={"reason-" (case.id.0)} { "Rejection reason" }
                                        input id={"reason-" (case.id.0)} type="text" name="reason" required;
                                    }
                                    button.secondary type="submit" { "Reject (r)" }
                                }
                            }
                        }
                    }
                }
            }
        }
        h2 #intake-heading { "Submit URLs for review" }
        form.stack method="post" action="/ui/review/intake" aria-labelledby="intake-heading" {
            (csrf)
            div.field {
                label for="urls" { "URLs, one per line" }
                textarea #urls name="urls" required spellcheck="false" {}
                p.hint { "Each URL is fetched through the address guard, fingerprinted and matched; matches open cases here." }
            }
            div { button type="submit" { "Submit" } }
        }
        h2 { "Recently confirmed" }
        @if confirmed.is_empty() {
            p { "None yet." }
        } @else {
            ul {
                @for case in &confirmed {
                    li { "Case " (case.id.0) @if let Some(entity) = &case.entity { " · " (entity) } " · confirmed "
                        (case.decided_at.map(time).unwrap_or_default()) @if let Some(by) = &case.decided_by { " by " (by) } }
                }
            }
            p { a href="/ui/referrals" { "Refer confirmed URLs on the referrals board" } }
        }
    };
    Ok(page(&state, &signed, "Review", "Review queue", content))
}

/// The intake form.
#[derive(Debug, serde::Deserialize)]
pub struct Intake {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    urls: String,
}

/// `POST /ui/review/intake`.
pub async fn intake(
    State(state): State<UiState>,
    signed: Signed,
    Form(form): Form<Intake>,
) -> Response {
    if let Err(error) = signed.session.check_csrf(&form.csrf) {
        return error.into_response();
    }
    let urls: Vec<String> = form
        .urls
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(str::to_string)
        .collect();
    let result = async {
        if urls.is_empty() {
            return Err(UiError::invalid("give at least one URL"));
        }
        let workflow = referrals(&state)?;
        Ok(workflow
            .submit_urls(
                &signed.caller,
                IntakeRequest {
                    urls,
                    org: None,
                    source: "web interface".into(),
                },
            )
            .await?)
    }
    .await;
    after_form(&signed.session, "/ui/review", result, |reports| {
        let observations: usize = reports.iter().map(|r| r.observations.len()).sum();
        let matched: usize = reports
            .iter()
            .flat_map(|r| &r.observations)
            .filter(|o| !o.matches.is_empty())
            .count();
        let errors: Vec<String> = reports
            .iter()
            .filter_map(|r| r.error.as_ref().map(|e| format!("{}: {e}", r.url)))
            .collect();
        let mut text = format!(
            "{} URL(s) taken in: {observations} observation(s), {matched} matching a bank.",
            reports.len()
        );
        if !errors.is_empty() {
            text.push_str(&format!(" Refused: {}", errors.join("; ")));
        }
        text
    })
}

/// A decision form.
#[derive(Debug, serde::Deserialize)]
pub struct DecisionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    decision: String,
    #[serde(default)]
    entity: String,
    #[serde(default)]
    tier: String,
    #[serde(default)]
    reason: String,
}

/// `POST /ui/review/{id}/decide`.
pub async fn decide(
    State(state): State<UiState>,
    signed: Signed,
    Path(id): Path<i64>,
    Form(form): Form<DecisionForm>,
) -> Response {
    if let Err(error) = signed.session.check_csrf(&form.csrf) {
        return error.into_response();
    }
    let result = async {
        let workflow = referrals(&state)?;
        let decision: DecisionKind = form
            .decision
            .parse()
            .map_err(|error| UiError::invalid(format!("decision: {error}")))?;
        let labels = crate::pages::labels_from(&form.entity, &form.tier)?;
        let detail = workflow
            .decide(
                &signed.caller,
                CaseId(id),
                Decision {
                    decision,
                    entity: labels.entity,
                    tier: labels.tier,
                    grounds: Vec::new(),
                    reason: form.reason.trim().to_string(),
                    add_to_bank: None,
                },
            )
            .await?;
        Ok(detail.case.status)
    }
    .await;
    after_form(&signed.session, "/ui/review", result, |status| {
        format!("Case {id} {status}.")
    })
}
