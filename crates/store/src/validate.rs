//! Checks on what callers ask the store to write. The store checks again what the edges
//! already checked, because it is the last line before data becomes the source of truth and
//! because the CLI, the server and the exchange importers all write through it.

use std::collections::HashSet;

use takedown_model::{Labels, NewSignal, SignalType};

use crate::{NewContent, StoreError, StoreResult};

/// Longest note, description or source, in characters.
const MAX_TEXT: usize = 10_000;
/// Longest organisation, user or token name, in characters.
const MAX_NAME: usize = 200;
/// Longest value of a signal whose format is not a fixed-size digest (vPDQ frame lists, audio
/// fingerprints).
const MAX_SIGNAL_VALUE: usize = 4 * 1024 * 1024;

pub(crate) fn name(field: &str, value: &str) -> StoreResult<String> {
    let trimmed = value.trim();
    let length = trimmed.chars().count();
    if length == 0 || length > MAX_NAME || trimmed.chars().any(char::is_control) {
        return Err(StoreError::Invalid(format!(
            "{field} must be 1-{MAX_NAME} printable characters, got {value:?}"
        )));
    }
    Ok(trimmed.to_string())
}

pub(crate) fn text(field: &str, value: &str) -> StoreResult<()> {
    if value.chars().count() > MAX_TEXT {
        return Err(StoreError::Invalid(format!(
            "{field} must be at most {MAX_TEXT} characters"
        )));
    }
    Ok(())
}

/// Normalises entity and behaviour tags the way the model defines them, so that a search by
/// entity finds items whatever case they were written in.
pub(crate) fn labels(labels: &Labels) -> StoreResult<Labels> {
    let invalid = |error: takedown_model::LabelError| StoreError::Invalid(error.to_string());
    Ok(Labels {
        entity: labels
            .entity
            .as_deref()
            .map(Labels::normalise_entity)
            .transpose()
            .map_err(invalid)?,
        behaviours: Labels::normalise_behaviours(&labels.behaviours).map_err(invalid)?,
        ..labels.clone()
    })
}

/// Canonical value of a signal: lowercase hex of the right length for hashes and digests.
pub(crate) fn signal(signal: &NewSignal) -> StoreResult<NewSignal> {
    let kind = signal.signal_type;
    let value = signal.value.trim();
    let hex_digits = match kind {
        SignalType::Pdq | SignalType::Sha256 | SignalType::TextDigest => Some(64),
        SignalType::Md5 | SignalType::VideoMd5 => Some(32),
        SignalType::Vpdq | SignalType::Audio | SignalType::TextMinhash => None,
    };
    let value = match hex_digits {
        Some(digits) => {
            if value.len() != digits || !value.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(StoreError::Invalid(format!(
                    "{kind} value must be {digits} hexadecimal digits, got {value:?}"
                )));
            }
            value.to_ascii_lowercase()
        }
        None => {
            if value.is_empty() || value.len() > MAX_SIGNAL_VALUE {
                return Err(StoreError::Invalid(format!(
                    "{kind} value must be 1 to {MAX_SIGNAL_VALUE} bytes"
                )));
            }
            value.to_string()
        }
    };
    if let Some(quality) = signal.quality {
        if quality > 100 {
            return Err(StoreError::Invalid(format!(
                "signal quality must be 0-100, got {quality}"
            )));
        }
    }
    if i64::from(signal.algorithm_version) == 0 {
        return Err(StoreError::Invalid(
            "signal algorithm version must be at least 1".to_string(),
        ));
    }
    Ok(NewSignal {
        signal_type: kind,
        algorithm_version: signal.algorithm_version,
        value,
        quality: signal.quality,
    })
}

/// A content item with canonical labels and signal values, at least one signal and no two
/// signals alike.
pub(crate) fn content(new: &NewContent) -> StoreResult<NewContent> {
    if new.signals.is_empty() {
        return Err(StoreError::Invalid(
            "a content item needs at least one signal".to_string(),
        ));
    }
    text("note", &new.note)?;
    text("source", &new.source)?;
    let signals = new
        .signals
        .iter()
        .map(signal)
        .collect::<StoreResult<Vec<_>>>()?;
    let mut seen = HashSet::new();
    for signal in &signals {
        if !seen.insert((signal.signal_type, signal.value.as_str())) {
            return Err(StoreError::Invalid(format!(
                "{} signal {} is given twice",
                signal.signal_type, signal.value
            )));
        }
    }
    Ok(NewContent {
        labels: labels(&new.labels)?,
        note: new.note.clone(),
        source: new.source.clone(),
        enabled: new.enabled,
        disabled_until: new.disabled_until.map(crate::time::truncate),
        signals,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn md5(value: &str) -> NewSignal {
        NewSignal {
            signal_type: SignalType::Md5,
            algorithm_version: 1,
            value: value.into(),
            quality: None,
        }
    }

    #[test]
    fn digests_become_lowercase_and_wrong_lengths_are_refused() {
        let upper = signal(&md5("D41D8CD98F00B204E9800998ECF8427E")).unwrap();
        assert_eq!(upper.value, "d41d8cd98f00b204e9800998ecf8427e");
        assert!(signal(&md5("d41d8cd98f00b204e9800998ecf8427")).is_err());
        assert!(signal(&md5("x41d8cd98f00b204e9800998ecf8427e")).is_err());
    }

    #[test]
    fn content_needs_distinct_signals() {
        let one = md5("d41d8cd98f00b204e9800998ecf8427e");
        assert!(content(&NewContent::with_signals("test", vec![])).is_err());
        let twice = NewContent::with_signals("test", vec![one.clone(), one]);
        assert!(content(&twice).is_err());
    }
}
