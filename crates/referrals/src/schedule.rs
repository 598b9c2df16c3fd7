//! When referred URLs are checked again.

use std::time::Duration;

use serde::Deserialize;
use takedown_model::Timestamp;

/// The re-check schedule, measured from the moment the provider accepted the referral.
///
/// Check `n` (1-based) is due at `sent + first[n - 1]` for the first few, then every `then_every`
/// after the last of those, and none after `sent + max_age`. The default is the field's: after
/// 1 hour, 6 hours and 24 hours, then daily until the content is gone or 30 days have passed.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CheckSchedule {
    /// The first checks' offsets from sending, increasing.
    #[serde(deserialize_with = "durations")]
    pub first: Vec<Duration>,
    /// Interval after the last of `first`.
    #[serde(with = "humantime_serde")]
    pub then_every: Duration,
    /// No check is due later than this after sending.
    #[serde(with = "humantime_serde")]
    pub max_age: Duration,
}

/// A list of humantime durations (`["1h", "6h"]`).
fn durations<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<Duration>, D::Error> {
    let texts: Vec<String> = Vec::deserialize(deserializer)?;
    texts
        .iter()
        .map(|text| {
            humantime_serde::re::humantime::parse_duration(text).map_err(serde::de::Error::custom)
        })
        .collect()
}

impl Default for CheckSchedule {
    fn default() -> Self {
        CheckSchedule {
            first: vec![
                Duration::from_secs(3600),
                Duration::from_secs(6 * 3600),
                Duration::from_secs(24 * 3600),
            ],
            then_every: Duration::from_secs(24 * 3600),
            max_age: Duration::from_secs(30 * 24 * 3600),
        }
    }
}

impl CheckSchedule {
    /// A schedule for demos and tests: every `interval`, for at most `max_age`.
    pub fn every(interval: Duration, max_age: Duration) -> CheckSchedule {
        CheckSchedule {
            first: vec![interval],
            then_every: interval,
            max_age,
        }
    }

    /// Checks the schedule can work: a positive interval, increasing offsets.
    pub fn validate(&self) -> Result<(), String> {
        if self.then_every.is_zero() {
            return Err("then_every must be greater than zero".into());
        }
        if self.first.windows(2).any(|pair| pair[0] >= pair[1]) {
            return Err("the first offsets must increase".into());
        }
        Ok(())
    }

    /// Offset of check `sequence` (1-based) from sending.
    pub fn offset(&self, sequence: u32) -> Duration {
        let index = sequence.saturating_sub(1) as usize;
        if let Some(offset) = self.first.get(index) {
            return *offset;
        }
        let last = self.first.last().copied().unwrap_or(Duration::ZERO);
        let extra = u32::try_from(index + 1 - self.first.len()).unwrap_or(u32::MAX);
        last.saturating_add(self.then_every.saturating_mul(extra))
    }

    /// When check `sequence` is due for a referral sent at `sent_at`; `None` when it falls
    /// after `max_age` (the schedule has ended).
    pub fn due(&self, sent_at: Timestamp, sequence: u32) -> Option<Timestamp> {
        let offset = self.offset(sequence);
        if offset > self.max_age {
            return None;
        }
        let offset = chrono::Duration::from_std(offset).ok()?;
        sent_at.checked_add_signed(offset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_schedule_is_1h_6h_24h_then_daily_for_30_days() {
        let schedule = CheckSchedule::default();
        let sent = chrono::DateTime::from_timestamp(1_524_614_400, 0).unwrap();
        let hours = |n: u32| (schedule.due(sent, n).unwrap() - sent).num_hours();
        assert_eq!(hours(1), 1);
        assert_eq!(hours(2), 6);
        assert_eq!(hours(3), 24);
        assert_eq!(hours(4), 48);
        assert_eq!(hours(32), 30 * 24);
        assert_eq!(schedule.due(sent, 33), None);
    }

    #[test]
    fn a_fixed_interval_schedule() {
        let schedule = CheckSchedule::every(Duration::from_secs(5), Duration::from_secs(60));
        let sent = chrono::DateTime::from_timestamp(0, 0).unwrap();
        assert_eq!((schedule.due(sent, 3).unwrap() - sent).num_seconds(), 15);
        assert_eq!(schedule.due(sent, 13), None);
        schedule.validate().unwrap();
        let config: CheckSchedule =
            toml::from_str("first = [\"1h\", \"6h\"]\nthen_every = \"1d\"\nmax_age = \"7d\"")
                .unwrap();
        assert_eq!(config.offset(3), Duration::from_secs(30 * 3600));
    }
}
