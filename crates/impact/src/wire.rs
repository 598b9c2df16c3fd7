//! Releases and operations as JSON, and an operation as people write it: one shape for the
//! command line's output and the HTTP API, so the two never drift apart. (The store's records
//! carry no serde derives: wire formats live at the edges.)

use serde::Deserialize;
use serde_json::{json, Value};
use takedown_store::{NewOperation, OperationRecord, OutletSummary, ReleaseRecord};

use crate::operation::{parse_infrastructure, parse_time};
use crate::ImpactError;

/// A stored release as JSON.
pub fn release_json(r: &ReleaseRecord) -> Value {
    json!({
        "id": r.id.0,
        "outlet": r.outlet,
        "published_at": r.published_at.to_rfc3339(),
        "medium": r.medium.as_str(),
        "language": r.language,
        "channel": r.channel,
        "title": r.title,
        "fingerprints": r.fingerprints.iter().map(|f| json!({
            "type": f.signal_type.as_str(),
            "value": f.value,
        })).collect::<Vec<_>>(),
        "origin": r.origin,
        "created_at": r.created_at.to_rfc3339(),
    })
}

/// An outlet's summary as JSON.
pub fn outlet_json(o: &OutletSummary) -> Value {
    json!({
        "outlet": o.outlet,
        "releases": o.releases,
        "first": o.first.to_rfc3339(),
        "last": o.last.to_rfc3339(),
        "channels": o.channels,
    })
}

/// A stored operation as JSON.
pub fn operation_json(op: &OperationRecord) -> Value {
    json!({
        "id": op.id.0,
        "name": op.name,
        "start": op.starts_at.to_rfc3339(),
        "end": op.ends_at.to_rfc3339(),
        "organisations": op.organisations,
        "targets": op.targets,
        "controls": op.controls,
        "infrastructure": op.infrastructure.iter().map(|i| json!({
            "kind": i.kind.as_str(),
            "value": i.value,
        })).collect::<Vec<_>>(),
        "notes": op.notes,
        "created_at": op.created_at.to_rfc3339(),
        "updated_at": op.updated_at.to_rfc3339(),
    })
}

/// An operation as a person gives it (command-line flags, an API request body): times as
/// dates or RFC 3339 (a bare end date includes that whole day), infrastructure as
/// `kind:value` (`domain:example.org`, `channel:...`, `server:...`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OperationSpec {
    /// Name (unique).
    pub name: String,
    /// First day or instant.
    pub start: String,
    /// Last day or instant (inclusive).
    pub end: String,
    /// Participating organisations.
    #[serde(default)]
    pub organisations: Vec<String>,
    /// Targeted outlets.
    #[serde(default)]
    pub targets: Vec<String>,
    /// Control outlets (not targeted, same kind).
    #[serde(default)]
    pub controls: Vec<String>,
    /// Targeted infrastructure, `kind:value`.
    #[serde(default)]
    pub infrastructure: Vec<String>,
    /// Free text.
    #[serde(default)]
    pub notes: String,
}

impl OperationSpec {
    /// The operation to store; the store validates names and lengths.
    pub fn to_new(&self) -> Result<NewOperation, ImpactError> {
        let starts_at = parse_time(&self.start, false)
            .map_err(|e| ImpactError::Invalid(format!("start: {e}")))?;
        let ends_at =
            parse_time(&self.end, true).map_err(|e| ImpactError::Invalid(format!("end: {e}")))?;
        if ends_at < starts_at {
            return Err(ImpactError::Invalid(
                "the operation must end after it starts".into(),
            ));
        }
        if self.targets.is_empty() {
            return Err(ImpactError::Invalid(
                "an operation needs at least one targeted outlet".into(),
            ));
        }
        Ok(NewOperation {
            name: self.name.trim().to_string(),
            starts_at,
            ends_at,
            organisations: self.organisations.clone(),
            targets: self.targets.clone(),
            controls: self.controls.clone(),
            infrastructure: self
                .infrastructure
                .iter()
                .map(|i| parse_infrastructure(i))
                .collect::<Result<_, _>>()?,
            notes: self.notes.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_become_operations_or_clear_errors() {
        let spec = OperationSpec {
            name: "op".into(),
            start: "2018-04-25".into(),
            end: "2018-04-26".into(),
            targets: vec!["amaq".into()],
            infrastructure: vec!["domain:example.org".into()],
            ..OperationSpec::default()
        };
        let new = spec.to_new().expect("valid");
        assert_eq!(new.ends_at.to_rfc3339(), "2018-04-26T23:59:59+00:00");
        assert_eq!(new.infrastructure[0].value, "example.org");
        let backwards = OperationSpec {
            end: "2018-04-24".into(),
            ..spec.clone()
        };
        assert!(backwards.to_new().is_err());
        let bad = OperationSpec {
            start: "soon".into(),
            ..spec.clone()
        };
        assert!(bad.to_new().unwrap_err().to_string().starts_with("start:"));
        let no_target = OperationSpec {
            targets: Vec::new(),
            ..spec
        };
        assert!(no_target.to_new().is_err());
    }
}
