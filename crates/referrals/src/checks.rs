//! Verification: claim due checks with a lease, fetch each referred URL, judge what it serves
//! against the evidence, and record the result with the next check, all under the lease.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use serde_json::{json, Value};
use takedown_fetch::{media_in_page, FetchOutcome, Live, TargetUrl};
use takedown_signals::Hash256;
use takedown_store::referrals::{
    CheckOutcome, CheckResult, ClaimedCheck, RecordedCheck, ReferralId, ReferralItem,
    ReferralStatus,
};

use crate::delivery::lease;
use crate::intake::{fetch_evidence, is_html};
use crate::{ReferralResult, Referrals};

/// What one run of due checks did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckRunSummary {
    /// Checks claimed.
    pub claimed: usize,
    /// Results recorded.
    pub recorded: usize,
    /// Results dropped because the lease had been taken over.
    pub lost_leases: usize,
    /// Recorded results by outcome.
    pub outcomes: BTreeMap<String, usize>,
    /// Referrals whose status the checks changed.
    pub status_changes: Vec<(ReferralId, ReferralStatus)>,
}

/// What one run of the outbox did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutboxRunSummary {
    /// Messages claimed.
    pub claimed: usize,
    /// Accepted by the receiving server.
    pub delivered: usize,
    /// Failed for now; retried later.
    pub retried: usize,
    /// Failed for good.
    pub failed: usize,
    /// Outcomes dropped because the lease had been taken over.
    pub lost_leases: usize,
}

/// How a served medium compares with the referred evidence.
struct Comparison {
    outcome: CheckOutcome,
    md5: Option<String>,
    sha256: Option<String>,
    distance: Option<u32>,
    note: Option<String>,
}

impl Referrals {
    /// Claims the checks due now for `owner` (up to the configured batch, with the configured
    /// lease). Most callers want [`Referrals::run_due_checks`]; this and
    /// [`Referrals::perform_check`] and [`Referrals::record_check`] are its steps, public so
    /// that a test can stop between them.
    pub async fn claim_due_checks(&self, owner: &str) -> ReferralResult<Vec<ClaimedCheck>> {
        Ok(self
            .store()
            .claim_checks(
                owner,
                self.clock().now(),
                lease(self.config.check_lease),
                self.config.check_batch,
            )
            .await?)
    }

    /// Checks pending, claimed and done on the instance, and the next due time.
    pub async fn check_counts(&self) -> ReferralResult<takedown_store::referrals::CheckCounts> {
        Ok(self.store().check_counts().await?)
    }

    /// Runs every check due now, as `owner`: claims them in batches, checks them concurrently
    /// (the fetcher keeps to its per-host limits) and records each result under its lease.
    pub async fn run_due_checks(&self, owner: &str) -> ReferralResult<CheckRunSummary> {
        let mut summary = CheckRunSummary::default();
        loop {
            let claimed = self.claim_due_checks(owner).await?;
            let batch_full = claimed.len() >= self.config.check_batch as usize;
            summary.claimed += claimed.len();
            let runs: Vec<_> = claimed
                .into_iter()
                .map(|check| self.check_one(owner, check))
                .collect();
            let results: Vec<ReferralResult<(RecordedCheck, CheckOutcome, ReferralId)>> =
                futures_util::stream::iter(runs)
                    .buffer_unordered(self.config.check_concurrency)
                    .collect()
                    .await;
            for result in results {
                let (recorded, outcome, referral) = result?;
                if recorded.recorded {
                    summary.recorded += 1;
                    *summary
                        .outcomes
                        .entry(outcome.as_str().to_string())
                        .or_default() += 1;
                    if let Some(status) = recorded.referral_status {
                        summary.status_changes.push((referral, status));
                    }
                } else {
                    summary.lost_leases += 1;
                }
            }
            if !batch_full {
                return Ok(summary);
            }
        }
    }

    async fn check_one(
        &self,
        owner: &str,
        check: ClaimedCheck,
    ) -> ReferralResult<(RecordedCheck, CheckOutcome, ReferralId)> {
        let result = self.perform_check(&check).await;
        let outcome = result.outcome;
        let recorded = self.record_check(owner, &check, result).await?;
        Ok((recorded, outcome, check.check.referral))
    }

    /// Records a check's result under `owner`'s lease, scheduling the next check from the
    /// referral's sending time.
    pub async fn record_check(
        &self,
        owner: &str,
        claimed: &ClaimedCheck,
        result: CheckResult,
    ) -> ReferralResult<RecordedCheck> {
        let next_due = self
            .config
            .schedule
            .due(claimed.sent_at, claimed.check.sequence + 1);
        Ok(self
            .store()
            .record_check(owner, claimed.check.id, result, next_due)
            .await?)
    }

