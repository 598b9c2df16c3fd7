//! Release logs: what each outlet published, one row per item, in CSV or JSON lines.
//!
//! Columns (names are case-insensitive; aliases in brackets):
//!
//! | column | required | meaning |
//! |---|---|---|
//! | `outlet` (`entity`, `agency`) | yes | producing outlet, e.g. `amaq` (normalised to lowercase) |
//! | `published_at` (`time`, `timestamp`, `date`) | yes | RFC 3339 (`2018-04-27T13:05:00Z`, any offset), or `YYYY-MM-DD HH:MM[:SS]` / `YYYY-MM-DD` read as UTC, or Unix seconds |
//! | `medium` (`type`, `kind`) | yes | `statement`, `image`, `video`, `audio` (also `text`, `photo`, `radio`, ...) |
//! | `channel` (`via`) | yes | where it came through: its site, a named messaging channel, a mirror |
//! | `language` (`lang`) | no | language code |
//! | `title` (`summary`) | no | title or neutral summary |
//! | `fingerprints` | no | `type:value` pairs separated by `;` (`md5:...;pdq:...`) |
//! | `md5`, `sha256`, `pdq`, `video_md5`, `vpdq`, `text_sha256`, `text_minhash` | no | one fingerprint each |
//!
//! In JSON lines the same keys are used; `fingerprints` may also be an object
//! (`{"md5": "...", "pdq": "..."}`) or a list of `{"signal_type": ..., "value": ...}`.
//! Other columns are kept in [`ReleaseLogRow::extra`] and otherwise ignored.
//!
//! Every row carries its line number (as an editor shows it), and a bad row is an error naming
//! the line and the field, so an importer can refuse the whole file and say where to look.

use std::collections::BTreeMap;
use std::io::{Read, Write};

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use takedown_model::{Labels, SignalType};

use crate::csvlines::{csv_records, json_records, Fields};
use crate::hashlist::canonical_value;
use crate::{HashListFormat, RowError};

/// The four media a release can be, by their canonical names.
pub const MEDIA: [&str; 4] = ["statement", "image", "video", "audio"];

/// One row of a release log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseLogRow {
    /// 1-based line number in the file (for CSV the header is line 1).
    pub line: u64,
    /// Outlet, normalised (trimmed, lowercase).
    pub outlet: String,
    /// Publication time, UTC.
    pub published_at: DateTime<Utc>,
    /// Canonical medium name, one of [`MEDIA`].
    pub medium: &'static str,
    /// Language code, lowercase (may be empty).
    pub language: String,
    /// Channel.
    pub channel: String,
    /// Title or summary (may be empty).
    pub title: String,
    /// Fingerprints with canonical values, sorted.
    pub fingerprints: Vec<(SignalType, String)>,
    /// Columns takedown has no field for, verbatim.
    pub extra: BTreeMap<String, String>,
}

/// The canonical medium for a name or alias.
pub fn canonical_medium(text: &str) -> Option<&'static str> {
    Some(match text.trim().to_ascii_lowercase().as_str() {
        "statement" | "text" | "bulletin" | "news" => "statement",
        "image" | "photo" | "photos" | "picture" | "infographic" => "image",
        "video" => "video",
        "audio" | "radio" | "speech" => "audio",
        _ => return None,
    })
}

/// Parses a publication time: RFC 3339 with any offset; `YYYY-MM-DD[ T]HH:MM[:SS[.f]]` or
/// `YYYY-MM-DD` as UTC; or an integer of Unix seconds.
pub fn parse_time(text: &str) -> Result<DateTime<Utc>, String> {
    let text = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc));
    }
    for format in [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(text, format) {
            return Ok(t.and_utc());
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(d.and_time(chrono::NaiveTime::MIN).and_utc());
    }
    if let Ok(seconds) = text.parse::<i64>() {
        if let Some(t) = DateTime::from_timestamp(seconds, 0) {
            return Ok(t);
        }
    }
    Err(format!(
        "{text:?} is not a time (use RFC 3339 such as 2018-04-27T13:05:00Z, or YYYY-MM-DD HH:MM:SS in UTC)"
    ))
}

/// Column names that hold one fingerprint each: every signal type's name except `audio`,
/// which in a release log would be read as the medium.
fn fingerprint_column(name: &str) -> Option<SignalType> {
    if name == "audio" {
        return None;
    }
    name.parse::<SignalType>().ok()
}

