//! JSON views of the workflow's records, shared by the HTTP API and the command line so both
//! print the same fields under the same names. (Store records carry no serde derives: a rename
//! in the code must never silently change what clients receive.)

use serde_json::{json, Value};
use takedown_model::{Tier, Timestamp};
use takedown_store::referrals::{
    Case, CaseDecision, MatchRecord, Observation, OutboxMessage, Provider, Referral,
};

use crate::checks::{CheckRunSummary, OutboxRunSummary};
use crate::referral::CreatedReferrals;
use crate::review::CaseDetail;
use crate::IntakeReport;

fn time(at: Timestamp) -> String {
    at.to_rfc3339()
}

fn match_json(hit: &MatchRecord) -> Value {
    json!({
        "content_id": hit.content.0,
        "bank_id": hit.bank.0,
        "bank": hit.bank_name,
        "signal_type": hit.signal_type.as_str(),
        "distance": hit.distance,
    })
}

/// An observation: what one fetch found.
pub fn observation(observation: &Observation) -> Value {
    let evidence: Value = serde_json::from_str(&observation.evidence)
        .unwrap_or(Value::String(observation.evidence.clone()));
    json!({
        "id": observation.id.0,
        "org_id": observation.org.0,
        "case_id": observation.case.map(|case| case.0),
        "url": observation.url,
        "host": observation.host,
        "final_url": observation.final_url,
        "media_url": observation.media_url,
        "found_in": observation.found_in,
        "fetched_at": time(observation.fetched_at),
        "outcome": observation.outcome.as_str(),
        "http_status": observation.http_status,
        "content_type": observation.content_type,
        "size": observation.size,
        "md5": observation.md5,
        "sha256": observation.sha256,
        "pdq": observation.pdq,
        "pdq_quality": observation.pdq_quality,
        "matches": observation.matches.iter().map(match_json).collect::<Vec<_>>(),
        "provider_id": observation.provider.map(|provider| provider.0),
        "source": observation.source,
        "submitted_by": observation.submitted_by,
        "reupload_of_item": observation.reupload_of.map(|item| item.0),
        "evidence": evidence,
        "created_at": time(observation.created_at),
    })
}

/// What became of one submitted URL.
pub fn intake_report(report: &IntakeReport) -> Value {
    json!({
        "url": report.url,
        "error": report.error,
        "observations": report.observations.iter().map(observation).collect::<Vec<_>>(),
    })
}

/// A review case.
pub fn case(case: &Case) -> Value {
    json!({
        "id": case.id.0,
        "org_id": case.org.0,
        "content_key": case.content_key,
        "content_id": case.content_id.map(|content| content.0),
        "status": case.status.as_str(),
        "entity": case.entity,
        "tier": case.tier.map(Tier::number),
        "severity": case.severity,
        "confidence": case.confidence,
        "rank_score": case.rank_score,
        "grounds": case.grounds.iter().map(|ground| ground.as_str()).collect::<Vec<_>>(),
        "reason": case.reason,
        "decided_by": case.decided_by,
        "decided_at": case.decided_at.map(time),
        "observation_count": case.observation_count,
        "created_at": time(case.created_at),
        "updated_at": time(case.updated_at),
    })
}

fn decision(decision: &CaseDecision) -> Value {
    json!({
        "decision": decision.decision.as_str(),
        "entity": decision.entity,
        "tier": decision.tier.map(Tier::number),
        "grounds": decision.grounds.iter().map(|ground| ground.as_str()).collect::<Vec<_>>(),
        "reason": decision.reason,
        "reviewer": decision.reviewer,
        "decided_at": time(decision.decided_at),
        "added_content_id": decision.added_content.map(|content| content.0),
    })
}

/// A case with its observations and decisions.
pub fn case_detail(detail: &CaseDetail) -> Value {
    let mut value = case(&detail.case);
    if let Some(object) = value.as_object_mut() {
        object.insert(
            "observations".into(),
            detail.observations.iter().map(observation).collect(),
        );
        object.insert(
            "decisions".into(),
            detail.decisions.iter().map(decision).collect(),
        );
    }
    value
}

/// A provider with its domain-suffix rules.
pub fn provider(provider: &Provider) -> Value {
    json!({
        "id": provider.id.0,
        "name": provider.name,
        "contact_email": provider.contact_email,
        "endpoint_url": provider.endpoint_url,
        "delivery": provider.delivery.as_str(),
        "notice_format": provider.notice_format.as_str(),
        "legal_representative": provider.legal_representative,
        "member_state": provider.member_state,
        "contact_point": provider.contact_point,
        "rules": provider.rules.iter().map(|rule| rule.host_suffix.clone()).collect::<Vec<_>>(),
        "created_at": time(provider.created_at),
        "updated_at": time(provider.updated_at),
    })
}

/// A referral's summary (its detail is the `json` export).
pub fn referral(referral: &Referral) -> Value {
    json!({
        "id": referral.id.0,
        "reference": referral.reference,
        "org_id": referral.org.0,
        "provider_id": referral.provider.0,
        "status": referral.status.as_str(),
        "notice_format": referral.notice_format.as_str(),
        "note": referral.note,
        "created_by": referral.created_by,
        "created_at": time(referral.created_at),
        "queued_at": referral.queued_at.map(time),
        "sent_at": referral.sent_at.map(time),
        "acknowledged_at": referral.acknowledged_at.map(time),
        "closed_at": referral.closed_at.map(time),
    })
}

/// Referrals created and URLs left out.
pub fn created(created: &CreatedReferrals) -> Value {
    json!({
        "referrals": created.referrals.iter().map(referral).collect::<Vec<_>>(),
        "skipped": created.skipped.iter().map(|skipped| json!({
            "observation_id": skipped.observation.0,
            "url": skipped.url,
            "reason": skipped.reason,
            "existing_reference": skipped.existing_reference,
        })).collect::<Vec<_>>(),
    })
}

/// An outbox message and its delivery state (the body is the evidence of what was sent).
pub fn message(message: &OutboxMessage, with_body: bool) -> Value {
    let mut value = json!({
        "id": message.id.0,
        "referral_id": message.referral.0,
        "channel": message.channel.as_str(),
        "idempotency_key": message.idempotency_key,
        "recipient": message.recipient,
        "subject": message.subject,
        "state": message.state.as_str(),
        "attempts": message.attempts,
        "next_attempt_at": time(message.next_attempt_at),
        "last_error": message.last_error,
        "response": message.response,
        "sent_at": message.sent_at.map(time),
        "created_at": time(message.created_at),
    });
    if with_body {
        if let Some(object) = value.as_object_mut() {
            object.insert("content_type".into(), json!(message.content_type));
            object.insert("body".into(), json!(message.body));
        }
    }
    value
}

/// What one run of the outbox and the due checks did.
pub fn run_summary(outbox: &OutboxRunSummary, checks: &CheckRunSummary) -> Value {
    json!({
        "outbox": {
            "claimed": outbox.claimed,
            "delivered": outbox.delivered,
            "retried": outbox.retried,
            "failed": outbox.failed,
            "lost_leases": outbox.lost_leases,
        },
        "checks": {
            "claimed": checks.claimed,
            "recorded": checks.recorded,
            "lost_leases": checks.lost_leases,
            "outcomes": checks.outcomes,
            "status_changes": checks.status_changes.iter().map(|(id, status)| json!({
                "referral_id": id.0,
                "status": status.as_str(),
            })).collect::<Vec<_>>(),
        },
    })
}
