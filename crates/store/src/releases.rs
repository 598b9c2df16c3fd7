//! Outlet release logs and disruption operations: the inputs of impact measurement
//! (`takedown-impact`).
//!
//! A **release** is one item an outlet published: when, what medium, in which language,
//! through which channel, under what title, with optional fingerprints. Release logs are
//! research data about outlets, not about people, and they are instance-wide (every
//! organisation's analysts measure the same outlets). A release is identified by its
//! *natural key*, the SHA-256 of its outlet, time, medium, language, channel and title
//! ([`release_key`]): the same release imported twice, from a file or from a confirmed
//! observation, is stored once. That is what makes re-importing a log idempotent without the
//! log having to carry ids.
//!
//! An **operation** is an action day: a name, a start and end, the organisations taking
//! part, the outlets it targeted (and control outlets it did not), the infrastructure it went
//! after, notes.
//!
//! Every change writes an audit entry in the same transaction, like the rest of the store: a
//! bulk import writes one summarising entry.

use std::fmt;
use std::str::FromStr;

use async_trait::async_trait;
use sha2::{Digest, Sha256};
use takedown_model::{Actor, SignalType, Timestamp};

use crate::{ImportOptions, ImportProgress, ImportSummary, Page, RowError, StoreResult};

/// Largest page of [`ReleaseStore::releases`].
pub const MAX_RELEASE_PAGE: u32 = 100_000;

/// Identifier of a stored release.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ReleaseId(pub i64);

/// Identifier of a stored operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OperationId(pub i64);

/// Kind of item an outlet released.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ReleaseMedium {
    /// Text statement or news bulletin.
    Statement,
    /// Still image or photo report.
    Image,
    /// Video.
    Video,
    /// Audio (radio bulletin, speech).
    Audio,
}

impl ReleaseMedium {
    /// All media, in display order.
    pub const ALL: [ReleaseMedium; 4] = [
        ReleaseMedium::Statement,
        ReleaseMedium::Image,
        ReleaseMedium::Video,
        ReleaseMedium::Audio,
    ];

    /// Lowercase name, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            ReleaseMedium::Statement => "statement",
            ReleaseMedium::Image => "image",
            ReleaseMedium::Video => "video",
            ReleaseMedium::Audio => "audio",
        }
    }
}

impl fmt::Display for ReleaseMedium {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A medium name that is none of statement, image, video, audio (or their aliases).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("medium must be one of statement, image, video, audio; got {0:?}")]
pub struct UnknownMedium(pub String);

impl FromStr for ReleaseMedium {
    type Err = UnknownMedium;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim().to_ascii_lowercase().as_str() {
            "statement" | "text" | "bulletin" | "news" => Ok(ReleaseMedium::Statement),
            "image" | "photo" | "photos" | "picture" | "infographic" => Ok(ReleaseMedium::Image),
            "video" => Ok(ReleaseMedium::Video),
            "audio" | "radio" | "speech" => Ok(ReleaseMedium::Audio),
            _ => Err(UnknownMedium(text.to_string())),
        }
    }
}

/// A fingerprint of a released item (the released file's digest or perceptual hash), so that
/// copies found later can be tied back to the release.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ReleaseFingerprint {
    /// Kind of fingerprint.
    pub signal_type: SignalType,
    /// Canonical value (lowercase hex for hashes and digests).
    pub value: String,
}

/// A release to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRelease {
    /// Producing outlet, normalised like an entity label (trimmed, lowercase).
    pub outlet: String,
    /// When it appeared (UTC; stored at microsecond precision).
    pub published_at: Timestamp,
    /// What kind of item.
    pub medium: ReleaseMedium,
    /// Language code (`ar`, `en`, ...); empty when unknown.
    pub language: String,
    /// The channel it came through: its site, a named messaging channel, a mirror, ...
    pub channel: String,
    /// Title or neutral summary.
    pub title: String,
    /// Optional fingerprints.
    pub fingerprints: Vec<ReleaseFingerprint>,
    /// Where the record came from: a file name, `observation:<id>`, `demo`.
    pub origin: String,
}

