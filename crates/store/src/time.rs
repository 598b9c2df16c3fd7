//! The store keeps time at microsecond precision in both databases: PostgreSQL's `timestamptz`
//! has exactly that resolution, and SQLite, which has no time type, stores microseconds since
//! the Unix epoch as a 64-bit integer (exact, compact, and ordered like the times themselves).
//! Every time is truncated to microseconds before it is written, so what a caller gets back
//! from a create call is exactly what a later read returns, in either backend.

use takedown_model::Timestamp;

use crate::{StoreError, StoreResult};

/// `at` without its sub-microsecond part.
pub(crate) fn truncate(at: Timestamp) -> Timestamp {
    from_micros(at.timestamp_micros()).unwrap_or(at)
}

/// The time `micros` microseconds after the Unix epoch.
pub(crate) fn from_micros(micros: i64) -> StoreResult<Timestamp> {
    chrono::DateTime::from_timestamp_micros(micros)
        .ok_or_else(|| StoreError::corrupt(format!("time {micros} is out of range")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_keeps_microseconds() {
        let at = chrono::DateTime::from_timestamp(1_524_614_400, 123_456_789).unwrap();
        let truncated = truncate(at);
        assert_eq!(truncated.timestamp_subsec_nanos(), 123_456_000);
        assert_eq!(
            from_micros(truncated.timestamp_micros()).unwrap(),
            truncated
        );
    }
}
