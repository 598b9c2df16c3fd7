//! The before/after images of audit entries: records rendered as JSON text.
//!
//! The text is what gets hashed, so it only has to be deterministic for a given record; keys
//! are written in a fixed order and times as RFC 3339 with exactly six fractional digits, the
//! store's precision. The model has no serde derives on purpose (wire formats live at the
//! edges), so the shapes are spelled out here, where they are part of the audit format.

use serde_json::{json, Value};
use takedown_model::{ApiToken, Bank, Content, Labels, Organisation, Signal, Timestamp, User};

pub(crate) fn time(at: Timestamp) -> Value {
    Value::String(at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string())
}

fn optional_time(at: Option<Timestamp>) -> Value {
    at.map_or(Value::Null, time)
}

pub(crate) fn organisation(org: &Organisation) -> String {
    json!({
        "id": org.id.0,
        "name": org.name,
        "created_at": time(org.created_at),
    })
    .to_string()
}

pub(crate) fn user(user: &User) -> String {
    json!({
        "id": user.id.0,
        "org": user.org.0,
        "name": user.name,
        "role": user.role.as_str(),
        "created_at": time(user.created_at),
    })
    .to_string()
}

/// A token without its secret hash: the hash is a credential's verifier and has no place in a
/// log that analysts read.
pub(crate) fn token(token: &ApiToken) -> String {
    json!({
        "id": token.id.0,
        "org": token.org.0,
        "user": token.user.map(|user| user.0),
        "role": token.role.as_str(),
        "name": token.name,
        "created_at": time(token.created_at),
        "expires_at": optional_time(token.expires_at),
        "revoked_at": optional_time(token.revoked_at),
    })
    .to_string()
}

pub(crate) fn bank_value(bank: &Bank) -> Value {
    json!({
        "id": bank.id.0,
        "name": bank.name.as_str(),
        "owner": bank.owner.0,
        "description": bank.description,
        "matching_enabled": bank.matching_enabled,
        "shared_with": bank.shared_with.iter().map(|org| org.0).collect::<Vec<_>>(),
        "created_at": time(bank.created_at),
        "updated_at": time(bank.updated_at),
    })
}

pub(crate) fn bank(bank: &Bank) -> String {
    bank_value(bank).to_string()
}

pub(crate) fn labels(labels: &Labels) -> Value {
    json!({
        "entity": labels.entity,
        "tier": labels.tier.map(|tier| tier.number()),
        "severity": labels.severity.map(|severity| severity.value()),
        "confidence": labels.confidence.map(|confidence| confidence.value()),
        "behaviours": labels.behaviours,
        "tlp": labels.tlp.as_str(),
    })
}

pub(crate) fn signal_value(signal: &Signal) -> Value {
    json!({
        "id": signal.id.0,
        "type": signal.signal_type.as_str(),
        "version": signal.algorithm_version,
        "value": signal.value,
        "quality": signal.quality,
    })
}

pub(crate) fn content(content: &Content) -> String {
    json!({
        "id": content.id.0,
        "bank": content.bank.0,
        "labels": labels(&content.labels),
        "note": content.note,
        "source": content.source,
        "enabled": content.enabled,
        "disabled_until": optional_time(content.disabled_until),
        "created_at": time(content.created_at),
        "updated_at": time(content.updated_at),
        "signals": content.signals.iter().map(signal_value).collect::<Vec<_>>(),
    })
    .to_string()
}
