//! Who is asking, and what they may do.

use takedown_model::{Actor, OrgId, Permission, Role};

use crate::{EngineError, EngineResult};

/// The authenticated party behind a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// Recorded in the audit log for every change the caller makes.
    pub actor: Actor,
    /// The caller's organisation; `None` for the instance itself (the local administrator at
    /// the command line, or HMA-compatible routes on a trusted network with authentication off),
    /// which sees every bank.
    pub org: Option<OrgId>,
    /// What the caller may do.
    pub role: Role,
}

impl Caller {
    /// The local administrator at the command line: every bank, every permission.
    pub fn cli() -> Caller {
        Caller {
            actor: Actor::Cli,
            org: None,
            role: Role::Admin,
        }
    }

    /// An unauthenticated client on a network the operator declared trusted (HMA's model):
    /// it may hash and match against every bank with matching enabled, nothing else.
    pub fn trusted_network() -> Caller {
        Caller {
            actor: Actor::System,
            org: None,
            role: Role::Matcher,
        }
    }

    /// Fails with `Forbidden` unless the role grants `permission`.
    pub fn require(&self, permission: Permission) -> EngineResult<()> {
        if self.role.allows(permission) {
            Ok(())
        } else {
            Err(EngineError::Forbidden(format!(
                "the {} role may not {}",
                self.role,
                describe(permission)
            )))
        }
    }

    /// The organisation that owns what this caller creates. The instance itself must name one.
    pub fn owning_org(&self, explicit: Option<OrgId>) -> EngineResult<OrgId> {
        match (self.org, explicit) {
            (Some(own), None) => Ok(own),
            (Some(own), Some(other)) if own == other => Ok(own),
            (Some(_), Some(_)) => Err(EngineError::Forbidden(
                "an organisation can only create things it owns".into(),
            )),
            (None, Some(org)) => Ok(org),
            (None, None) => Err(EngineError::invalid(
                "org",
                "name the organisation that will own it",
            )),
        }
    }
}

fn describe(permission: Permission) -> &'static str {
    match permission {
        Permission::Match => "hash or match",
        Permission::ReadBanks => "read banks",
        Permission::CurateBanks => "change banks or their content",
        Permission::ReadAudit => "read the audit log",
        Permission::Review => "review cases or manage referrals",
        Permission::Administer => "manage organisations, users and tokens",
    }
}
