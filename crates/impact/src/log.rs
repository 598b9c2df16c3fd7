//! Release logs in and out of the store: importing files, recording releases seen by the
//! referral workflow, reading them back for analysis.

use std::io::Read;

use takedown_analytics::{Medium, Release};
use takedown_exchange::{read_release_log, write_release_log, HashListFormat, ReleaseLogRow};
use takedown_model::{Actor, SignalType, Timestamp};
use takedown_store::{
    ImportOptions, ImportProgress, ImportSummary, NewRelease, ReleaseFingerprint, ReleaseMedium,
    ReleaseQuery, ReleaseRecord, ReleaseRow, ReleaseStore, RowError, MAX_RELEASE_PAGE,
};

use crate::ImpactError;

/// The analytics crate's medium for a stored one.
pub fn medium(m: ReleaseMedium) -> Medium {
    match m {
        ReleaseMedium::Statement => Medium::Statement,
        ReleaseMedium::Image => Medium::Image,
        ReleaseMedium::Video => Medium::Video,
        ReleaseMedium::Audio => Medium::Audio,
    }
}

/// A stored release as the analyses take it.
pub fn for_analysis(r: &ReleaseRecord) -> Release {
    Release {
        outlet: r.outlet.clone(),
        time: r.published_at,
        medium: medium(r.medium),
        language: r.language.clone(),
        channel: r.channel.clone(),
        title: r.title.clone(),
    }
}

/// A release to store as the analyses take it (demo data and tests analyse without a store).
pub fn new_for_analysis(r: &NewRelease) -> Release {
    Release {
        outlet: r.outlet.trim().to_lowercase(),
        time: r.published_at,
        medium: medium(r.medium),
        language: r.language.clone(),
        channel: r.channel.clone(),
        title: r.title.clone(),
    }
}

/// A parsed release-log row as a store import row.
pub fn import_row(row: ReleaseLogRow, origin: &str) -> Result<ReleaseRow, RowError> {
    let medium = row.medium.parse::<ReleaseMedium>().map_err(|e| RowError {
        line: row.line,
        message: e.to_string(),
    })?;
    Ok(ReleaseRow {
        line: row.line,
        release: NewRelease {
            outlet: row.outlet,
            published_at: row.published_at,
            medium,
            language: row.language,
            channel: row.channel,
            title: row.title,
            fingerprints: row
                .fingerprints
                .into_iter()
                .map(|(signal_type, value)| ReleaseFingerprint { signal_type, value })
                .collect(),
            origin: origin.to_string(),
        },
    })
}

/// Imports a release log (CSV or JSON lines) in one transaction: all rows or none, the first
/// bad row named by its line; releases already stored are counted as unchanged, so importing
/// the same file again changes nothing. `origin` (the file name) is recorded on new releases
/// and in the audit entry.
pub async fn import_release_log<R: Read + Send>(
    store: &dyn ReleaseStore,
    actor: &Actor,
    reader: R,
    format: HashListFormat,
    origin: &str,
    progress: &mut (dyn FnMut(ImportProgress) + Send),
) -> Result<ImportSummary, ImpactError> {
    let mut rows = read_release_log(reader, format).map(|row| {
        row.map_err(exchange_row_error)
            .and_then(|r| import_row(r, origin))
    });
    let options = ImportOptions {
        progress_every: 10_000,
        origin: origin.to_string(),
    };
    Ok(store
        .import_releases(actor, &mut rows, &options, progress)
        .await?)
}

