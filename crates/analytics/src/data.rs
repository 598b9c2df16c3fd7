//! Input records and windows. Times are UTC; a "day" is a UTC calendar day.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use serde::Serialize;

use crate::AnalyticsError;

/// Kind of item an outlet released.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Medium {
    /// Text statement or news bulletin.
    Statement,
    /// Still image or photo report.
    Image,
    /// Video.
    Video,
    /// Audio (radio bulletin, nasheed, speech).
    Audio,
}

impl Medium {
    /// All media, in display order.
    pub const ALL: [Medium; 4] = [
        Medium::Statement,
        Medium::Image,
        Medium::Video,
        Medium::Audio,
    ];

    /// Lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Medium::Statement => "statement",
            Medium::Image => "image",
            Medium::Video => "video",
            Medium::Audio => "audio",
        }
    }
}

/// One entry of an outlet's release log.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Release {
    /// Producing outlet (`amaq`, `al-bayan`, ...).
    pub outlet: String,
    /// When the release appeared (UTC).
    pub time: DateTime<Utc>,
    /// What kind of item it was.
    pub medium: Medium,
    /// Language code.
    pub language: String,
    /// Channel it came through (a platform channel, a website, a bot ...).
    pub channel: String,
    /// Title as published.
    pub title: String,
}

/// A disruption operation ("action day"): its days and the outlets it targeted.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Operation {
    /// Name, e.g. "Europol action against Amaq, April 2018".
    pub name: String,
    /// Start of the action (UTC).
    pub start: DateTime<Utc>,
    /// End of the action (UTC, inclusive); equal to `start` for a one-day action.
    pub end: DateTime<Utc>,
    /// Targeted outlets.
    pub targets: Vec<String>,
}

/// A run of whole UTC days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DayRange {
    /// First day.
    pub first: NaiveDate,
    /// Number of days (may be 0 for an empty range).
    pub days: u32,
}

impl DayRange {
    /// Start of the first day, 00:00 UTC.
    pub fn start(&self) -> DateTime<Utc> {
        day_start(self.first)
    }

    /// Start of the day after the last (exclusive end).
    pub fn end(&self) -> DateTime<Utc> {
        self.start() + Duration::days(i64::from(self.days))
    }

    /// Last day (inclusive), or `None` for an empty range.
    pub fn last(&self) -> Option<NaiveDate> {
        (self.days > 0).then(|| self.first + Duration::days(i64::from(self.days) - 1))
    }

    /// Whether `t` falls in one of these days.
    pub fn contains(&self, t: DateTime<Utc>) -> bool {
        t >= self.start() && t < self.end()
    }
}

/// 00:00 UTC of a date.
pub fn day_start(d: NaiveDate) -> DateTime<Utc> {
    Utc.from_utc_datetime(&d.and_time(chrono::NaiveTime::MIN))
}

/// How the windows around an operation are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct WindowConfig {
    /// Days before the operation (default 30), ending the day before it starts.
    pub before_days: u32,
    /// Days after (default 30).
    pub after_days: u32,
    /// Leave the operation's own days out of both windows (default true): on an action day
    /// output is typically disrupted for a few hours and the day belongs to neither regime.
    /// When false, the after window starts on the operation's first day.
    pub exclude_operation_days: bool,
}

impl Default for WindowConfig {
    fn default() -> Self {
        WindowConfig {
            before_days: 30,
            after_days: 30,
            exclude_operation_days: true,
        }
    }
}

/// The before, operation and after windows of an operation.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Windows {
    /// Before window.
    pub before: DayRange,
    /// The operation's days (start day to end day).
    pub operation: DayRange,
    /// After window.
    pub after: DayRange,
    /// Whether the operation's days were left out.
    pub exclude_operation_days: bool,
}

impl Windows {
    /// The whole span from the first before day to the last after day.
    pub fn span(&self) -> DayRange {
        let days = (self.after.end() - self.before.start()).num_days();
        DayRange {
            first: self.before.first,
            days: u32::try_from(days).unwrap_or(0),
        }
    }
}

impl Operation {
    /// Windows around this operation.
    pub fn windows(&self, cfg: &WindowConfig) -> Result<Windows, AnalyticsError> {
        if self.end < self.start {
            return Err(AnalyticsError::InvalidInput(format!(
                "operation {:?} ends before it starts",
                self.name
            )));
        }
        if cfg.before_days == 0 || cfg.after_days == 0 {
            return Err(AnalyticsError::EmptyWindow(
                "before and after windows need at least one day each".into(),
            ));
        }
        let start_day = self.start.date_naive();
        let end_day = self.end.date_naive();
        let op_days = (end_day - start_day).num_days() + 1;
        let operation = DayRange {
            first: start_day,
            days: u32::try_from(op_days).unwrap_or(u32::MAX),
        };
        let before = DayRange {
            first: start_day - Duration::days(i64::from(cfg.before_days)),
            days: cfg.before_days,
        };
        let after_first = if cfg.exclude_operation_days {
            end_day + Duration::days(1)
        } else {
            start_day
        };
        let after = DayRange {
            first: after_first,
            days: cfg.after_days,
        };
        Ok(Windows {
            before,
            operation,
            after,
            exclude_operation_days: cfg.exclude_operation_days,
        })
    }
}