/// A stored release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseRecord {
    /// Identifier.
    pub id: ReleaseId,
    /// Producing outlet.
    pub outlet: String,
    /// When it appeared.
    pub published_at: Timestamp,
    /// What kind of item.
    pub medium: ReleaseMedium,
    /// Language code.
    pub language: String,
    /// Channel.
    pub channel: String,
    /// Title or summary.
    pub title: String,
    /// Fingerprints, sorted.
    pub fingerprints: Vec<ReleaseFingerprint>,
    /// Where the record came from (the first import that brought it).
    pub origin: String,
    /// When it was stored.
    pub created_at: Timestamp,
}

/// One row of a bulk release import, with the line it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseRow {
    /// 1-based line number in the imported file.
    pub line: u64,
    /// The release.
    pub release: NewRelease,
}

/// The rows of a bulk release import, as the parser yields them.
pub type ReleaseRows<'a> = dyn Iterator<Item = Result<ReleaseRow, RowError>> + Send + 'a;

/// Position in release order (publication time, then id), for keyset paging.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ReleaseCursor {
    /// Publication time of the last release seen.
    pub published_at: Timestamp,
    /// Its id.
    pub id: ReleaseId,
}

/// Which releases to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseQuery {
    /// Only these outlets (empty: every outlet).
    pub outlets: Vec<String>,
    /// Published at or after.
    pub from: Option<Timestamp>,
    /// Published before.
    pub until: Option<Timestamp>,
    /// Only this channel.
    pub channel: Option<String>,
    /// Only this medium.
    pub medium: Option<ReleaseMedium>,
    /// Start after this position (from the previous page's `next`).
    pub after: Option<ReleaseCursor>,
    /// Page size (0 means 100; at most [`MAX_RELEASE_PAGE`]).
    pub limit: u32,
}

impl Default for ReleaseQuery {
    fn default() -> Self {
        ReleaseQuery {
            outlets: Vec::new(),
            from: None,
            until: None,
            channel: None,
            medium: None,
            after: None,
            limit: 100,
        }
    }
}

/// What the store holds about one outlet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutletSummary {
    /// Outlet.
    pub outlet: String,
    /// Number of releases.
    pub releases: u64,
    /// Earliest release.
    pub first: Timestamp,
    /// Latest release.
    pub last: Timestamp,
    /// Distinct channels used.
    pub channels: u64,
}

/// What kind of infrastructure an operation went after.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum InfrastructureKind {
    /// A web domain.
    Domain,
    /// A messaging or social-media channel.
    Channel,
    /// A server (address or hosting description).
    Server,
    /// Anything else (accounts, storage, ...).
    Other,
}

impl InfrastructureKind {
    /// Lowercase name, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            InfrastructureKind::Domain => "domain",
            InfrastructureKind::Channel => "channel",
            InfrastructureKind::Server => "server",
            InfrastructureKind::Other => "other",
        }
    }
}

impl FromStr for InfrastructureKind {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim().to_ascii_lowercase().as_str() {
            "domain" => Ok(InfrastructureKind::Domain),
            "channel" => Ok(InfrastructureKind::Channel),
            "server" => Ok(InfrastructureKind::Server),
            "other" => Ok(InfrastructureKind::Other),
            _ => Err(format!(
                "infrastructure kind must be domain, channel, server or other; got {text:?}"
            )),
        }
    }
}

/// One piece of infrastructure an operation targeted.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Infrastructure {
    /// Kind.
    pub kind: InfrastructureKind,
    /// Domain name, channel name, server address or description.
    pub value: String,
}

/// An operation to create, or the new state of one to update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOperation {
    /// Unique name: 1-100 characters of lowercase letters, digits, `-`, `_`, `.`, starting
    /// with a letter or digit (it appears in URLs: `/api/v1/operations/{name}`).
    pub name: String,
    /// Start of the action (UTC).
    pub starts_at: Timestamp,
    /// End of the action (UTC, inclusive), not before the start.
    pub ends_at: Timestamp,
    /// Participating organisations (free text: police units, Europol, platforms).
    pub organisations: Vec<String>,
    /// Targeted outlets (at least one).
    pub targets: Vec<String>,
    /// Control outlets: not targeted, for comparison (none may also be a target).
    pub controls: Vec<String>,
    /// Targeted infrastructure.
    pub infrastructure: Vec<Infrastructure>,
    /// Free text.
    pub notes: String,
}

