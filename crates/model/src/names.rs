//! Validated names.

use std::fmt;
use std::str::FromStr;

/// A name that does not follow its rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// Bank names follow HMA's pattern so that HMA clients can address them in paths.
    #[error("bank name {0:?} must match [A-Z_][A-Z0-9_]* and be at most 100 characters")]
    Bank(String),
}

/// A bank name: `[A-Z_][A-Z0-9_]*`, 1-100 characters, as HMA requires.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BankName(String);

impl BankName {
    /// Validates a bank name.
    pub fn new(name: &str) -> Result<BankName, NameError> {
        let mut chars = name.chars();
        let first_ok = chars
            .next()
            .is_some_and(|c| c.is_ascii_uppercase() || c == '_');
        let rest_ok = chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
        if first_ok && rest_ok && name.len() <= 100 {
            Ok(BankName(name.to_string()))
        } else {
            Err(NameError::Bank(name.to_string()))
        }
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for BankName {
    type Err = NameError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        BankName::new(text)
    }
}

impl fmt::Display for BankName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bank_names_follow_hma() {
        for good in ["AMAQ", "_X", "TCAP_2018", "A1"] {
            assert!(BankName::new(good).is_ok(), "{good}");
        }
        for bad in ["", "amaq", "1A", "A-B", "A B", "ÄB"] {
            assert!(BankName::new(bad).is_err(), "{bad}");
        }
    }
}
