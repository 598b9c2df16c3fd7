//! Intake: fetch each submitted URL, fingerprint what it carries, match, and record
//! observations filed under review cases.

use std::collections::{BTreeSet, HashMap};

use futures_util::StreamExt;
use serde_json::{json, Value};
use takedown_engine::{Caller, EngineError, MatchHit};
use takedown_fetch::{media_in_page, FetchOutcome, FetchReport, Live, TargetUrl};
use takedown_model::{ContentId, OrgId, Permission, Tier};
use takedown_store::referrals::{
    provider_for_host, CaseSeed, FetchKind, MatchRecord, NewObservation, Observation, Provider,
};

use crate::{ReferralResult, Referrals};

/// URLs to take in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IntakeRequest {
    /// The URLs, as given.
    pub urls: Vec<String>,
    /// The organisation they are for; only the instance itself names one.
    pub org: Option<OrgId>,
    /// Where they came from (`api`, `cli`, `file:urls.txt`, `feed:NAME`).
    pub source: String,
}

/// What became of one submitted URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntakeReport {
    /// The URL as given.
    pub url: String,
    /// What was recorded (several for a page with several media); empty when the URL was
    /// refused before fetching.
    pub observations: Vec<Observation>,
    /// Why the URL was refused before fetching (not a URL, a scheme other than http(s), ...).
    pub error: Option<String>,
}

/// Fingerprints and matches of one medium.
struct Examined {
    md5: Option<String>,
    sha256: Option<String>,
    pdq: Option<String>,
    pdq_quality: Option<u8>,
    matches: Vec<MatchRecord>,
    case: Option<CaseSeed>,
    note: Option<String>,
}

/// The fetch's evidence as JSON: the request chain and what was concluded.
pub(crate) fn fetch_evidence(report: &FetchReport) -> Value {
    let hops: Vec<Value> = report
        .hops
        .iter()
        .map(|hop| {
            json!({
                "url": hop.url,
                "at": hop.at.to_rfc3339(),
                "status": hop.status(),
                "location": hop.location(),
                "remote_addr": hop.remote_addr.map(|addr| addr.to_string()),
                "error": match &hop.result {
                    takedown_fetch::HopResult::Failed { message, .. } => Some(message.clone()),
                    takedown_fetch::HopResult::Response { .. } => None,
                },
            })
        })
        .collect();
    let mut evidence = json!({
        "requested_url": report.requested_url,
        "fetched_at": report.fetched_at.to_rfc3339(),
        "outcome": report.kind().as_str(),
        "hops": hops,
    });
    let detail = match &report.outcome {
        FetchOutcome::Live(live) => json!({
            "final_url": live.final_url,
            "etag": live.etag,
            "last_modified": live.last_modified,
            "bytes_received": live.bytes_received,
            "truncated": live.truncated,
        }),
        FetchOutcome::Removed(removed) => json!({
            "final_url": removed.final_url,
            "reason": format!("{:?}", removed.reason),
            "excerpt": removed.excerpt,
        }),
        FetchOutcome::Unreachable(unreachable) => json!({
            "reason": format!("{:?}", unreachable.reason),
            "message": unreachable.message,
            "retry_after_seconds": unreachable.retry_after.map(|wait| wait.as_secs()),
        }),
        FetchOutcome::Blocked(blocked) => json!({
            "url": blocked.url,
            "reason": blocked.reason.to_string(),
        }),
    };
    if let (Some(target), Value::Object(extra)) = (evidence.as_object_mut(), detail) {
        target.extend(extra);
    }
    evidence
}

/// Whether a live answer is an HTML page rather than a medium.
pub(crate) fn is_html(live: &Live) -> bool {
    live.content_type.as_deref().is_some_and(|content_type| {
        let essence = content_type.split(';').next().unwrap_or("").trim();
        essence.eq_ignore_ascii_case("text/html")
            || essence.eq_ignore_ascii_case("application/xhtml+xml")
    })
}

/// The URL without its fragment: `#...` never reaches the server, so two URLs differing only
/// there are one URL to a provider (and to deduplication).
pub(crate) fn normalised(target: &TargetUrl, max_length: usize) -> Result<TargetUrl, String> {
    let mut url = target.as_url().clone();
    url.set_fragment(None);
    TargetUrl::from_url(url, max_length).map_err(|error| error.to_string())
}

/// Severity of a bank item for ranking: its label, else from its tier.
fn severity_of(labels: &takedown_model::Labels) -> u8 {
    if let Some(severity) = labels.severity {
        return severity.value();
    }
    match labels.tier {
        Some(Tier::ThreatToLife) => 7,
        Some(Tier::Crisis) => 6,
        Some(Tier::OfficialPropaganda) | None => 3,
        Some(Tier::Promotional) => 1,
    }
}

