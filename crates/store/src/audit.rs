//! The audit chain: how an entry's hash is computed and how a chain is checked.
//!
//! Entry hash = SHA-256 over a canonical, length-prefixed encoding of the previous entry's
//! hash and this entry's fields (see [`entry_hash`]). The sequence number is deliberately *not*
//! hashed: order is carried by the previous-hash links, and leaving the position out lets
//! verification tell an insertion (a later entry links to an earlier one) from a deletion (a
//! later entry links to a hash no longer in the log) even when the attacker renumbered rows.
//!
//! The store also keeps the last sequence number and hash in a one-row head table, updated in
//! the same transaction as each append; comparing the log's tail with it catches an entry
//! removed from or appended to the end. Whoever can rewrite both the log and the head can
//! rewrite history: publishing `AuditVerification::Intact::head_hash` elsewhere from time to
//! time closes that gap.

use sha2::{Digest, Sha256};
use takedown_model::{AuditEntry, OrgId, Timestamp};

use crate::{AuditProblem, AuditVerification};

/// Previous hash of the first entry: 64 zeros.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Tag that starts every hashed encoding, so that a future change of encoding is a new tag
/// rather than an ambiguity.
const ENCODING_TAG: &[u8] = b"takedown-audit-v1\n";

/// The SHA-256 (lowercase hex) of an entry: over `ENCODING_TAG`, the previous hash, then the
/// entry's time (microseconds since the Unix epoch, big-endian i64), actor, organisation,
/// action, object type, object id, before and after. Strings are prefixed with their byte
/// length (big-endian u64); optional fields with a byte 0 (absent) or 1 (present). The fields
/// `sequence` and `hash` of `entry` are ignored.
pub fn entry_hash(entry: &AuditEntry) -> String {
    let mut hasher = Sha256::new();
    hasher.update(ENCODING_TAG);
    put_str(&mut hasher, &entry.previous_hash);
    hasher.update(entry.at.timestamp_micros().to_be_bytes());
    put_str(&mut hasher, &entry.actor);
    match entry.org {
        None => hasher.update([0u8]),
        Some(OrgId(org)) => {
            hasher.update([1u8]);
            hasher.update(org.to_be_bytes());
        }
    }
    put_str(&mut hasher, &entry.action);
    put_str(&mut hasher, &entry.object_type);
    put_str(&mut hasher, &entry.object_id);
    put_optional_str(&mut hasher, entry.before.as_deref());
    put_optional_str(&mut hasher, entry.after.as_deref());
    hex::encode(hasher.finalize())
}

fn put_str(hasher: &mut Sha256, text: &str) {
    hasher.update((text.len() as u64).to_be_bytes());
    hasher.update(text.as_bytes());
}

fn put_optional_str(hasher: &mut Sha256, text: Option<&str>) {
    match text {
        None => hasher.update([0u8]),
        Some(text) => {
            hasher.update([1u8]);
            put_str(hasher, text);
        }
    }
}

/// An entry about to be appended: everything but its place in the chain.
#[derive(Debug, Clone)]
pub(crate) struct AuditDraft {
    pub actor: String,
    pub org: Option<OrgId>,
    pub action: &'static str,
    pub object_type: &'static str,
    pub object_id: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

impl AuditDraft {
    /// Places the draft after `previous_hash` at `sequence` and computes its hash.
    pub(crate) fn seal(self, sequence: i64, at: Timestamp, previous_hash: &str) -> AuditEntry {
        let mut entry = AuditEntry {
            sequence,
            at,
            actor: self.actor,
            org: self.org,
            action: self.action.to_string(),
            object_type: self.object_type.to_string(),
            object_id: self.object_id,
            before: self.before,
            after: self.after,
            previous_hash: previous_hash.to_string(),
            hash: String::new(),
        };
        entry.hash = entry_hash(&entry);
        entry
    }
}

/// Walks a chain entry by entry, in sequence order.
pub(crate) struct ChainWalk {
    expected_sequence: i64,
    previous_hash: String,
}

/// What one step of the walk found.
pub(crate) enum Step {
    /// The entry is fine.
    Intact,
    /// The chain is broken here.
    Broken(AuditVerification),
    /// The entry is intact but links to something other than the entry before it; where its
    /// previous hash appears in the log decides what happened (see [`resolve_unlinked`]).
    Unlinked {
        sequence: i64,
        claimed_previous_hash: String,
    },
}

impl ChainWalk {
    pub(crate) fn new() -> ChainWalk {
        ChainWalk {
            expected_sequence: 1,
            previous_hash: GENESIS_HASH.to_string(),
        }
    }

