//! Roles and what each may do. One table, so that the server and the CLI never disagree.

use std::fmt;
use std::str::FromStr;

/// A token's or user's role inside its organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// Manages the organisation: users, tokens, sharing, and everything a curator may do.
    Admin,
    /// Curates banks: creates banks, adds, labels, disables and deletes content.
    Curator,
    /// Reviews and refers: reads banks and the audit log, submits URLs, decides cases.
    Analyst,
    /// A machine client of the matching API: hash, lookup, compare. Nothing else.
    Matcher,
}

/// Something a caller may be allowed to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    /// Hash media and look up signals against visible banks.
    Match,
    /// Read banks, content and labels visible to the organisation.
    ReadBanks,
    /// Create banks; add, edit, disable and delete content; import hash lists.
    CurateBanks,
    /// Read the audit log of the organisation.
    ReadAudit,
    /// Submit URLs, review cases, manage referrals.
    Review,
    /// Manage the organisation's users, tokens and bank sharing.
    Administer,
}

impl Role {
    /// All roles, most powerful first.
    pub const ALL: [Role; 4] = [Role::Admin, Role::Curator, Role::Analyst, Role::Matcher];

    /// Whether this role grants `permission`.
    pub fn allows(self, permission: Permission) -> bool {
        use Permission::*;
        match self {
            Role::Admin => true,
            Role::Curator => matches!(permission, Match | ReadBanks | CurateBanks | ReadAudit),
            Role::Analyst => matches!(permission, Match | ReadBanks | ReadAudit | Review),
            Role::Matcher => matches!(permission, Match),
        }
    }

    /// Lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Curator => "curator",
            Role::Analyst => "analyst",
            Role::Matcher => "matcher",
        }
    }
}

/// A role name that is not one of admin, curator, analyst, matcher.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("role must be one of admin, curator, analyst, matcher; got {0:?}")]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim().to_ascii_lowercase().as_str() {
            "admin" => Ok(Role::Admin),
            "curator" => Ok(Role::Curator),
            "analyst" => Ok(Role::Analyst),
            "matcher" => Ok(Role::Matcher),
            _ => Err(UnknownRole(text.to_string())),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matcher_may_only_match() {
        assert!(Role::Matcher.allows(Permission::Match));
        assert!(!Role::Matcher.allows(Permission::ReadBanks));
        assert!(!Role::Curator.allows(Permission::Administer));
        assert!(Role::Admin.allows(Permission::Administer));
        assert!(!Role::Analyst.allows(Permission::CurateBanks));
        assert_eq!("Curator".parse::<Role>().unwrap(), Role::Curator);
    }
}
