//! takedown's domain vocabulary, shared by the store, the engine, the server and the CLI.
//!
//! These are plain data types with validation at construction: a [`BankName`] always matches
//! HMA's pattern, a [`Tier`] is always 1-4, a [`Severity`] 0-7. They deliberately carry no
//! serialisation derives: wire formats (HTTP JSON, CSV, STIX) live at the edges
//! (`takedown-server`, `takedown-exchange`) so that renaming a field here never silently changes
//! what partners receive.
//!
//! Time comes from a [`Clock`] passed in, never from the system directly, so that schedules,
//! retention and statistics windows are testable.

pub mod clock;
pub mod labels;
pub mod names;
pub mod records;
pub mod roles;
pub mod signal;

pub use clock::{Clock, ManualClock, SystemClock, Timestamp};
pub use labels::{Confidence, LabelError, Labels, Severity, Tier, Tlp};
pub use names::{BankName, NameError};
pub use records::{ApiToken, AuditEntry, Bank, Content, NewSignal, Organisation, Signal, User};
pub use roles::{Permission, Role};
pub use signal::{SignalType, UnknownSignalType};

/// Identifier of an organisation (a referral unit, a platform, a research group).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OrgId(pub i64);

/// Identifier of a bank of known content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BankId(pub i64);

/// Identifier of one item of known content in a bank (HMA's `bank_content_id`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ContentId(pub i64);

/// Identifier of one stored signal (fingerprint) of a content item. The in-memory indexes are
/// keyed by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SignalId(pub i64);

/// Identifier of a user account inside an organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserId(pub i64);

/// Identifier of an API token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TokenId(pub i64);

/// Who did something: recorded in the audit log and on review decisions.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Actor {
    /// A token-authenticated caller (its organisation and token).
    Token {
        /// The caller's organisation.
        org: OrgId,
        /// The token used.
        token: TokenId,
    },
    /// A signed-in user.
    User {
        /// The user's organisation.
        org: OrgId,
        /// The user.
        user: UserId,
    },
    /// The local administrator at the command line (has shell access to the database).
    Cli,
    /// takedown itself (scheduler, demo loader, migrations).
    System,
}

impl std::fmt::Display for Actor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Actor::Token { org, token } => write!(f, "org:{}/token:{}", org.0, token.0),
            Actor::User { org, user } => write!(f, "org:{}/user:{}", org.0, user.0),
            Actor::Cli => f.write_str("cli"),
            Actor::System => f.write_str("system"),
        }
    }
}