impl Referrals {
    /// Fetches, fingerprints and matches each URL and records what it found. URLs are fetched
    /// concurrently within the fetcher's per-host limits. A URL that is not fetchable is
    /// reported with its error; one that is gone or unreachable is recorded as such.
    pub async fn submit_urls(
        &self,
        caller: &Caller,
        request: IntakeRequest,
    ) -> ReferralResult<Vec<IntakeReport>> {
        caller.require(Permission::Review)?;
        if !self.engine.is_ready() {
            return Err(EngineError::NotReady.into());
        }
        let org = self.owning_org(caller, request.org)?;
        let providers = self.store().list_providers().await?;
        let source = if request.source.trim().is_empty() {
            "api".to_string()
        } else {
            request.source.trim().to_string()
        };
        let concurrency = self.config.check_concurrency;
        let intakes: Vec<_> = request
            .urls
            .iter()
            .map(|url| self.take_in(caller, org, &providers, url.trim().to_string(), &source))
            .collect();
        let results: Vec<ReferralResult<IntakeReport>> = futures_util::stream::iter(intakes)
            .buffered(concurrency)
            .collect()
            .await;
        results.into_iter().collect()
    }

    async fn take_in(
        &self,
        caller: &Caller,
        org: OrgId,
        providers: &[Provider],
        text: String,
        source: &str,
    ) -> ReferralResult<IntakeReport> {
        let text = text.as_str();
        let max_length = self.fetcher.config().max_url_length;
        let target = match self
            .fetcher
            .parse_url(text)
            .map_err(|error| error.to_string())
            .and_then(|target| normalised(&target, max_length))
        {
            Ok(target) => target,
            Err(error) => {
                return Ok(IntakeReport {
                    url: text.to_string(),
                    observations: Vec::new(),
                    error: Some(error),
                })
            }
        };
        let report = self.fetcher.fetch(&target).await;
        let host = target.host_key();
        let provider = provider_for_host(providers, &host).map(|provider| provider.id);
        let base = NewObservation {
            url: target.as_str().to_string(),
            host,
            final_url: None,
            media_url: None,
            found_in: None,
            fetched_at: report.fetched_at,
            outcome: kind_of(&report.outcome),
            http_status: report.last_status(),
            content_type: None,
            size: None,
            md5: None,
            sha256: None,
            pdq: None,
            pdq_quality: None,
            matches: Vec::new(),
            provider,
            source: source.to_string(),
            evidence: fetch_evidence(&report).to_string(),
            case: None,
        };
        let mut observations = Vec::new();
        match &report.outcome {
            FetchOutcome::Live(live) if is_html(live) => {
                let links = media_in_page(live, self.config.max_embedded_media);
                let page = NewObservation {
                    final_url: Some(live.final_url.clone()),
                    content_type: live.content_type.clone(),
                    size: Some(live.bytes_received),
                    ..base.clone()
                };
                if links.is_empty() {
                    observations.push(page.clone());
                }
                for link in links {
                    let found_in = format!("{:?}", link.found_in);
                    let media_target = match TargetUrl::from_url(link.url.clone(), max_length) {
                        Ok(target) => target,
                        Err(_) => continue,
                    };
                    let media_report = self.fetcher.fetch(&media_target).await;
                    let mut evidence = fetch_evidence(&media_report);
                    if let Some(object) = evidence.as_object_mut() {
                        object.insert("page".into(), fetch_evidence(&report));
                    }
                    let mut observation = NewObservation {
                        media_url: Some(media_target.as_str().to_string()),
                        found_in: Some(found_in),
                        fetched_at: media_report.fetched_at,
                        outcome: kind_of(&media_report.outcome),
                        http_status: media_report.last_status(),
                        evidence: evidence.to_string(),
                        ..page.clone()
                    };
                    if let FetchOutcome::Live(media) = &media_report.outcome {
                        self.fill_media(caller, media, &mut observation).await?;
                    }
                    observations.push(observation);
                }
            }
            FetchOutcome::Live(live) => {
                let mut observation = base.clone();
                self.fill_media(caller, live, &mut observation).await?;
                observations.push(observation);
            }
            _ => observations.push(base),
        }
        let recorded = self
            .store()
            .record_observations(&caller.actor, org, observations)
            .await?;
        Ok(IntakeReport {
            url: text.to_string(),
            observations: recorded,
            error: None,
        })
    }

