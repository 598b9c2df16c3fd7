//! Referrals: put confirmed URLs into one referral per provider (deduplicated across
//! organisations), follow their status, and measure time to removal.

use std::collections::BTreeMap;

use takedown_engine::Caller;
use takedown_model::{OrgId, Permission, Timestamp};
use takedown_store::referrals::{
    CaseStatus, FetchKind, NewReferral, NewReferralItem, Observation, ObservationId, OutboxMessage,
    Provider, ProviderId, Referral, ReferralId, ReferralItem, ReferralQuery, ReferralStatus,
    UrlCheck,
};

use crate::{ReferralError, ReferralResult, Referrals};

/// What to refer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CreateReferrals {
    /// The referring organisation; only the instance itself names one.
    pub org: Option<OrgId>,
    /// Only URLs hosted by this provider (name or id).
    pub provider: Option<String>,
    /// Only these observations; empty for everything ready to refer (confirmed, live, with a
    /// provider, not in an open referral).
    pub observations: Vec<ObservationId>,
    /// A note for the provider.
    pub note: String,
    /// Free-text reasons added to every URL.
    pub reason: String,
}

/// A URL left out, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedUrl {
    /// The observation.
    pub observation: ObservationId,
    /// Its URL.
    pub url: String,
    /// Why it was left out.
    pub reason: String,
    /// The open referral that already holds it, when that is why.
    pub existing_reference: Option<String>,
}

/// The referrals created (drafts, one per provider) and the URLs left out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedReferrals {
    /// New drafts.
    pub referrals: Vec<Referral>,
    /// URLs not referred.
    pub skipped: Vec<SkippedUrl>,
}

/// When content went: measured from sending to the first check that saw it gone, bounded
/// below by the last check that saw it live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RemovalTiming {
    /// When the provider accepted the referral.
    pub sent_at: Timestamp,
    /// The last check (or the capture) that saw the content live.
    pub last_seen_live: Option<Timestamp>,
    /// The first check that saw it gone.
    pub first_seen_gone: Timestamp,
    /// `first_seen_gone - sent_at`: the time to removal as measured (an upper bound).
    pub time_to_removal: chrono::Duration,
    /// `max(last_seen_live - sent_at, 0)`: removal happened no earlier than this after sending.
    pub at_least: chrono::Duration,
}

impl RemovalTiming {
    fn new(
        sent_at: Timestamp,
        last_seen_live: Option<Timestamp>,
        first_seen_gone: Timestamp,
    ) -> RemovalTiming {
        let at_least = last_seen_live
            .map(|live| live - sent_at)
            .filter(|delta| *delta > chrono::Duration::zero())
            .unwrap_or_else(chrono::Duration::zero);
        RemovalTiming {
            sent_at,
            last_seen_live,
            first_seen_gone,
            time_to_removal: first_seen_gone - sent_at,
            at_least,
        }
    }
}

/// One referred URL with its checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemDetail {
    /// The item and its evidence.
    pub item: ReferralItem,
    /// Its checks, in order.
    pub checks: Vec<UrlCheck>,
    /// When it went, once it did.
    pub removal: Option<RemovalTiming>,
}

/// A referral with everything an export or a status page shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferralDetail {
    /// The referral.
    pub referral: Referral,
    /// Its provider.
    pub provider: Provider,
    /// The referring organisation's name.
    pub org_name: String,
    /// Its URLs.
    pub items: Vec<ItemDetail>,
    /// Its messages (the sent ones are the evidence of what was sent).
    pub messages: Vec<OutboxMessage>,
    /// When the last of its URLs went, once all did.
    pub removal: Option<RemovalTiming>,
}