const OUTLET: [&str; 3] = ["outlet", "entity", "agency"];
const TIME: [&str; 4] = ["published_at", "time", "timestamp", "date"];
const MEDIUM: [&str; 3] = ["medium", "type", "kind"];
const CHANNEL: [&str; 2] = ["channel", "via"];

/// Reads a release log row by row. I/O errors end the iteration with a final error row.
pub fn read_release_log<'a, R: Read + Send + 'a>(
    reader: R,
    format: HashListFormat,
) -> Box<dyn Iterator<Item = Result<ReleaseLogRow, RowError>> + Send + 'a> {
    match format {
        HashListFormat::Csv => Box::new(
            csv_records(reader, |header| {
                for (what, names) in [
                    ("outlet", &OUTLET[..]),
                    ("published_at", &TIME[..]),
                    ("medium", &MEDIUM[..]),
                    ("channel", &CHANNEL[..]),
                ] {
                    if !header.iter().any(|h| names.contains(&h.as_str())) {
                        return Err(format!("the header row must name a `{what}` column"));
                    }
                }
                Ok(())
            })
            .map(|record| record.and_then(|(line, fields)| row_from_fields(line, fields))),
        ),
        HashListFormat::JsonLines => Box::new(
            json_records(reader, flatten_json)
                .map(|record| record.and_then(|(line, fields)| row_from_fields(line, fields))),
        ),
    }
}

fn flatten_json(
    line: u64,
    key: &str,
    value: &serde_json::Value,
    fields: &mut Fields,
) -> Result<(), RowError> {
    use serde_json::Value;
    let error = |message: String| RowError { line, message };
    let key = key.to_ascii_lowercase();
    let scalar = |value: &Value| -> Result<Option<String>, RowError> {
        Ok(match value {
            Value::Null => None,
            Value::String(text) => Some(text.clone()),
            Value::Number(number) => Some(number.to_string()),
            Value::Bool(flag) => Some(flag.to_string()),
            _ => return Err(error(format!("`{key}` must be a string or a number"))),
        })
    };
    if key == "fingerprints" {
        let mut pairs = Vec::new();
        match value {
            Value::Null => {}
            Value::String(text) => pairs.push(text.clone()),
            Value::Object(map) => {
                for (kind, v) in map {
                    if let Some(v) = scalar(v)? {
                        pairs.push(format!("{kind}:{v}"));
                    }
                }
            }
            Value::Array(items) => {
                for item in items {
                    let kind = item.get("signal_type").and_then(Value::as_str);
                    let v = item.get("value").and_then(Value::as_str);
                    match (kind, v) {
                        (Some(kind), Some(v)) => pairs.push(format!("{kind}:{v}")),
                        _ => {
                            return Err(error(
                                "each fingerprint must be {\"signal_type\": ..., \"value\": ...}"
                                    .into(),
                            ))
                        }
                    }
                }
            }
            _ => return Err(error("`fingerprints` must be an object or a list".into())),
        }
        if !pairs.is_empty() {
            fields.insert(key, pairs.join(";"));
        }
        return Ok(());
    }
    if let Some(text) = scalar(value)? {
        if !text.is_empty() {
            fields.insert(key, text);
        }
    }
    Ok(())
}

