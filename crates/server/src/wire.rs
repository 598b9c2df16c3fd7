//! Wire types of `/api/v1`: the JSON the API reads and writes, kept here rather than as serde
//! derives on the domain types, so that renaming a field in `takedown-model` cannot silently
//! change what clients receive. Times are RFC 3339 strings in UTC.

use std::collections::BTreeMap;

use chrono::SecondsFormat;
use serde::{Deserialize, Serialize};
use takedown_model::{
    ApiToken, AuditEntry, Bank, Confidence, Content, Labels, Organisation, Severity, Signal, Tier,
    Timestamp, Tlp,
};
use utoipa::ToSchema;

use crate::error::ApiError;

/// A time as RFC 3339 text, to the microsecond (the store's precision).
pub fn time(at: Timestamp) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Parses an RFC 3339 time given in field `field`.
pub fn parse_time(field: &str, text: &str) -> Result<Timestamp, ApiError> {
    chrono::DateTime::parse_from_rfc3339(text.trim())
        .map(|at| at.with_timezone(&chrono::Utc))
        .map_err(|error| {
            ApiError::invalid(
                field,
                format!("{text:?} is not an RFC 3339 time such as 2018-04-25T12:00:00Z ({error})"),
            )
        })
}

/// Labels of a content item (entity, TCAP tier, severity, confidence, behaviours, TLP).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct LabelsJson {
    /// Producing outlet or group (`amaq`, `al-bayan`, ...), lowercase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entity: Option<String>,
    /// TCAP tier: 1 threat to life, 2 crisis, 3 official propaganda, 4 promotional.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<i64>,
    /// Severity 0-7.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<i64>,
    /// Confidence 0-3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<i64>,
    /// Behaviour tags (`instruction`, `claim-of-responsibility`, ...).
    #[serde(default)]
    pub behaviours: Vec<String>,
    /// TLP marking: clear, green, amber (default), amber+strict, red.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tlp: Option<String>,
}

impl LabelsJson {
    /// The wire form of stored labels.
    pub fn from_labels(labels: &Labels) -> LabelsJson {
        LabelsJson {
            entity: labels.entity.clone(),
            tier: labels.tier.map(|tier| i64::from(tier.number())),
            severity: labels.severity.map(|s| i64::from(s.value())),
            confidence: labels.confidence.map(|c| i64::from(c.value())),
            behaviours: labels.behaviours.clone(),
            tlp: Some(labels.tlp.as_str().to_string()),
        }
    }

    /// Validated labels; errors name the field as `labels.tier` etc.
    pub fn to_labels(&self) -> Result<Labels, ApiError> {
        let bad = |field: &str, error: takedown_model::LabelError| {
            ApiError::invalid(format!("labels.{field}"), error)
        };
        Ok(Labels {
            entity: self
                .entity
                .as_deref()
                .map(Labels::normalise_entity)
                .transpose()
                .map_err(|e| bad("entity", e))?,
            tier: self
                .tier
                .map(Tier::from_number)
                .transpose()
                .map_err(|e| bad("tier", e))?,
            severity: self
                .severity
                .map(Severity::new)
                .transpose()
                .map_err(|e| bad("severity", e))?,
            confidence: self
                .confidence
                .map(Confidence::new)
                .transpose()
                .map_err(|e| bad("confidence", e))?,
            behaviours: Labels::normalise_behaviours(&self.behaviours)
                .map_err(|e| bad("behaviours", e))?,
            tlp: self
                .tlp
                .as_deref()
                .map(str::parse::<Tlp>)
                .transpose()
                .map_err(|e| bad("tlp", e))?
                .unwrap_or_default(),
        })
    }
}

/// A bank of known content.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BankJson {
    /// Unique name, `[A-Z_][A-Z0-9_]*`.
    pub name: String,
    /// Free text.
    pub description: String,
    /// Whether lookups match against it.
    pub matching_enabled: bool,
    /// Owning organisation's id.
    pub owner_org: i64,
    /// Organisations it is shared with (ids).
    pub shared_with: Vec<i64>,
    /// When it was created.
    pub created_at: String,
    /// When it last changed.
    pub updated_at: String,
}