/// A stored operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperationRecord {
    /// Identifier.
    pub id: OperationId,
    /// Unique name.
    pub name: String,
    /// Start (UTC).
    pub starts_at: Timestamp,
    /// End (UTC, inclusive).
    pub ends_at: Timestamp,
    /// Participating organisations.
    pub organisations: Vec<String>,
    /// Targeted outlets.
    pub targets: Vec<String>,
    /// Control outlets.
    pub controls: Vec<String>,
    /// Targeted infrastructure.
    pub infrastructure: Vec<Infrastructure>,
    /// Free text.
    pub notes: String,
    /// When created.
    pub created_at: Timestamp,
    /// When last changed.
    pub updated_at: Timestamp,
}

/// Release logs and operations.
#[async_trait]
pub trait ReleaseStore: Send + Sync {
    /// Imports releases in one transaction.
    ///
    /// A release whose natural key is already stored (or appeared earlier in the same rows) is
    /// counted as unchanged, so importing the same log twice changes nothing the second time.
    /// The first `Err` row, or the first row the store rejects, aborts the import: nothing is
    /// kept and the error names the row's line. One audit entry summarises the import.
    async fn import_releases(
        &self,
        actor: &Actor,
        rows: &mut ReleaseRows<'_>,
        options: &ImportOptions,
        progress: &mut (dyn FnMut(ImportProgress) + Send),
    ) -> StoreResult<ImportSummary>;
    /// Stores one release (from a confirmed observation, say) unless its natural key is
    /// already stored; returns the stored record and whether it was new. Audited when new.
    async fn add_release(
        &self,
        actor: &Actor,
        new: NewRelease,
    ) -> StoreResult<(ReleaseRecord, bool)>;
    /// Releases matching a query in publication order, one keyset page at a time.
    async fn releases(
        &self,
        query: &ReleaseQuery,
    ) -> StoreResult<Page<ReleaseRecord, ReleaseCursor>>;
    /// Number of releases matching a query (its `after` and `limit` are ignored).
    async fn release_count(&self, query: &ReleaseQuery) -> StoreResult<u64>;
    /// Every outlet with releases, by name.
    async fn release_outlets(&self) -> StoreResult<Vec<OutletSummary>>;

    /// Creates an operation. `Conflict` if the name is taken.
    async fn create_operation(
        &self,
        actor: &Actor,
        new: NewOperation,
    ) -> StoreResult<OperationRecord>;
    /// An operation by name.
    async fn operation_by_name(&self, name: &str) -> StoreResult<OperationRecord>;
    /// Every operation, earliest start first.
    async fn list_operations(&self) -> StoreResult<Vec<OperationRecord>>;
    /// Replaces an operation's fields (its name may change). `Conflict` if the new name is
    /// taken by another operation.
    async fn update_operation(
        &self,
        actor: &Actor,
        id: OperationId,
        new: NewOperation,
    ) -> StoreResult<OperationRecord>;
    /// Deletes an operation (its outlets' releases stay).
    async fn delete_operation(&self, actor: &Actor, id: OperationId) -> StoreResult<()>;
}

/// The natural key of a release: lowercase hex SHA-256 over a tag and the length-prefixed
/// outlet, publication time (microseconds, big-endian), medium, language, channel and title.
/// Fingerprints and origin are left out: the same release seen twice (once with a hash, once
/// without) is one release.
pub fn release_key(release: &NewRelease) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"takedown-release-v1\n");
    let mut put = |text: &str| {
        hasher.update((text.len() as u64).to_be_bytes());
        hasher.update(text.as_bytes());
    };
    put(&release.outlet);
    put(&release.published_at.timestamp_micros().to_string());
    put(release.medium.as_str());
    put(&release.language);
    put(&release.channel);
    put(&release.title);
    hex::encode(hasher.finalize())
}

/// Validation and JSON encodings shared by both backends.
pub(crate) mod codec {
    use serde_json::{json, Value};
    use takedown_model::{Labels, SignalType};

    use super::{
        Infrastructure, InfrastructureKind, NewOperation, NewRelease, OperationRecord,
        ReleaseFingerprint, ReleaseRecord,
    };
    use crate::{StoreError, StoreResult};

    const MAX_TEXT: usize = 2_000;

    fn text(field: &str, value: &str, required: bool, max: usize) -> StoreResult<String> {
        let value = value.trim();
        if required && value.is_empty() {
            return Err(StoreError::Invalid(format!("{field} must not be empty")));
        }
        if value.chars().count() > max {
            return Err(StoreError::Invalid(format!(
                "{field} is longer than {max} characters"
            )));
        }
        if value
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t')
        {
            return Err(StoreError::Invalid(format!(
                "{field} contains control characters"
            )));
        }
        Ok(value.to_string())
    }

