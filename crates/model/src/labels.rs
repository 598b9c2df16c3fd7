//! Labels on known content: the taxonomy of ../shared/DOMAIN.md (entity, TCAP's tier, Altitude's
//! severity and confidence, behaviour tags, TLP).

use std::fmt;
use std::str::FromStr;

/// A label value outside its allowed range or vocabulary.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LabelError {
    /// Tier must be 1-4.
    #[error("tier must be 1 (threat to life), 2 (crisis), 3 (official propaganda) or 4 (promotional), got {0}")]
    Tier(String),
    /// Severity must be 0-7.
    #[error("severity must be an integer from 0 to 7, got {0}")]
    Severity(String),
    /// Confidence must be 0-3.
    #[error("confidence must be an integer from 0 to 3, got {0}")]
    Confidence(String),
    /// Unknown TLP marking.
    #[error("tlp must be one of clear, green, amber, amber+strict, red; got {0:?}")]
    Tlp(String),
    /// Entity or behaviour tag is empty, too long or has control characters.
    #[error("{field} {value:?} must be 1-100 printable characters")]
    Tag {
        /// Which field.
        field: &'static str,
        /// The rejected value.
        value: String,
    },
}

/// TCAP's tiered alert system.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Tier {
    /// Tier 1: threat to life.
    ThreatToLife = 1,
    /// Tier 2: crisis content (attacker manifestos, livestreams).
    Crisis = 2,
    /// Tier 3: a designated group's official propaganda.
    OfficialPropaganda = 3,
    /// Tier 4: promotional content.
    Promotional = 4,
}

impl Tier {
    /// The tier number, 1-4.
    pub fn number(self) -> u8 {
        self as u8
    }

    /// The tier for a number 1-4.
    pub fn from_number(number: i64) -> Result<Tier, LabelError> {
        match number {
            1 => Ok(Tier::ThreatToLife),
            2 => Ok(Tier::Crisis),
            3 => Ok(Tier::OfficialPropaganda),
            4 => Ok(Tier::Promotional),
            other => Err(LabelError::Tier(other.to_string())),
        }
    }
}

impl FromStr for Tier {
    type Err = LabelError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let number: i64 = text
            .trim()
            .parse()
            .map_err(|_| LabelError::Tier(text.to_string()))?;
        Tier::from_number(number)
    }
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.number())
    }
}

/// Severity 0-7 (Altitude): grows with crisis and threat tags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Severity(u8);

impl Severity {
    /// Highest severity.
    pub const MAX: u8 = 7;

    /// Validates 0-7.
    pub fn new(value: i64) -> Result<Severity, LabelError> {
        if (0..=i64::from(Self::MAX)).contains(&value) {
            Ok(Severity(value as u8))
        } else {
            Err(LabelError::Severity(value.to_string()))
        }
    }

    /// The value, 0-7.
    pub fn value(self) -> u8 {
        self.0
    }
}

impl FromStr for Severity {
    type Err = LabelError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let value: i64 = text
            .trim()
            .parse()
            .map_err(|_| LabelError::Severity(text.to_string()))?;
        Severity::new(value)
    }
}

/// Confidence 0-3 (Altitude): grows with trusted and multiple sources.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Confidence(u8);

impl Confidence {
    /// Highest confidence.
    pub const MAX: u8 = 3;

    /// Validates 0-3.
    pub fn new(value: i64) -> Result<Confidence, LabelError> {
        if (0..=i64::from(Self::MAX)).contains(&value) {
            Ok(Confidence(value as u8))
        } else {
            Err(LabelError::Confidence(value.to_string()))
        }
    }

    /// The value, 0-3.
    pub fn value(self) -> u8 {
        self.0
    }
}

impl FromStr for Confidence {
    type Err = LabelError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let value: i64 = text
            .trim()
            .parse()
            .map_err(|_| LabelError::Confidence(text.to_string()))?;
        Confidence::new(value)
    }
}

