//! Reading the referral workflow's records (the store's [`ReferralStore`]) for impact work:
//! referred URLs with their checks (time to removal, removal rates), the period's figures for
//! the transparency report, and releases recorded from confirmed observations.
//!
//! Everything here reads through the store trait only, never `takedown-referrals`: the
//! workflow's policy (schedules, notices) is not needed to measure what it did.

use std::collections::{BTreeMap, HashMap, HashSet};

use takedown_analytics::UrlRecord;
use takedown_model::{Actor, OrgId, SignalType, Timestamp};
use takedown_store::referrals::{
    CaseQuery, CaseStatus, CheckOutcome, FetchKind, NoticeFormat, Observation, ObservationQuery,
    ProviderId, Referral, ReferralQuery, ReferralStatus,
};
use takedown_store::{ReferralStore, ReleaseMedium, Store};

use crate::log::{record_release_from_observation, ObservedRelease};
use crate::removal::{RemovalInputs, RemovalScope};
use crate::transparency::{OrderOutcome, ReferralFacts, RemovalOrderFact};
use crate::ImpactError;

/// Page size when walking referrals and observations (the store's largest page).
const PAGE: u32 = 10_000;

/// Most confirmed cases read at once: the store's case listing has no keyset paging, so cases
/// beyond its largest page are not reached (reported in [`ObservedReleases::truncated`]).
const MAX_CASES: u32 = 10_000;

/// Every referral on the instance, newest first, page by page.
async fn all_referrals(store: &dyn ReferralStore) -> Result<Vec<Referral>, ImpactError> {
    let mut out: Vec<Referral> = Vec::new();
    let mut query = ReferralQuery {
        limit: PAGE,
        ..ReferralQuery::default()
    };
    loop {
        let page = store.referrals(&query).await?;
        let full = page.len() as u32 >= PAGE;
        query.before = page.last().map(|r| r.id);
        out.extend(page);
        if !full {
            return Ok(out);
        }
    }
}

/// Provider names by id.
async fn provider_names(
    store: &dyn ReferralStore,
) -> Result<HashMap<ProviderId, String>, ImpactError> {
    Ok(store
        .list_providers()
        .await?
        .into_iter()
        .map(|p| (p.id, p.name))
        .collect())
}

/// A check's result as the survival analysis reads it: live, gone, or neither (unreachable
/// or blocked say nothing about whether the content is still there, so they are skipped).
fn seen_live(outcome: CheckOutcome) -> Option<bool> {
    match outcome {
        CheckOutcome::Live => Some(true),
        o if o.is_gone() => Some(false),
        _ => None,
    }
}

/// The referred URLs of `referral` summarised from its checks; the referral time is when the
/// provider accepted the notice. Drafts never sent have no clock running and give nothing.
async fn url_records(
    store: &dyn ReferralStore,
    referral: &Referral,
    providers: &HashMap<ProviderId, String>,
    outlets: &[String],
) -> Result<Vec<UrlRecord>, ImpactError> {
    let Some(sent_at) = referral.sent_at else {
        return Ok(Vec::new());
    };
    let items = store.referral_items(referral.id).await?;
    let mut checks: HashMap<i64, Vec<(Timestamp, bool)>> = HashMap::new();
    for check in store.referral_checks(referral.id).await? {
        if let Some(result) = &check.result {
            if let Some(live) = seen_live(result.outcome) {
                checks
                    .entry(check.item.0)
                    .or_default()
                    .push((result.checked_at, live));
            }
        }
    }
    let provider = providers
        .get(&referral.provider)
        .cloned()
        .unwrap_or_else(|| format!("provider {}", referral.provider));
    Ok(items
        .iter()
        .filter_map(|item| {
            let outlet = item
                .entity
                .as_deref()
                .map(str::to_lowercase)
                .unwrap_or_else(|| "unknown".into());
            if !outlets.is_empty() && !outlets.iter().any(|o| o.eq_ignore_ascii_case(&outlet)) {
                return None;
            }
            let tier = item
                .tier
                .map_or_else(|| "unknown".into(), |t| t.number().to_string());
            let empty = Vec::new();
            let item_checks = checks.get(&item.id.0).unwrap_or(&empty);
            Some(UrlRecord::from_checks(
                sent_at,
                item_checks,
                &provider,
                &outlet,
                &tier,
            ))
        })
        .collect())
}