    /// Fingerprints and matches a served medium into `observation`.
    async fn fill_media(
        &self,
        caller: &Caller,
        live: &Live,
        observation: &mut NewObservation,
    ) -> ReferralResult<()> {
        observation.final_url = Some(live.final_url.clone());
        observation.content_type = live.content_type.clone();
        observation.size = Some(live.bytes_received);
        let examined = self.examine(caller, live).await?;
        observation.md5 = examined.md5;
        observation.sha256 = examined.sha256;
        observation.pdq = examined.pdq;
        observation.pdq_quality = examined.pdq_quality;
        observation.matches = examined.matches;
        observation.case = examined.case;
        if let Some(note) = examined.note {
            let mut evidence: Value =
                serde_json::from_str(&observation.evidence).unwrap_or_else(|_| json!({}));
            if let Some(object) = evidence.as_object_mut() {
                object.insert("fingerprint".into(), Value::String(note));
            }
            observation.evidence = evidence.to_string();
        }
        Ok(())
    }

    async fn examine(&self, caller: &Caller, live: &Live) -> ReferralResult<Examined> {
        let Some(digests) = live.digests.clone() else {
            // A truncated body's digests would be of a prefix: nothing to compare or review.
            return Ok(Examined {
                md5: None,
                sha256: None,
                pdq: None,
                pdq_quality: None,
                matches: Vec::new(),
                case: None,
                note: Some(format!(
                    "body larger than the fetch limit; stopped after {} bytes",
                    live.bytes_received
                )),
            });
        };
        let mut note = None;
        let mut pdq = None;
        let mut pdq_quality = None;
        let hits: Vec<MatchHit> = match self
            .engine
            .match_bytes(caller, live.body.to_vec(), None)
            .await
        {
            Ok(report) => {
                if let Some(image) = report.fingerprints.image() {
                    pdq = Some(image.pdq.hash.to_hex());
                    pdq_quality = Some(image.pdq.quality);
                }
                report.hits
            }
            Err(EngineError::Unprocessable(message) | EngineError::TooLarge(message)) => {
                // Not an image the hasher decodes (a video, an archive): the digests still
                // match exactly, as GIFCT's and TCAP's MD5 and SHA-256 lists do.
                note = Some(message);
                let mut hits = Vec::new();
                for (kind, value) in [
                    ("md5", digests.md5.as_str()),
                    ("video_md5", digests.md5.as_str()),
                    ("sha256", digests.sha256.as_str()),
                ] {
                    hits.extend(self.engine.lookup_signal(caller, kind, value, None).await?);
                }
                hits
            }
            Err(other) => return Err(other.into()),
        };
        let mut matches: Vec<MatchRecord> = Vec::new();
        for hit in &hits {
            if !matches.iter().any(|known| known.content == hit.content) {
                matches.push(MatchRecord {
                    content: hit.content,
                    bank: hit.bank,
                    bank_name: hit.bank_name.to_string(),
                    signal_type: hit.signal_type,
                    distance: hit.distance,
                });
            }
        }
        let case = self.case_seed(&matches, &digests.sha256).await?;
        Ok(Examined {
            md5: Some(digests.md5),
            sha256: Some(digests.sha256),
            pdq,
            pdq_quality,
            matches,
            case: Some(case),
            note,
        })
    }

    /// The case a medium belongs to and its ranking inputs (see the crate documentation).
    async fn case_seed(&self, matches: &[MatchRecord], sha256: &str) -> ReferralResult<CaseSeed> {
        let Some(best) = matches.first() else {
            return Ok(CaseSeed {
                content_key: format!("sha256:{sha256}"),
                content_id: None,
                entity: None,
                tier: None,
                severity: 0,
                confidence: 0,
            });
        };
        let mut severity = 0u8;
        let mut confidence = 0u8;
        let mut labels_of: HashMap<ContentId, takedown_model::Labels> = HashMap::new();
        for hit in matches {
            if let Ok(content) = self.store().content(hit.content).await {
                labels_of.insert(hit.content, content.labels);
            }
        }
        for labels in labels_of.values() {
            severity = severity.max(severity_of(labels));
            confidence = confidence.max(labels.confidence.map_or(2, |c| c.value()));
        }
        let banks: BTreeSet<_> = matches.iter().map(|hit| hit.bank).collect();
        if banks.len() >= 2 {
            confidence = confidence.saturating_add(1);
        }
        let best_labels = labels_of.get(&best.content);
        Ok(CaseSeed {
            content_key: format!("content:{}", best.content.0),
            content_id: Some(best.content),
            entity: best_labels.and_then(|labels| labels.entity.clone()),
            tier: best_labels.and_then(|labels| labels.tier),
            severity: severity.min(7),
            confidence: confidence.min(3),
        })
    }
}

pub(crate) fn kind_of(outcome: &FetchOutcome) -> FetchKind {
    match outcome {
        FetchOutcome::Live(_) => FetchKind::Live,
        FetchOutcome::Removed(_) => FetchKind::Removed,
        FetchOutcome::Unreachable(_) => FetchKind::Unreachable,
        FetchOutcome::Blocked(_) => FetchKind::Blocked,
    }
}
