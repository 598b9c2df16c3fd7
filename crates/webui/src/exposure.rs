//! The exposure counter: how many media items each reviewer revealed on each UTC day.
//!
//! Counts are written to a small JSON file (replaced atomically on every change) so they survive
//! a restart; a reviewer's supervisor can read them there. Ninety days are kept.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;

use chrono::NaiveDate;

/// Days of counts kept.
const KEEP_DAYS: i64 = 90;

/// Exposure counts by day and reviewer.
#[derive(Debug)]
pub struct Exposures {
    file: Option<PathBuf>,
    counts: Mutex<BTreeMap<(NaiveDate, String), u64>>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Row {
    day: NaiveDate,
    reviewer: String,
    reveals: u64,
}

impl Exposures {
    /// Counts read from `file` (an absent or unreadable file starts empty, with a warning for
    /// the unreadable one); `None` keeps them in memory only.
    pub fn load(file: Option<PathBuf>) -> Exposures {
        let mut counts = BTreeMap::new();
        if let Some(path) = &file {
            match std::fs::read(path) {
                Ok(bytes) => match serde_json::from_slice::<Vec<Row>>(&bytes) {
                    Ok(rows) => {
                        for row in rows {
                            counts.insert((row.day, row.reviewer), row.reveals);
                        }
                    }
                    Err(error) => {
                        tracing::warn!(path = %path.display(), %error, "exposure counts unreadable; starting empty")
                    }
                },
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
                Err(error) => {
                    tracing::warn!(path = %path.display(), %error, "cannot read exposure counts")
                }
            }
        }
        Exposures {
            file,
            counts: Mutex::new(counts),
        }
    }

    /// Counts one reveal; returns the reviewer's count for `day`.
    pub fn record(&self, reviewer: &str, day: NaiveDate) -> u64 {
        let Ok(mut counts) = self.counts.lock() else {
            return 0;
        };
        let count = counts.entry((day, reviewer.to_string())).or_insert(0);
        *count += 1;
        let now = *count;
        let oldest = day - chrono::Duration::days(KEEP_DAYS);
        counts.retain(|(kept, _), _| *kept >= oldest);
        if let Some(path) = &self.file {
            if let Err(error) = write(path, &counts) {
                tracing::warn!(path = %path.display(), %error, "cannot store exposure counts");
            }
        }
        now
    }

    /// The reviewer's count for `day`.
    pub fn count(&self, reviewer: &str, day: NaiveDate) -> u64 {
        self.counts
            .lock()
            .ok()
            .and_then(|counts| counts.get(&(day, reviewer.to_string())).copied())
            .unwrap_or(0)
    }
}

fn write(
    path: &std::path::Path,
    counts: &BTreeMap<(NaiveDate, String), u64>,
) -> std::io::Result<()> {
    let rows: Vec<Row> = counts
        .iter()
        .map(|((day, reviewer), reveals)| Row {
            day: *day,
            reviewer: reviewer.clone(),
            reveals: *reveals,
        })
        .collect();
    let json = serde_json::to_vec_pretty(&rows).map_err(std::io::Error::other)?;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let temporary = path.with_extension("json.tmp");
    std::fs::write(&temporary, json)?;
    std::fs::rename(&temporary, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_reviewer_per_day_survive_a_restart() {
        let directory = tempfile::tempdir().unwrap();
        let file = directory.path().join("exposure.json");
        let day = NaiveDate::from_ymd_opt(2026, 11, 29).unwrap();
        let next = day.succ_opt().unwrap();
        let exposures = Exposures::load(Some(file.clone()));
        assert_eq!(exposures.record("a", day), 1);
        assert_eq!(exposures.record("a", day), 2);
        assert_eq!(exposures.record("b", day), 1);
        assert_eq!(exposures.record("a", next), 1);
        let reloaded = Exposures::load(Some(file));
        assert_eq!(reloaded.count("a", day), 2);
        assert_eq!(reloaded.count("b", day), 1);
        assert_eq!(reloaded.count("a", next), 1);
        assert_eq!(reloaded.count("c", day), 0);
    }

    #[test]
    fn a_corrupt_file_starts_empty() {
        let directory = tempfile::tempdir().unwrap();
        let file = directory.path().join("exposure.json");
        std::fs::write(&file, "not json").unwrap();
        let exposures = Exposures::load(Some(file));
        let day = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        assert_eq!(exposures.count("a", day), 0);
    }
}