/// Referred URLs in `scope` (referrals sent in `[from, until)`, items carrying the scope's
/// outlets' content), or `None` when the instance has no referral at all.
pub async fn removal_inputs(
    store: &dyn ReferralStore,
    scope: &RemovalScope,
    measured_at: Timestamp,
) -> Result<Option<RemovalInputs>, ImpactError> {
    let referrals = all_referrals(store).await?;
    if referrals.is_empty() {
        return Ok(None);
    }
    let providers = provider_names(store).await?;
    let mut urls = Vec::new();
    for r in &referrals {
        if r.sent_at
            .is_some_and(|t| t >= scope.from && t < scope.until && t <= measured_at)
        {
            urls.extend(url_records(store, r, &providers, &scope.outlets).await?);
        }
    }
    Ok(Some(RemovalInputs { measured_at, urls }))
}

/// What became of an EU removal order: removed when every URL was seen gone; not removed
/// when the provider refused or the re-check schedule ran out with some or all URLs still up
/// (an order asks for all of its content); unknown while the referral is still open.
fn order_outcome(status: ReferralStatus) -> Option<OrderOutcome> {
    match status {
        ReferralStatus::Removed => Some(OrderOutcome::Removed),
        ReferralStatus::PartiallyRemoved | ReferralStatus::Refused | ReferralStatus::Expired => {
            Some(OrderOutcome::NotRemoved)
        }
        _ => None,
    }
}

/// The referral records of `[from, to)` for the transparency report, or `None` when the
/// instance has neither observations nor referrals.
///
/// * URLs assessed: distinct URLs fetched and recorded as observations in the period.
/// * Referrals sent: referrals the provider accepted in the period; their URLs with checks
///   summarised give the removal figures.
/// * Removal orders: those referrals sent as EU removal orders (`eu-order` notices). Whether
///   the provider is in another member state is not recorded (takedown does not know the
///   issuing authority's own member state), so that figure stays manual.
pub async fn referral_facts(
    store: &dyn ReferralStore,
    from: Timestamp,
    to: Timestamp,
    measured_at: Timestamp,
) -> Result<Option<ReferralFacts>, ImpactError> {
    let mut assessed: HashSet<String> = HashSet::new();
    let mut any_observation = false;
    let mut query = ObservationQuery {
        limit: PAGE,
        ..ObservationQuery::default()
    };
    loop {
        let page = store.observations(&query).await?;
        any_observation |= !page.is_empty();
        for o in &page {
            if o.fetched_at >= from && o.fetched_at < to {
                assessed.insert(o.url.clone());
            }
        }
        if (page.len() as u32) < PAGE {
            break;
        }
        query.after = page.last().map(|o| o.id);
    }
    let referrals = all_referrals(store).await?;
    if referrals.is_empty() && !any_observation {
        return Ok(None);
    }
    let providers = provider_names(store).await?;
    let mut urls = Vec::new();
    let mut sent = 0u64;
    let mut orders = Vec::new();
    // Oldest first, so the per-order list reads in time order.
    for r in referrals.iter().rev() {
        let Some(sent_at) = r.sent_at.filter(|t| *t >= from && *t < to) else {
            continue;
        };
        sent += 1;
        urls.extend(url_records(store, r, &providers, &[]).await?);
        if r.notice_format == NoticeFormat::EuOrder {
            orders.push(RemovalOrderFact {
                issued_at: sent_at,
                provider: providers
                    .get(&r.provider)
                    .cloned()
                    .unwrap_or_else(|| format!("provider {}", r.provider)),
                cross_border: None,
                outcome: order_outcome(r.status),
            });
        }
    }
    Ok(Some(ReferralFacts {
        measured_at,
        urls_assessed: assessed.len() as u64,
        referrals_sent: sent,
        urls,
        removal_orders: orders,
    }))
}

/// What [`record_confirmed_releases`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObservedReleases {
    /// Confirmed cases read.
    pub cases: u64,
    /// Releases newly stored.
    pub added: u64,
    /// Releases already stored (recorded before, or imported from a log).
    pub unchanged: u64,
    /// Confirmed cases without an entity (no outlet to attribute the release to).
    pub without_outlet: u64,
    /// Confirmed cases with no live observation of a known medium.
    pub without_medium: u64,
    /// True when there were more confirmed cases than one listing returns.
    pub truncated: bool,
}