    /// An outlet name, normalised like an entity label.
    pub(crate) fn outlet(value: &str) -> StoreResult<String> {
        Labels::normalise_entity(value).map_err(|_| {
            StoreError::Invalid(format!("outlet {value:?}: 1-100 printable characters"))
        })
    }

    /// A release as it will be stored: trimmed, outlet normalised, time truncated to
    /// microseconds, fingerprints sorted and deduplicated.
    pub(crate) fn release(new: &NewRelease) -> StoreResult<NewRelease> {
        let mut fingerprints = new.fingerprints.clone();
        for fingerprint in &fingerprints {
            if fingerprint.value.trim().is_empty() || fingerprint.value.len() > MAX_TEXT {
                return Err(StoreError::Invalid(format!(
                    "{} fingerprint must be 1-{MAX_TEXT} characters",
                    fingerprint.signal_type
                )));
            }
        }
        fingerprints.sort();
        fingerprints.dedup();
        Ok(NewRelease {
            outlet: outlet(&new.outlet)?,
            published_at: crate::time::truncate(new.published_at),
            medium: new.medium,
            language: text("language", &new.language, false, 35)?.to_ascii_lowercase(),
            channel: text("channel", &new.channel, true, 500)?,
            title: text("title", &new.title, false, MAX_TEXT)?,
            fingerprints,
            origin: text("origin", &new.origin, false, MAX_TEXT)?,
        })
    }

    pub(crate) fn fingerprints(list: &[ReleaseFingerprint]) -> String {
        Value::Array(
            list.iter()
                .map(|f| json!({"signal_type": f.signal_type.as_str(), "value": f.value}))
                .collect(),
        )
        .to_string()
    }

    pub(crate) fn read_fingerprints(text: &str) -> StoreResult<Vec<ReleaseFingerprint>> {
        let value: Value = serde_json::from_str(text).map_err(StoreError::corrupt)?;
        let items = value
            .as_array()
            .ok_or_else(|| StoreError::corrupt("fingerprints are not a list"))?;
        items
            .iter()
            .map(|item| {
                let kind = item["signal_type"].as_str().unwrap_or_default();
                let signal_type: SignalType = kind.parse().map_err(StoreError::corrupt)?;
                let value = item["value"]
                    .as_str()
                    .ok_or_else(|| StoreError::corrupt("fingerprint without value"))?;
                Ok(ReleaseFingerprint {
                    signal_type,
                    value: value.to_string(),
                })
            })
            .collect()
    }

    pub(crate) fn strings(list: &[String]) -> String {
        Value::from(list.to_vec()).to_string()
    }

    pub(crate) fn read_strings(text: &str) -> StoreResult<Vec<String>> {
        serde_json::from_str(text).map_err(StoreError::corrupt)
    }

    pub(crate) fn infrastructure(list: &[Infrastructure]) -> String {
        Value::Array(
            list.iter()
                .map(|i| json!({"kind": i.kind.as_str(), "value": i.value}))
                .collect(),
        )
        .to_string()
    }

    pub(crate) fn read_infrastructure(text: &str) -> StoreResult<Vec<Infrastructure>> {
        let value: Value = serde_json::from_str(text).map_err(StoreError::corrupt)?;
        let items = value
            .as_array()
            .ok_or_else(|| StoreError::corrupt("infrastructure is not a list"))?;
        items
            .iter()
            .map(|item| {
                let kind: InfrastructureKind = item["kind"]
                    .as_str()
                    .unwrap_or_default()
                    .parse()
                    .map_err(StoreError::corrupt)?;
                Ok(Infrastructure {
                    kind,
                    value: item["value"].as_str().unwrap_or_default().to_string(),
                })
            })
            .collect()
    }