impl BankJson {
    /// The wire form of a bank.
    pub fn from_bank(bank: &Bank) -> BankJson {
        BankJson {
            name: bank.name.to_string(),
            description: bank.description.clone(),
            matching_enabled: bank.matching_enabled,
            owner_org: bank.owner.0,
            shared_with: bank.shared_with.iter().map(|org| org.0).collect(),
            created_at: time(bank.created_at),
            updated_at: time(bank.updated_at),
        }
    }
}

/// One fingerprint of a content item.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SignalJson {
    /// Identifier.
    pub id: i64,
    /// `pdq`, `md5`, `sha256`, `video_md5`, ...
    pub signal_type: String,
    /// Version of the algorithm that produced it.
    pub algorithm_version: u32,
    /// Canonical value (lowercase hex for hashes and digests).
    pub value: String,
    /// Quality 0-100 where the algorithm has one (PDQ).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quality: Option<u8>,
}

impl SignalJson {
    fn from_signal(signal: &Signal) -> SignalJson {
        SignalJson {
            id: signal.id.0,
            signal_type: signal.signal_type.as_str().to_string(),
            algorithm_version: signal.algorithm_version,
            value: signal.value.clone(),
            quality: signal.quality,
        }
    }
}

/// One item of known content.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ContentJson {
    /// Identifier (HMA's `bank_content_id`).
    pub id: i64,
    /// The bank's name.
    pub bank: String,
    /// Labels.
    pub labels: LabelsJson,
    /// Free-text note.
    pub note: String,
    /// Where it came from.
    pub source: String,
    /// Whether it is enabled.
    pub enabled: bool,
    /// Disabled until this time, then matches again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disabled_until: Option<String>,
    /// Whether it takes part in matching now.
    pub active: bool,
    /// When it was created.
    pub created_at: String,
    /// When it last changed.
    pub updated_at: String,
    /// Its fingerprints.
    pub signals: Vec<SignalJson>,
}

impl ContentJson {
    /// The wire form of an item in the named bank, judged active at `now`.
    pub fn from_content(content: &Content, bank: &str, now: Timestamp) -> ContentJson {
        ContentJson {
            id: content.id.0,
            bank: bank.to_string(),
            labels: LabelsJson::from_labels(&content.labels),
            note: content.note.clone(),
            source: content.source.clone(),
            enabled: content.enabled,
            disabled_until: content.disabled_until.map(time),
            active: content.is_active(now),
            created_at: time(content.created_at),
            updated_at: time(content.updated_at),
            signals: content
                .signals
                .iter()
                .map(SignalJson::from_signal)
                .collect(),
        }
    }
}

/// One page of a keyset-paged listing.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PageJson<T> {
    /// The items.
    pub items: Vec<T>,
    /// Pass as `after` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<i64>,
}

/// An organisation.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OrganisationJson {
    /// Identifier.
    pub id: i64,
    /// Name.
    pub name: String,
    /// When it was created.
    pub created_at: String,
}

impl OrganisationJson {
    /// The wire form of an organisation.
    pub fn from_org(org: &Organisation) -> OrganisationJson {
        OrganisationJson {
            id: org.id.0,
            name: org.name.clone(),
            created_at: time(org.created_at),
        }
    }
}

/// An API token (never its secret, which is shown once, at creation).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TokenJson {
    /// Identifier.
    pub id: i64,
    /// Organisation it acts for.
    pub org: i64,
    /// `admin`, `curator`, `analyst` or `matcher`.
    pub role: String,
    /// Label given at creation.
    pub name: String,
    /// When it was created.
    pub created_at: String,
    /// When it stops working.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    /// When it was revoked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<String>,
}