/// The release medium of a fetched item from its content type; `None` when it is none of
/// them (an archive, an executable, an unknown type).
pub fn medium_of(content_type: Option<&str>) -> Option<ReleaseMedium> {
    let ct = content_type?.trim().to_ascii_lowercase();
    if ct.starts_with("image/") {
        Some(ReleaseMedium::Image)
    } else if ct.starts_with("video/") {
        Some(ReleaseMedium::Video)
    } else if ct.starts_with("audio/") {
        Some(ReleaseMedium::Audio)
    } else if ct.starts_with("text/") || ct.starts_with("application/pdf") {
        Some(ReleaseMedium::Statement)
    } else {
        None
    }
}

/// The release a confirmed case stands for: one piece of content is one release, however many
/// URLs carry copies, so it is dated by the earliest live observation (the earliest time
/// takedown knows it existed) and its channel is the host that observation came from.
pub fn release_from_case(
    outlet: &str,
    content_key: &str,
    observations: &[Observation],
) -> Option<ObservedRelease> {
    let first = observations
        .iter()
        .filter(|o| o.outcome == FetchKind::Live)
        .filter(|o| medium_of(o.content_type.as_deref()).is_some())
        .min_by_key(|o| (o.fetched_at, o.id))?;
    let mut fingerprints = Vec::new();
    for (t, v) in [
        (SignalType::Md5, &first.md5),
        (SignalType::Sha256, &first.sha256),
        (SignalType::Pdq, &first.pdq),
    ] {
        if let Some(v) = v {
            fingerprints.push((t, v.clone()));
        }
    }
    Some(ObservedRelease {
        outlet: outlet.to_string(),
        published_at: first.fetched_at,
        medium: medium_of(first.content_type.as_deref())?,
        language: String::new(),
        channel: first.host.clone(),
        title: format!("Observed item {content_key}"),
        fingerprints,
        observation_id: first.id.0,
    })
}

/// Records a release for every confirmed case (of `org`, or every organisation) whose
/// content is attributed to an outlet, from its earliest live observation. Idempotent:
/// running it again stores nothing new.
pub async fn record_confirmed_releases(
    store: &dyn Store,
    actor: &Actor,
    org: Option<OrgId>,
) -> Result<ObservedReleases, ImpactError> {
    let cases = store
        .cases(&CaseQuery {
            org,
            status: Some(CaseStatus::Confirmed),
            limit: MAX_CASES,
        })
        .await?;
    let mut out = ObservedReleases {
        cases: cases.len() as u64,
        truncated: cases.len() as u32 >= MAX_CASES,
        ..ObservedReleases::default()
    };
    // Per outlet, in case order: the log is per outlet anyway.
    let mut by_outlet: BTreeMap<String, Vec<ObservedRelease>> = BTreeMap::new();
    for case in &cases {
        let Some(outlet) = case.entity.as_deref().filter(|e| !e.trim().is_empty()) else {
            out.without_outlet += 1;
            continue;
        };
        let mut observations = Vec::new();
        let mut query = ObservationQuery {
            case: Some(case.id),
            limit: PAGE,
            ..ObservationQuery::default()
        };
        loop {
            let page = store.observations(&query).await?;
            let full = page.len() as u32 >= PAGE;
            query.after = page.last().map(|o| o.id);
            observations.extend(page);
            if !full {
                break;
            }
        }
        match release_from_case(&outlet.to_lowercase(), &case.content_key, &observations) {
            Some(r) => by_outlet.entry(r.outlet.clone()).or_default().push(r),
            None => out.without_medium += 1,
        }
    }
    for release in by_outlet.into_values().flatten() {
        let (_, new) = record_release_from_observation(store, actor, release).await?;
        if new {
            out.added += 1;
        } else {
            out.unchanged += 1;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_from_content_types() {
        assert_eq!(medium_of(Some("image/png")), Some(ReleaseMedium::Image));
        assert_eq!(
            medium_of(Some("Video/MP4; codecs=x")),
            Some(ReleaseMedium::Video)
        );
        assert_eq!(medium_of(Some("audio/mpeg")), Some(ReleaseMedium::Audio));
        assert_eq!(
            medium_of(Some("text/html; charset=utf-8")),
            Some(ReleaseMedium::Statement)
        );
        assert_eq!(medium_of(Some("application/zip")), None);
        assert_eq!(medium_of(None), None);
    }

    #[test]
    fn unreachable_checks_say_nothing() {
        assert_eq!(seen_live(CheckOutcome::Live), Some(true));
        assert_eq!(seen_live(CheckOutcome::Removed), Some(false));
        assert_eq!(seen_live(CheckOutcome::Changed), Some(false));
        assert_eq!(seen_live(CheckOutcome::Unreachable), None);
        assert_eq!(seen_live(CheckOutcome::Blocked), None);
    }
}