impl Referrals {
    /// Creates one draft referral per provider from confirmed, live URLs. URLs already in an
    /// open referral to the same provider (by any organisation) are skipped and reported with
    /// that referral's reference; the store's unique index guards against a concurrent
    /// creator.
    pub async fn create_referrals(
        &self,
        caller: &Caller,
        request: CreateReferrals,
    ) -> ReferralResult<CreatedReferrals> {
        caller.require(Permission::Review)?;
        let org = self.owning_org(caller, request.org)?;
        let provider_filter = match &request.provider {
            Some(name) => Some(self.find_provider(name).await?.id),
            None => None,
        };
        let mut skipped = Vec::new();
        let candidates: Vec<Observation> = if request.observations.is_empty() {
            self.store()
                .referable_observations(org, provider_filter)
                .await?
        } else {
            let mut chosen = Vec::new();
            for id in &request.observations {
                let observation = self.store().observation(*id).await?;
                if observation.org != org {
                    return Err(ReferralError::not_found(format!("observation {id}")));
                }
                let skip = |reason: &str| SkippedUrl {
                    observation: observation.id,
                    url: observation.url.clone(),
                    reason: reason.to_string(),
                    existing_reference: None,
                };
                let confirmed = match observation.case {
                    Some(case) => self.store().case(case).await?.status == CaseStatus::Confirmed,
                    None => false,
                };
                if !confirmed {
                    skipped.push(skip("its case is not confirmed"));
                } else if observation.outcome != FetchKind::Live {
                    skipped.push(skip("the content was not live when observed"));
                } else if observation.provider.is_none() {
                    skipped.push(skip("no provider rule covers its host (unassigned)"));
                } else if provider_filter.is_some() && observation.provider != provider_filter {
                    skipped.push(skip("hosted by another provider"));
                } else {
                    chosen.push(observation);
                }
            }
            chosen
        };
        let mut by_provider: BTreeMap<ProviderId, Vec<Observation>> = BTreeMap::new();
        for observation in candidates {
            let Some(provider) = observation.provider else {
                continue;
            };
            let group = by_provider.entry(provider).or_default();
            if group.iter().any(|known| known.url == observation.url) {
                continue;
            }
            group.push(observation);
        }
        let mut referrals = Vec::new();
        for (provider_id, observations) in by_provider {
            let provider = self.store().provider(provider_id).await?;
            let mut items = Vec::new();
            for observation in observations {
                if let Some((_, reference)) = self
                    .store()
                    .open_item_for_url(provider_id, &observation.url)
                    .await?
                {
                    skipped.push(SkippedUrl {
                        observation: observation.id,
                        url: observation.url.clone(),
                        reason: "already in an open referral to this provider".into(),
                        existing_reference: Some(reference),
                    });
                    continue;
                }
                items.push(NewReferralItem {
                    observation: observation.id,
                    grounds: Vec::new(),
                    reason: request.reason.clone(),
                });
            }
            if items.is_empty() {
                continue;
            }
            let referral = self
                .store()
                .create_referral(
                    &caller.actor,
                    NewReferral {
                        org,
                        provider: provider.id,
                        notice_format: provider.notice_format,
                        note: request.note.clone(),
                        items,
                    },
                )
                .await?;
            referrals.push(referral);
        }
        Ok(CreatedReferrals { referrals, skipped })
    }

    /// The caller's referrals, newest first.
    pub async fn referrals(
        &self,
        caller: &Caller,
        status: Option<ReferralStatus>,
        limit: u32,
    ) -> ReferralResult<Vec<Referral>> {
        caller.require(Permission::Review)?;
        Ok(self
            .store()
            .referrals(&ReferralQuery {
                org: caller.org,
                status,
                limit,
                ..ReferralQuery::default()
            })
            .await?)
    }

    /// A referral by reference (`TD-2018-000001`) or id, if the caller may see it.
    pub async fn find_referral(&self, caller: &Caller, key: &str) -> ReferralResult<Referral> {
        caller.require(Permission::Review)?;
        let key = key.trim();
        let referral = match key.parse::<i64>() {
            Ok(id) => self.store().referral(ReferralId(id)).await?,
            Err(_) => self.store().referral_by_reference(key).await?,
        };
        self.check_scope(caller, referral.org, &format!("referral {key}"))?;
        Ok(referral)
    }

    /// A referral with its provider, items, checks, messages and removal timings.
    pub async fn referral_detail(
        &self,
        caller: &Caller,
        key: &str,
    ) -> ReferralResult<ReferralDetail> {
        let referral = self.find_referral(caller, key).await?;
        self.detail_of(referral).await
    }

    pub(crate) async fn detail_of(&self, referral: Referral) -> ReferralResult<ReferralDetail> {
        let store = self.store();
        let provider = store.provider(referral.provider).await?;
        let org_name = store.organisation(referral.org).await?.name;
        let items = store.referral_items(referral.id).await?;
        let checks = store.referral_checks(referral.id).await?;
        let messages = store.outbox_messages(referral.id).await?;
        let items: Vec<ItemDetail> = items
            .into_iter()
            .map(|item| {
                let removal = match (referral.sent_at, item.first_gone_at) {
                    (Some(sent), Some(gone)) => {
                        Some(RemovalTiming::new(sent, item.last_live_at, gone))
                    }
                    _ => None,
                };
                let checks = checks
                    .iter()
                    .filter(|check| check.item == item.id)
                    .cloned()
                    .collect();
                ItemDetail {
                    item,
                    checks,
                    removal,
                }
            })
            .collect();
        let removal = if !items.is_empty() && items.iter().all(|item| item.removal.is_some()) {
            items
                .iter()
                .filter_map(|item| item.removal)
                .max_by_key(|timing| timing.first_seen_gone)
                .map(|last| {
                    let latest_live = items
                        .iter()
                        .filter_map(|item| item.removal.and_then(|timing| timing.last_seen_live))
                        .max();
                    RemovalTiming::new(last.sent_at, latest_live, last.first_seen_gone)
                })
        } else {
            None
        };
        Ok(ReferralDetail {
            referral,
            provider,
            org_name,
            items,
            messages,
            removal,
        })
    }

    /// Records what the provider said: `acknowledged`, or `refused`; or closes a referral by
    /// hand (`removed`, `partially-removed`, `expired`). Transitions follow
    /// [`ReferralStatus::can_move_to`].
    pub async fn mark(
        &self,
        caller: &Caller,
        key: &str,
        status: ReferralStatus,
    ) -> ReferralResult<Referral> {
        let referral = self.find_referral(caller, key).await?;
        Ok(self
            .store()
            .set_referral_status(&caller.actor, referral.id, status)
            .await?)
    }
}