/// Traffic Light Protocol marking: how far a label or hash may be shared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum Tlp {
    /// TLP:CLEAR, no limit.
    Clear,
    /// TLP:GREEN, the community.
    Green,
    /// TLP:AMBER, the recipient's organisation and its clients. The default: sharing is a choice.
    #[default]
    Amber,
    /// TLP:AMBER+STRICT, the recipient's organisation only.
    AmberStrict,
    /// TLP:RED, named recipients only.
    Red,
}

impl Tlp {
    /// The lowercase name used in files and on the wire (`amber+strict`).
    pub fn as_str(self) -> &'static str {
        match self {
            Tlp::Clear => "clear",
            Tlp::Green => "green",
            Tlp::Amber => "amber",
            Tlp::AmberStrict => "amber+strict",
            Tlp::Red => "red",
        }
    }
}

impl FromStr for Tlp {
    type Err = LabelError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let lower = text.trim().to_ascii_lowercase();
        let lower = lower.strip_prefix("tlp:").unwrap_or(&lower);
        match lower {
            "clear" | "white" => Ok(Tlp::Clear),
            "green" => Ok(Tlp::Green),
            "amber" => Ok(Tlp::Amber),
            "amber+strict" | "amber_strict" | "amber-strict" => Ok(Tlp::AmberStrict),
            "red" => Ok(Tlp::Red),
            _ => Err(LabelError::Tlp(text.to_string())),
        }
    }
}

impl fmt::Display for Tlp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// All labels of a content item. Every field is optional but TLP, which defaults to amber.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Labels {
    /// Producing outlet or group (`amaq`, `al-bayan`, ...), lowercase.
    pub entity: Option<String>,
    /// TCAP tier.
    pub tier: Option<Tier>,
    /// Severity 0-7.
    pub severity: Option<Severity>,
    /// Confidence 0-3.
    pub confidence: Option<Confidence>,
    /// Behaviour tags (`instruction`, `claim-of-responsibility`, ...), sorted and unique.
    pub behaviours: Vec<String>,
    /// Sharing limit.
    pub tlp: Tlp,
}

impl Labels {
    /// Normalises and validates an entity name (trimmed, lowercase, 1-100 printable chars).
    pub fn normalise_entity(value: &str) -> Result<String, LabelError> {
        normalise_tag("entity", value)
    }

    /// Normalises and validates behaviour tags: trimmed, lowercase, sorted, deduplicated.
    pub fn normalise_behaviours<I, S>(values: I) -> Result<Vec<String>, LabelError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut tags = values
            .into_iter()
            .filter(|value| !value.as_ref().trim().is_empty())
            .map(|value| normalise_tag("behaviour", value.as_ref()))
            .collect::<Result<Vec<_>, _>>()?;
        tags.sort();
        tags.dedup();
        Ok(tags)
    }
}

fn normalise_tag(field: &'static str, value: &str) -> Result<String, LabelError> {
    let trimmed = value.trim().to_lowercase();
    let length = trimmed.chars().count();
    if length == 0 || length > 100 || trimmed.chars().any(char::is_control) {
        return Err(LabelError::Tag {
            field,
            value: value.to_string(),
        });
    }
    Ok(trimmed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_enforced() {
        assert!("0".parse::<Tier>().is_err());
        assert_eq!("3".parse::<Tier>().unwrap(), Tier::OfficialPropaganda);
        assert!(Severity::new(8).is_err());
        assert_eq!(Severity::new(7).unwrap().value(), 7);
        assert!(Confidence::new(-1).is_err());
        assert_eq!("TLP:AMBER+STRICT".parse::<Tlp>().unwrap(), Tlp::AmberStrict);
        assert!("purple".parse::<Tlp>().is_err());
    }

    #[test]
    fn behaviours_are_sorted_and_unique() {
        let tags = Labels::normalise_behaviours([" Instruction", "claim", "instruction", ""]);
        assert_eq!(tags.unwrap(), vec!["claim", "instruction"]);
        assert!(Labels::normalise_entity("bad\u{7}").is_err());
    }
}