fn row_from_fields(line: u64, mut fields: Fields) -> Result<ReleaseLogRow, RowError> {
    let error = |message: String| RowError { line, message };
    let mut take = |names: &[&str]| names.iter().find_map(|name| fields.remove(*name));
    let outlet = take(&OUTLET).ok_or_else(|| error("missing `outlet`".into()))?;
    let outlet = Labels::normalise_entity(&outlet)
        .map_err(|_| error(format!("outlet {outlet:?}: 1-100 printable characters")))?;
    let time = take(&TIME).ok_or_else(|| error("missing `published_at`".into()))?;
    let published_at = parse_time(&time).map_err(|e| error(format!("published_at: {e}")))?;
    let medium_text = take(&MEDIUM).ok_or_else(|| error("missing `medium`".into()))?;
    let medium = canonical_medium(&medium_text).ok_or_else(|| {
        error(format!(
            "medium must be one of statement, image, video, audio; got {medium_text:?}"
        ))
    })?;
    let channel = take(&CHANNEL).ok_or_else(|| error("missing `channel`".into()))?;
    let language = take(&["language", "lang"])
        .unwrap_or_default()
        .to_ascii_lowercase();
    let title = take(&["title", "summary"]).unwrap_or_default();
    let mut fingerprints = Vec::new();
    if let Some(list) = take(&["fingerprints"]) {
        for pair in list.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            let (kind, value) = pair
                .split_once(':')
                .ok_or_else(|| error(format!("fingerprints: {pair:?} is not `type:value`")))?;
            let kind: SignalType = kind
                .parse()
                .map_err(|e| error(format!("fingerprints: {e}")))?;
            let value =
                canonical_value(kind, value).map_err(|e| error(format!("fingerprints: {e}")))?;
            fingerprints.push((kind, value));
        }
    }
    let columns: Vec<String> = fields
        .keys()
        .filter(|k| fingerprint_column(k).is_some())
        .cloned()
        .collect();
    for column in columns {
        let (Some(kind), Some(raw)) = (fingerprint_column(&column), fields.remove(&column)) else {
            continue;
        };
        let value = canonical_value(kind, &raw).map_err(error)?;
        fingerprints.push((kind, value));
    }
    fingerprints.sort();
    fingerprints.dedup();
    Ok(ReleaseLogRow {
        line,
        outlet,
        published_at,
        medium,
        language,
        channel,
        title,
        fingerprints,
        extra: fields,
    })
}