    pub(crate) fn check(&mut self, entry: &AuditEntry) -> Step {
        if entry.sequence != self.expected_sequence {
            let missing = self.expected_sequence;
            return Step::Broken(broken(
                missing,
                AuditProblem::Deleted,
                format!(
                    "entry {missing} is missing: the log goes from entry {} to entry {}",
                    missing - 1,
                    entry.sequence
                ),
            ));
        }
        if entry_hash(entry) != entry.hash {
            return Step::Broken(broken(
                entry.sequence,
                AuditProblem::Edited,
                format!(
                    "entry {} was edited: its fields no longer match its hash",
                    entry.sequence
                ),
            ));
        }
        if entry.previous_hash != self.previous_hash {
            return Step::Unlinked {
                sequence: entry.sequence,
                claimed_previous_hash: entry.previous_hash.clone(),
            };
        }
        self.expected_sequence += 1;
        self.previous_hash.clone_from(&entry.hash);
        Step::Intact
    }

    /// Compares the end of the log with the head the store keeps.
    pub(crate) fn finish(self, head_sequence: i64, head_hash: &str) -> AuditVerification {
        let last = self.expected_sequence - 1;
        if last < head_sequence {
            return broken(
                last + 1,
                AuditProblem::Deleted,
                format!(
                    "entry {} is missing: the log ends at entry {last} but {head_sequence} were written",
                    last + 1
                ),
            );
        }
        if last > head_sequence {
            return broken(
                head_sequence + 1,
                AuditProblem::Inserted,
                format!(
                    "entry {} was inserted: only {head_sequence} entries were written",
                    head_sequence + 1
                ),
            );
        }
        if self.previous_hash != head_hash {
            return broken(
                last,
                AuditProblem::Edited,
                format!("entry {last} was replaced: its hash is not the one written"),
            );
        }
        AuditVerification::Intact {
            entries: last,
            head_hash: self.previous_hash,
        }
    }
}

/// Decides what an unlinked entry means, given the sequence number of the entry whose hash it
/// claims as previous (`None` if no entry in the log has that hash).
pub(crate) fn resolve_unlinked(sequence: i64, linked_to: Option<i64>) -> AuditVerification {
    match linked_to {
        Some(earlier) if earlier < sequence - 1 => broken(
            earlier + 1,
            AuditProblem::Inserted,
            format!(
                "entry {} was inserted: entry {sequence} was chained directly to entry {earlier}",
                earlier + 1
            ),
        ),
        Some(later) => broken(
            sequence,
            AuditProblem::Reordered,
            format!(
                "entry {sequence} is out of order: it was chained to entry {later}, not to entry {}",
                sequence - 1
            ),
        ),
        None => broken(
            sequence,
            AuditProblem::Deleted,
            format!(
                "an entry before entry {sequence} was deleted: the entry it was chained to is gone"
            ),
        ),
    }
}

fn broken(sequence: i64, problem: AuditProblem, detail: String) -> AuditVerification {
    AuditVerification::Broken {
        sequence,
        problem,
        detail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft(object_id: &str) -> AuditDraft {
        AuditDraft {
            actor: "cli".into(),
            org: Some(OrgId(1)),
            action: "bank.create",
            object_type: "bank",
            object_id: object_id.into(),
            before: None,
            after: Some("{}".into()),
        }
    }

    #[test]
    fn hash_covers_every_field_but_position() {
        let at = chrono::DateTime::from_timestamp_micros(1_524_614_400_123_456).unwrap();
        let entry = draft("1").seal(1, at, GENESIS_HASH);
        let mut moved = entry.clone();
        moved.sequence = 7;
        assert_eq!(entry_hash(&moved), entry.hash);
        let mut edited = entry.clone();
        edited.after = Some("{ }".into());
        assert_ne!(entry_hash(&edited), entry.hash);
        let mut absent = entry.clone();
        absent.before = Some(String::new());
        assert_ne!(entry_hash(&absent), entry.hash, "absent differs from empty");
        let mut later = entry.clone();
        later.at += chrono::Duration::microseconds(1);
        assert_ne!(entry_hash(&later), entry.hash);
    }

    #[test]
    fn walk_names_first_bad_entry() {
        let at = chrono::DateTime::from_timestamp(1_524_614_400, 0).unwrap();
        let first = draft("1").seal(1, at, GENESIS_HASH);
        let second = draft("2").seal(2, at, &first.hash);
        let mut walk = ChainWalk::new();
        assert!(matches!(walk.check(&first), Step::Intact));
        assert!(matches!(walk.check(&second), Step::Intact));
        assert!(matches!(
            walk.finish(2, &second.hash),
            AuditVerification::Intact { entries: 2, .. }
        ));

        let mut walk = ChainWalk::new();
        assert!(matches!(walk.check(&first), Step::Intact));
        let verdict = walk.finish(2, &second.hash);
        assert!(matches!(
            verdict,
            AuditVerification::Broken {
                sequence: 2,
                problem: AuditProblem::Deleted,
                ..
            }
        ));
    }
}