impl TokenJson {
    /// The wire form of a token record.
    pub fn from_token(token: &ApiToken) -> TokenJson {
        TokenJson {
            id: token.id.0,
            org: token.org.0,
            role: token.role.as_str().to_string(),
            name: token.name.clone(),
            created_at: time(token.created_at),
            expires_at: token.expires_at.map(time),
            revoked_at: token.revoked_at.map(time),
        }
    }
}

/// One audit log entry.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AuditEntryJson {
    /// Position in the chain.
    pub sequence: i64,
    /// When.
    pub at: String,
    /// Who (`org:1/token:3`, `cli`, `system`).
    pub actor: String,
    /// On whose behalf.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub org: Option<i64>,
    /// What (`bank.create`, `content.update`, ...).
    pub action: String,
    /// Kind of object changed.
    pub object_type: String,
    /// Its identifier.
    pub object_id: String,
    /// The object before, as JSON.
    #[schema(value_type = Object)]
    pub before: serde_json::Value,
    /// The object after, as JSON.
    #[schema(value_type = Object)]
    pub after: serde_json::Value,
    /// Hash of the previous entry.
    pub previous_hash: String,
    /// This entry's hash.
    pub hash: String,
}

impl AuditEntryJson {
    /// The wire form of an audit entry; the stored JSON images are passed through as JSON.
    pub fn from_entry(entry: &AuditEntry) -> AuditEntryJson {
        let json = |text: &Option<String>| match text {
            None => serde_json::Value::Null,
            Some(text) => serde_json::from_str(text)
                .unwrap_or_else(|_| serde_json::Value::String(text.clone())),
        };
        AuditEntryJson {
            sequence: entry.sequence,
            at: time(entry.at),
            actor: entry.actor.clone(),
            org: entry.org.map(|org| org.0),
            action: entry.action.clone(),
            object_type: entry.object_type.clone(),
            object_id: entry.object_id.clone(),
            before: json(&entry.before),
            after: json(&entry.after),
            previous_hash: entry.previous_hash.clone(),
            hash: entry.hash.clone(),
        }
    }
}

/// What the matching index holds.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IndexStatusJson {
    /// Whether the first full load finished (lookups answer 503 before).
    pub ready: bool,
    /// Signals held, by type.
    pub signals: BTreeMap<String, usize>,
    /// Heap bytes of the PDQ index.
    pub pdq_memory_bytes: usize,
    /// When the index last caught up with the store.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
    /// Change-feed position the index reflects (-1 before the first load).
    pub change_sequence: i64,
}

impl IndexStatusJson {
    /// The wire form of the engine's index status.
    pub fn from_status(status: &takedown_engine::IndexStatus) -> IndexStatusJson {
        IndexStatusJson {
            ready: status.ready,
            signals: status
                .signals
                .iter()
                .map(|(kind, count)| (kind.as_str().to_string(), *count))
                .collect(),
            pdq_memory_bytes: status.pdq_memory_bytes,
            updated_at: status.updated_at.map(time),
            change_sequence: status.change_sequence,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_round_trip_and_name_bad_fields() {
        let json = LabelsJson {
            entity: Some(" Amaq ".into()),
            tier: Some(2),
            severity: Some(6),
            confidence: Some(3),
            behaviours: vec!["Instruction".into(), "claim".into()],
            tlp: Some("amber+strict".into()),
        };
        let labels = json.to_labels().expect("valid");
        assert_eq!(labels.entity.as_deref(), Some("amaq"));
        let back = LabelsJson::from_labels(&labels);
        assert_eq!(back.behaviours, vec!["claim", "instruction"]);
        assert_eq!(back.tlp.as_deref(), Some("amber+strict"));
        let bad = LabelsJson {
            tier: Some(9),
            ..LabelsJson::default()
        };
        let error = bad.to_labels().unwrap_err();
        assert_eq!(error.field.as_deref(), Some("labels.tier"));
    }
}
