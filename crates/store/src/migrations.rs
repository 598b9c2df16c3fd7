//! Versioned schema migrations, embedded in the binary.
//!
//! Each dialect has its own numbered files under `migrations/<dialect>/`. The core schema takes
//! 0001-0009; later areas take their own hundred (referrals 0100+, releases 0200+, ...), so
//! that areas developed side by side never compete for a number. A migration that has run must
//! never be edited: sqlx records its checksum and refuses to start against a changed file.
//!
//! The lists are written out rather than produced by `sqlx::migrate!` because that macro needs
//! sqlx's `macros` feature, which compiles both database drivers (and SQLite's C source) a
//! second time for the host; a test below checks that every file in the directories is listed.

use std::borrow::Cow;

use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::SqlSafeStr;

/// (version, description, SQL) for SQLite.
const SQLITE: &[(i64, &str, &str)] = &[
    (
        1,
        "core",
        include_str!("../migrations/sqlite/0001_core.sql"),
    ),
    (
        2,
        "long_signal_values",
        include_str!("../migrations/sqlite/0002_long_signal_values.sql"),
    ),
    (
        100,
        "referrals",
        include_str!("../migrations/sqlite/0100_referrals.sql"),
    ),
    (
        200,
        "releases",
        include_str!("../migrations/sqlite/0200_releases.sql"),
    ),
];

/// (version, description, SQL) for PostgreSQL.
const POSTGRES: &[(i64, &str, &str)] = &[
    (
        1,
        "core",
        include_str!("../migrations/postgres/0001_core.sql"),
    ),
    (
        2,
        "long_signal_values",
        include_str!("../migrations/postgres/0002_long_signal_values.sql"),
    ),
    (
        100,
        "referrals",
        include_str!("../migrations/postgres/0100_referrals.sql"),
    ),
    (
        200,
        "releases",
        include_str!("../migrations/postgres/0200_releases.sql"),
    ),
];

fn migrator(list: &[(i64, &'static str, &'static str)]) -> Migrator {
    Migrator::with_migrations(
        list.iter()
            .map(|&(version, description, sql)| {
                Migration::new(
                    version,
                    Cow::Borrowed(description),
                    MigrationType::Simple,
                    sql.into_sql_str(),
                    false,
                )
            })
            .collect(),
    )
}

pub(crate) fn sqlite() -> Migrator {
    migrator(SQLITE)
}

pub(crate) fn postgres() -> Migrator {
    migrator(POSTGRES)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(dialect: &str) -> Vec<(i64, String)> {
        let directory = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("migrations")
            .join(dialect);
        let mut files: Vec<(i64, String)> = std::fs::read_dir(directory)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.ends_with(".sql"))
            .map(|name| {
                let (number, rest) = name.split_once('_').unwrap();
                let description = rest.trim_end_matches(".sql").to_string();
                (number.parse().unwrap(), description)
            })
            .collect();
        files.sort();
        files
    }

    fn listed(list: &[(i64, &str, &str)]) -> Vec<(i64, String)> {
        list.iter()
            .map(|&(version, description, _)| (version, description.to_string()))
            .collect()
    }

    #[test]
    fn every_migration_file_is_listed_and_dialects_agree() {
        assert_eq!(listed(SQLITE), files("sqlite"));
        assert_eq!(listed(POSTGRES), files("postgres"));
        assert_eq!(listed(SQLITE), listed(POSTGRES));
    }
}