/// Writes rows as a release log: CSV columns `outlet,published_at,medium,language,channel,
/// title,fingerprints` (times as RFC 3339 UTC with microseconds, fingerprints as
/// `type:value;...`), or JSON lines with the same keys (`fingerprints` as an object).
pub fn write_release_log<'a, W: Write>(
    writer: W,
    format: HashListFormat,
    rows: impl IntoIterator<Item = &'a ReleaseLogRow>,
) -> std::io::Result<()> {
    let time = |t: &DateTime<Utc>| t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string();
    match format {
        HashListFormat::Csv => {
            let mut csv = csv::Writer::from_writer(writer);
            csv.write_record([
                "outlet",
                "published_at",
                "medium",
                "language",
                "channel",
                "title",
                "fingerprints",
            ])?;
            for row in rows {
                let fingerprints = row
                    .fingerprints
                    .iter()
                    .map(|(kind, value)| format!("{kind}:{value}"))
                    .collect::<Vec<_>>()
                    .join(";");
                csv.write_record([
                    row.outlet.as_str(),
                    &time(&row.published_at),
                    row.medium,
                    &row.language,
                    &row.channel,
                    &row.title,
                    &fingerprints,
                ])?;
            }
            csv.flush()?;
        }
        HashListFormat::JsonLines => {
            let mut writer = writer;
            for row in rows {
                let mut object = serde_json::Map::new();
                object.insert("outlet".into(), row.outlet.clone().into());
                object.insert("published_at".into(), time(&row.published_at).into());
                object.insert("medium".into(), row.medium.into());
                object.insert("language".into(), row.language.clone().into());
                object.insert("channel".into(), row.channel.clone().into());
                object.insert("title".into(), row.title.clone().into());
                if !row.fingerprints.is_empty() {
                    let fingerprints: serde_json::Map<String, serde_json::Value> = row
                        .fingerprints
                        .iter()
                        .map(|(kind, value)| (kind.as_str().to_string(), value.clone().into()))
                        .collect();
                    object.insert("fingerprints".into(), fingerprints.into());
                }
                serde_json::to_writer(&mut writer, &object)?;
                writer.write_all(b"\n")?;
            }
            writer.flush()?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const MD5: &str = "900150983cd24fb0d6963f7d28e17f72";

    fn read(text: &str, format: HashListFormat) -> Vec<Result<ReleaseLogRow, RowError>> {
        read_release_log(text.as_bytes(), format).collect()
    }

    #[test]
    fn csv_rows_with_aliases_blank_lines_and_fingerprints() {
        let text = format!(
            "Outlet,Time,Type,Lang,Channel,Title,MD5,partner\n\
             Amaq,2018-04-27T13:05:00+02:00,text,AR,site,Statement 1,{},x\n\
             \n\
             amaq,2018-04-28 08:00,video,ar,relay,Video 1,,\n",
            MD5.to_uppercase()
        );
        let rows = read(&text, HashListFormat::Csv);
        assert_eq!(rows.len(), 2);
        let first = rows[0].as_ref().expect("row");
        assert_eq!(first.line, 2);
        assert_eq!(first.outlet, "amaq");
        assert_eq!(first.published_at.to_rfc3339(), "2018-04-27T11:05:00+00:00");
        assert_eq!(first.medium, "statement");
        assert_eq!(first.language, "ar");
        assert_eq!(first.fingerprints, vec![(SignalType::Md5, MD5.to_string())]);
        assert_eq!(first.extra["partner"], "x");
        let second = rows[1].as_ref().expect("row");
        assert_eq!(second.line, 4);
        assert_eq!(second.medium, "video");
    }

    #[test]
    fn bad_rows_name_their_line_and_field() {
        let text = "outlet,published_at,medium,channel\n\
                    amaq,2018-04-27,statement,site\n\
                    amaq,yesterday,statement,site\n\
                    amaq,2018-04-27,poem,site\n\
                    amaq,2018-04-27,statement,\n";
        let rows = read(text, HashListFormat::Csv);
        assert!(rows[0].is_ok());
        let e = rows[1].as_ref().expect_err("bad time");
        assert_eq!(e.line, 3);
        assert!(e.message.contains("published_at"), "{e}");
        let e = rows[2].as_ref().expect_err("bad medium");
        assert_eq!(e.line, 4);
        assert!(e.message.contains("medium"), "{e}");
        let e = rows[3].as_ref().expect_err("no channel");
        assert_eq!(e.line, 5);
        assert!(e.message.contains("channel"), "{e}");
        let missing = read(
            "outlet,time,medium\namaq,2018-04-27,video\n",
            HashListFormat::Csv,
        );
        assert_eq!(missing.len(), 1);
        let e = missing[0].as_ref().expect_err("header");
        assert_eq!(e.line, 1);
        assert!(e.message.contains("channel"), "{e}");
    }

    #[test]
    fn json_lines_with_fingerprint_objects_and_lists() {
        let text = format!(
            "{{\"outlet\":\"nashir\",\"published_at\":\"2018-04-01T00:00:00Z\",\"medium\":\"image\",\"channel\":\"msg\",\"fingerprints\":{{\"md5\":\"{MD5}\"}}}}\n\
             \n\
             {{\"outlet\":\"nashir\",\"time\":1522540800,\"medium\":\"audio\",\"channel\":\"msg\",\"fingerprints\":[{{\"signal_type\":\"md5\",\"value\":\"{MD5}\"}}]}}\n\
             [1]\n"
        );
        let rows = read(&text, HashListFormat::JsonLines);
        assert_eq!(rows.len(), 3);
        let first = rows[0].as_ref().expect("row");
        assert_eq!(first.fingerprints.len(), 1);
        let second = rows[1].as_ref().expect("row");
        assert_eq!(second.line, 3);
        assert_eq!(second.published_at, first.published_at);
        assert_eq!(second.medium, "audio");
        assert_eq!(rows[2].as_ref().expect_err("not an object").line, 4);
    }

    #[test]
    fn write_then_read_round_trips() {
        let text = format!(
            "outlet,published_at,medium,language,channel,title,fingerprints\n\
             amaq,2018-04-27T13:05:00.123456Z,video,ar,\"relay, new\",\"Video 1\",md5:{MD5}\n"
        );
        let rows: Vec<ReleaseLogRow> = read(&text, HashListFormat::Csv)
            .into_iter()
            .map(|r| r.expect("row"))
            .collect();
        for format in [HashListFormat::Csv, HashListFormat::JsonLines] {
            let mut out = Vec::new();
            write_release_log(&mut out, format, &rows).expect("write");
            let again: Vec<ReleaseLogRow> = read_release_log(out.as_slice(), format)
                .map(|r| r.expect("row"))
                .collect();
            assert_eq!(again.len(), 1);
            let (a, b) = (&again[0], &rows[0]);
            assert_eq!(
                (
                    &a.outlet,
                    a.published_at,
                    a.medium,
                    &a.channel,
                    &a.title,
                    &a.fingerprints
                ),
                (
                    &b.outlet,
                    b.published_at,
                    b.medium,
                    &b.channel,
                    &b.title,
                    &b.fingerprints
                )
            );
        }
    }
}
