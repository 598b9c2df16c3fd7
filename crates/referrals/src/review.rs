//! Review: ranked cases, and decisions that confirm (with entity, tier and grounds, optionally
//! adding the content to a bank in the same step) or reject.

use takedown_engine::{Caller, ContentMeta};
use takedown_model::{Labels, NewSignal, Permission, Severity, SignalType, Tier, Tlp};
use takedown_store::referrals::{
    Case, CaseDecision, CaseId, CaseQuery, CaseStatus, DecisionKind, Ground, NewDecision,
    Observation, ObservationQuery,
};

use crate::{ReferralError, ReferralResult, Referrals};

/// A reviewer's decision on a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// Confirm or reject.
    pub decision: DecisionKind,
    /// Producing outlet (confirmations; defaults to the matched item's).
    pub entity: Option<String>,
    /// Tier (confirmations; defaults to the matched item's).
    pub tier: Option<Tier>,
    /// Art. 2(7) grounds (confirmations; default: `threatens` for tier 1, `incites` otherwise).
    pub grounds: Vec<Ground>,
    /// Why (required to reject).
    pub reason: String,
    /// Add the confirmed content to this bank (needs the curate permission too). Ignored when
    /// the content already matched a bank item.
    pub add_to_bank: Option<String>,
}

/// A case with its observations and decisions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseDetail {
    /// The case.
    pub case: Case,
    /// Every copy observed.
    pub observations: Vec<Observation>,
    /// Its decisions, oldest first.
    pub decisions: Vec<CaseDecision>,
}

impl Referrals {
    /// The caller's cases, highest priority first (see the crate documentation for the rank).
    pub async fn cases(
        &self,
        caller: &Caller,
        status: Option<CaseStatus>,
        limit: u32,
    ) -> ReferralResult<Vec<Case>> {
        caller.require(Permission::Review)?;
        Ok(self
            .store()
            .cases(&CaseQuery {
                org: caller.org,
                status,
                limit,
            })
            .await?)
    }

    /// Observations the caller may see, oldest first after `query.after`: all, one case's,
    /// the "unassigned" queue (hosts no provider rule covers) or the re-uploads. The
    /// organisation is always the caller's own (the instance itself may name one or none).
    pub async fn observations(
        &self,
        caller: &Caller,
        mut query: ObservationQuery,
    ) -> ReferralResult<Vec<Observation>> {
        caller.require(Permission::Review)?;
        if caller.org.is_some() {
            query.org = caller.org;
        }
        Ok(self.store().observations(&query).await?)
    }

    /// One observation the caller may see.
    pub async fn observation(
        &self,
        caller: &Caller,
        id: takedown_store::referrals::ObservationId,
    ) -> ReferralResult<Observation> {
        caller.require(Permission::Review)?;
        let observation = self.store().observation(id).await?;
        self.check_scope(caller, observation.org, &format!("observation {}", id.0))?;
        Ok(observation)
    }

    /// A case the caller may see.
    pub async fn case(&self, caller: &Caller, id: CaseId) -> ReferralResult<CaseDetail> {
        caller.require(Permission::Review)?;
        let case = self.store().case(id).await?;
        self.check_scope(caller, case.org, &format!("case {id}"))?;
        let observations = self
            .store()
            .observations(&ObservationQuery {
                case: Some(id),
                limit: 10_000,
                ..ObservationQuery::default()
            })
            .await?;
        let decisions = self.store().case_decisions(id).await?;
        Ok(CaseDetail {
            case,
            observations,
            decisions,
        })
    }

    /// Records a decision. Confirming with `add_to_bank` adds the content (its PDQ and
    /// digests, labelled with the decision) to that bank first, so the case and every later
    /// copy are keyed to the new bank item.
    pub async fn decide(
        &self,
        caller: &Caller,
        id: CaseId,
        decision: Decision,
    ) -> ReferralResult<CaseDetail> {
        caller.require(Permission::Review)?;
        let detail = self.case(caller, id).await?;
        let case = &detail.case;
        let mut added_content = None;
        let mut grounds = decision.grounds.clone();
        let entity = decision.entity.clone().or_else(|| case.entity.clone());
        let tier = decision.tier.or(case.tier);
        match decision.decision {
            DecisionKind::Reject => {
                if decision.reason.trim().is_empty() {
                    return Err(ReferralError::invalid(
                        "reason",
                        "say why the case is rejected",
                    ));
                }
            }
            DecisionKind::Confirm => {
                let Some(tier) = tier else {
                    return Err(ReferralError::invalid(
                        "tier",
                        "a confirmation needs a tier (1-4)",
                    ));
                };
                if entity.is_none() {
                    return Err(ReferralError::invalid(
                        "entity",
                        "a confirmation needs the producing entity",
                    ));
                }
                if grounds.is_empty() {
                    grounds.push(if tier == Tier::ThreatToLife {
                        Ground::Threatens
                    } else {
                        Ground::Incites
                    });
                }
                if let (Some(bank), None) = (&decision.add_to_bank, case.content_id) {
                    caller.require(Permission::CurateBanks)?;
                    let source = detail
                        .observations
                        .iter()
                        .rev()
                        .find(|observation| observation.sha256.is_some())
                        .ok_or_else(|| {
                            ReferralError::invalid(
                                "add_to_bank",
                                "the case has no fingerprinted copy to add",
                            )
                        })?;
                    let labels = Labels {
                        entity: entity.clone(),
                        tier: Some(tier),
                        severity: Some(
                            Severity::new(i64::from(case.severity))
                                .map_err(|error| ReferralError::internal(error.to_string()))?,
                        ),
                        confidence: None,
                        behaviours: Vec::new(),
                        tlp: Tlp::Amber,
                    };
                    let content = self
                        .engine
                        .add_content(
                            caller,
                            bank,
                            signals_of(source),
                            ContentMeta {
                                labels,
                                note: format!("confirmed in review case {}", case.id),
                                source: source
                                    .media_url
                                    .clone()
                                    .unwrap_or_else(|| source.url.clone()),
                                ..ContentMeta::default()
                            },
                        )
                        .await?;
                    added_content = Some(content.id);
                }
            }
        }
        self.store()
            .decide_case(
                &caller.actor,
                id,
                NewDecision {
                    decision: decision.decision,
                    entity,
                    tier,
                    grounds,
                    reason: decision.reason.trim().to_string(),
                    added_content,
                },
            )
            .await?;
        self.case(caller, id).await
    }
}

/// The signals of an observed medium, as a bank item holds them.
fn signals_of(observation: &Observation) -> Vec<NewSignal> {
    let mut signals = Vec::new();
    if let Some(pdq) = &observation.pdq {
        signals.push(NewSignal {
            signal_type: SignalType::Pdq,
            algorithm_version: takedown_signals::pdq::ALGORITHM.version,
            value: pdq.clone(),
            quality: observation.pdq_quality,
        });
    }
    for (signal_type, value) in [
        (SignalType::Md5, &observation.md5),
        (SignalType::Sha256, &observation.sha256),
    ] {
        if let Some(value) = value {
            signals.push(NewSignal {
                signal_type,
                algorithm_version: 1,
                value: value.clone(),
                quality: None,
            });
        }
    }
    signals
}