/// Writes releases as a release log file (the shape [`import_release_log`] reads): how the
/// demo log and benchmark corpora become files.
pub fn write_release_file<W: std::io::Write>(
    writer: W,
    format: HashListFormat,
    releases: &[NewRelease],
) -> Result<(), ImpactError> {
    let rows: Vec<ReleaseLogRow> = releases
        .iter()
        .enumerate()
        .map(|(i, r)| ReleaseLogRow {
            line: i as u64 + 2,
            outlet: r.outlet.clone(),
            published_at: r.published_at,
            medium: r.medium.as_str(),
            language: r.language.clone(),
            channel: r.channel.clone(),
            title: r.title.clone(),
            fingerprints: r
                .fingerprints
                .iter()
                .map(|f| (f.signal_type, f.value.clone()))
                .collect(),
            extra: Default::default(),
        })
        .collect();
    write_release_log(writer, format, &rows).map_err(|source| ImpactError::Io {
        path: "release log".into(),
        source,
    })
}

fn exchange_row_error(e: takedown_exchange::RowError) -> RowError {
    RowError {
        line: e.line,
        message: e.message,
    }
}

/// A release seen by the referral workflow: a confirmed observation of an outlet's item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedRelease {
    /// Producing outlet (the case's entity label).
    pub outlet: String,
    /// When the outlet published it: the earliest time known (for an item found by a crawl,
    /// the page's date if trustworthy, else when it was first fetched).
    pub published_at: Timestamp,
    /// What kind of item.
    pub medium: ReleaseMedium,
    /// Language code, if known.
    pub language: String,
    /// Where it came through (channel name, site, mirror host).
    pub channel: String,
    /// Neutral title or summary.
    pub title: String,
    /// Its fingerprints (`md5`, `sha256`, `pdq` of the media).
    pub fingerprints: Vec<(SignalType, String)>,
    /// The observation's id, recorded as the origin `observation:<id>`.
    pub observation_id: i64,
}

/// Records a confirmed observation as a release (the hook for the referral workflow). The
/// same release recorded twice (or already imported from a log with the same outlet, time,
/// medium, language, channel and title) is stored once; returns the record and whether it was
/// new.
pub async fn record_release_from_observation(
    store: &dyn ReleaseStore,
    actor: &Actor,
    observed: ObservedRelease,
) -> Result<(ReleaseRecord, bool), ImpactError> {
    let new = NewRelease {
        outlet: observed.outlet,
        published_at: observed.published_at,
        medium: observed.medium,
        language: observed.language,
        channel: observed.channel,
        title: observed.title,
        fingerprints: observed
            .fingerprints
            .into_iter()
            .map(|(signal_type, value)| ReleaseFingerprint { signal_type, value })
            .collect(),
        origin: format!("observation:{}", observed.observation_id),
    };
    Ok(store.add_release(actor, new).await?)
}

/// Every release of `outlets` published in `[from, until)` (either bound optional), in time
/// order, read page by page.
pub async fn load_releases(
    store: &dyn ReleaseStore,
    outlets: &[String],
    from: Option<Timestamp>,
    until: Option<Timestamp>,
) -> Result<Vec<ReleaseRecord>, ImpactError> {
    let mut query = ReleaseQuery {
        outlets: outlets.to_vec(),
        from,
        until,
        limit: MAX_RELEASE_PAGE,
        ..ReleaseQuery::default()
    };
    let mut out = Vec::new();
    loop {
        let page = store.releases(&query).await?;
        out.extend(page.items);
        match page.next {
            Some(next) => query.after = Some(next),
            None => return Ok(out),
        }
    }
}

/// Like [`load_releases`], converted for analysis page by page (a million stored records are
/// never held twice).
pub async fn load_for_analysis(
    store: &dyn ReleaseStore,
    outlets: &[String],
    from: Option<Timestamp>,
    until: Option<Timestamp>,
) -> Result<Vec<Release>, ImpactError> {
    let mut query = ReleaseQuery {
        outlets: outlets.to_vec(),
        from,
        until,
        limit: MAX_RELEASE_PAGE,
        ..ReleaseQuery::default()
    };
    let mut out = Vec::new();
    loop {
        let page = store.releases(&query).await?;
        out.extend(page.items.iter().map(for_analysis));
        match page.next {
            Some(next) => query.after = Some(next),
            None => return Ok(out),
        }
    }
}