    fn name(value: &str) -> StoreResult<String> {
        let ok = !value.is_empty()
            && value.len() <= 100
            && value
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
            && value
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c));
        if ok {
            Ok(value.to_string())
        } else {
            Err(StoreError::Invalid(format!(
                "operation name {value:?}: 1-100 of a-z, 0-9, '-', '_', '.', starting with a letter or digit"
            )))
        }
    }

    fn outlets(field: &str, list: &[String]) -> StoreResult<Vec<String>> {
        let mut out = Vec::with_capacity(list.len());
        for item in list {
            let normalised =
                outlet(item).map_err(|e| StoreError::Invalid(format!("{field}: {e}")))?;
            if !out.contains(&normalised) {
                out.push(normalised);
            }
        }
        Ok(out)
    }

    /// An operation as it will be stored.
    pub(crate) fn operation(new: &NewOperation) -> StoreResult<NewOperation> {
        let name = name(new.name.trim())?;
        if new.ends_at < new.starts_at {
            return Err(StoreError::Invalid(format!(
                "operation {name} ends before it starts"
            )));
        }
        let targets = outlets("targets", &new.targets)?;
        if targets.is_empty() {
            return Err(StoreError::Invalid(
                "an operation needs at least one targeted outlet".into(),
            ));
        }
        let controls = outlets("controls", &new.controls)?;
        if let Some(both) = controls.iter().find(|c| targets.contains(c)) {
            return Err(StoreError::Invalid(format!(
                "{both} cannot be both a target and a control"
            )));
        }
        let mut organisations = Vec::new();
        for org in &new.organisations {
            let org = text("organisation", org, true, 200)?;
            if !organisations.contains(&org) {
                organisations.push(org);
            }
        }
        let mut infrastructure = Vec::new();
        for item in &new.infrastructure {
            let item = Infrastructure {
                kind: item.kind,
                value: text("infrastructure", &item.value, true, 500)?,
            };
            if !infrastructure.contains(&item) {
                infrastructure.push(item);
            }
        }
        Ok(NewOperation {
            name,
            starts_at: crate::time::truncate(new.starts_at),
            ends_at: crate::time::truncate(new.ends_at),
            organisations,
            targets,
            controls,
            infrastructure,
            notes: text("notes", &new.notes, false, 20_000)?,
        })
    }

    /// Audit image of a release.
    pub(crate) fn release_json(release: &ReleaseRecord) -> String {
        json!({
            "id": release.id.0,
            "outlet": release.outlet,
            "published_at": crate::json::time(release.published_at),
            "medium": release.medium.as_str(),
            "language": release.language,
            "channel": release.channel,
            "title": release.title,
            "fingerprints": serde_json::from_str::<Value>(&fingerprints(&release.fingerprints)).unwrap_or(Value::Null),
            "origin": release.origin,
        })
        .to_string()
    }

    /// Audit image of an operation.
    pub(crate) fn operation_json(op: &OperationRecord) -> String {
        json!({
            "id": op.id.0,
            "name": op.name,
            "starts_at": crate::json::time(op.starts_at),
            "ends_at": crate::json::time(op.ends_at),
            "organisations": op.organisations,
            "targets": op.targets,
            "controls": op.controls,
            "infrastructure": serde_json::from_str::<Value>(&infrastructure(&op.infrastructure)).unwrap_or(Value::Null),
            "notes": op.notes,
        })
        .to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn release() -> NewRelease {
        NewRelease {
            outlet: " Amaq ".into(),
            published_at: chrono::DateTime::from_timestamp(1_524_614_400, 123_456_789)
                .expect("time"),
            medium: ReleaseMedium::Statement,
            language: "AR".into(),
            channel: "site".into(),
            title: "Statement 1".into(),
            fingerprints: vec![],
            origin: "test".into(),
        }
    }

    #[test]
    fn key_ignores_origin_and_fingerprints_but_not_title() {
        let a = codec::release(&release()).expect("valid");
        let mut b = a.clone();
        b.origin = "other".into();
        b.fingerprints.push(ReleaseFingerprint {
            signal_type: SignalType::Md5,
            value: "0".repeat(32),
        });
        assert_eq!(release_key(&a), release_key(&b));
        b.title = "Statement 2".into();
        assert_ne!(release_key(&a), release_key(&b));
        assert_eq!(a.outlet, "amaq");
        assert_eq!(a.language, "ar");
        assert_eq!(a.published_at.timestamp_subsec_nanos(), 123_456_000);
    }

    #[test]
    fn media_parse_with_aliases() {
        assert_eq!("Radio".parse::<ReleaseMedium>(), Ok(ReleaseMedium::Audio));
        assert_eq!("photo".parse::<ReleaseMedium>(), Ok(ReleaseMedium::Image));
        assert!("poem".parse::<ReleaseMedium>().is_err());
    }
}