    /// Fetches a referred URL and judges it against the evidence. Never fails: every ending
    /// is an outcome with its evidence.
    pub async fn perform_check(&self, claimed: &ClaimedCheck) -> CheckResult {
        let item = &claimed.item;
        let max_length = self.fetcher.config().max_url_length;
        let mut result = CheckResult {
            checked_at: self.clock().now(),
            method: "GET".into(),
            http_status: None,
            final_url: None,
            content_type: None,
            md5: None,
            sha256: None,
            pdq_distance: None,
            outcome: CheckOutcome::Blocked,
            evidence: String::new(),
        };
        let target = match TargetUrl::parse_with_limit(&item.url, max_length) {
            Ok(target) => target,
            Err(error) => {
                result.evidence = json!({ "error": error.to_string() }).to_string();
                return result;
            }
        };
        let report = self.fetcher.fetch(&target).await;
        result.checked_at = report.fetched_at;
        result.http_status = report.last_status();
        let mut evidence = fetch_evidence(&report);
        match &report.outcome {
            FetchOutcome::Removed(removed) => {
                result.outcome = CheckOutcome::Removed;
                result.final_url = Some(removed.final_url.clone());
                result.content_type = removed.content_type.clone();
            }
            FetchOutcome::Unreachable(_) => result.outcome = CheckOutcome::Unreachable,
            FetchOutcome::Blocked(_) => result.outcome = CheckOutcome::Blocked,
            FetchOutcome::Live(live) => {
                result.final_url = Some(live.final_url.clone());
                result.content_type = live.content_type.clone();
                let comparison = if item.media_url.is_some() && is_html(live) {
                    self.compare_page(item, live, &mut evidence).await
                } else {
                    self.compare(item, live).await
                };
                result.outcome = comparison.outcome;
                result.md5 = comparison.md5;
                result.sha256 = comparison.sha256;
                result.pdq_distance = comparison.distance;
                if let (Some(note), Some(object)) = (comparison.note, evidence.as_object_mut()) {
                    object.insert("judgement".into(), Value::String(note));
                }
            }
        }
        result.evidence = evidence.to_string();
        result
    }

    /// A page that embedded the referred medium: the medium is still there if the page (still)
    /// embeds a copy of it, wherever in the page.
    async fn compare_page(
        &self,
        item: &ReferralItem,
        page: &Live,
        evidence: &mut Value,
    ) -> Comparison {
        let max_length = self.fetcher.config().max_url_length;
        let mut links: Vec<url::Url> = media_in_page(page, self.config.max_embedded_media)
            .into_iter()
            .map(|link| link.url)
            .collect();
        // The referred medium first: it is the one most likely still there.
        if let Some(position) = links
            .iter()
            .position(|link| Some(link.as_str()) == item.media_url.as_deref())
        {
            let first = links.remove(position);
            links.insert(0, first);
        }
        let mut media_evidence = Vec::new();
        for link in links {
            let Ok(target) = TargetUrl::from_url(link, max_length) else {
                continue;
            };
            let report = self.fetcher.fetch(&target).await;
            media_evidence.push(fetch_evidence(&report));
            if let FetchOutcome::Live(media) = &report.outcome {
                let comparison = self.compare(item, media).await;
                if comparison.outcome == CheckOutcome::Live {
                    if let Some(object) = evidence.as_object_mut() {
                        object.insert("media".into(), Value::Array(media_evidence));
                    }
                    return comparison;
                }
            }
        }
        if let Some(object) = evidence.as_object_mut() {
            object.insert("media".into(), Value::Array(media_evidence));
        }
        Comparison {
            outcome: CheckOutcome::Changed,
            md5: None,
            sha256: None,
            distance: None,
            note: Some("the page no longer embeds the referred content".into()),
        }
    }

    /// Same bytes, or a perceptual match within the engine's radius, is the referred content.
    async fn compare(&self, item: &ReferralItem, live: &Live) -> Comparison {
        let Some(digests) = live.digests.clone() else {
            // Larger than the fetch limit: it cannot be compared, and calling it gone on that
            // basis would close a referral for content that may well be there.
            return Comparison {
                outcome: CheckOutcome::Live,
                md5: None,
                sha256: None,
                distance: None,
                note: Some("body larger than the fetch limit; not compared".into()),
            };
        };
        if item.sha256.as_deref() == Some(digests.sha256.as_str()) {
            return Comparison {
                outcome: CheckOutcome::Live,
                md5: Some(digests.md5),
                sha256: Some(digests.sha256),
                distance: Some(0).filter(|_| item.pdq.is_some()),
                note: None,
            };
        }
        let referred = item
            .pdq
            .as_deref()
            .and_then(|pdq| Hash256::from_hex(pdq).ok());
        let mut distance = None;
        let mut note = None;
        if let Some(referred) = referred {
            let body = live.body.clone();
            let options = self.engine.config().hash_options.clone();
            let hashed = tokio::task::spawn_blocking(move || {
                takedown_hasher::fingerprint_bytes(&body, &options)
            })
            .await;
            match hashed {
                Ok(Ok(fingerprints)) => {
                    distance = fingerprints
                        .image()
                        .map(|image| image.pdq.hash.distance(&referred));
                }
                Ok(Err(error)) => note = Some(format!("not comparable: {error}")),
                Err(error) => note = Some(format!("hashing failed: {error}")),
            }
        }
        let radius = self.engine.config().match_radius;
        let outcome = if distance.is_some_and(|d| d <= radius) {
            CheckOutcome::Live
        } else {
            CheckOutcome::Changed
        };
        Comparison {
            outcome,
            md5: Some(digests.md5),
            sha256: Some(digests.sha256),
            distance,
            note,
        }
    }

    /// Runs the outbox and the due checks every `interval` until the returned task is aborted
    /// or the last other reference to `self` is dropped. `owner` names this worker in leases
    /// (make it unique per process, e.g. host name and process id).
    pub fn spawn_worker(
        self: &Arc<Self>,
        owner: String,
        interval: Duration,
    ) -> tokio::task::JoinHandle<()> {
        let weak = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(interval);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticker.tick().await;
                let Some(referrals) = weak.upgrade() else {
                    return;
                };
                if let Err(error) = referrals.run_outbox(&owner).await {
                    tracing::warn!(%error, "outbox run failed; will retry");
                }
                match referrals.run_due_checks(&owner).await {
                    Ok(summary) if summary.claimed > 0 => tracing::info!(
                        claimed = summary.claimed,
                        recorded = summary.recorded,
                        "url checks run"
                    ),
                    Ok(_) => {}
                    Err(error) => tracing::warn!(%error, "url checks failed; will retry"),
                }
            }
        })
    }
}
