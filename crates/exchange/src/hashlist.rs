//! Hash lists: the CSV and JSON-lines files people trade banks in.
//!
//! One row is one known item with one signal: `signal_type` and `value` (HMA's file exchange and
//! the TCAP hash list have this shape), plus optional label columns (`entity`, `tier`,
//! `severity`, `confidence`, `behaviours`, `tlp`), `note` and `source`. Other columns are kept
//! verbatim in [`HashListRow::extra`] so a partner's own fields are shown, not lost.
//!
//! Reading yields `Result` per row with the row's line number, so that an importer can stop at
//! the first bad row and say exactly where it is, and a matcher can report and skip it.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};

use takedown_model::{Confidence, Labels, Severity, SignalType, Tier, Tlp};
use takedown_signals::Hash256;

/// One row of a hash list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HashListRow {
    /// 1-based line number in the file (for CSV the header is line 1).
    pub line: u64,
    /// Kind of signal.
    pub signal_type: SignalType,
    /// Canonical value (lowercase hex for hashes and digests).
    pub value: String,
    /// Validated labels.
    pub labels: Labels,
    /// Free-text note.
    pub note: String,
    /// Provenance, if given.
    pub source: Option<String>,
    /// Columns takedown has no field for, verbatim.
    pub extra: BTreeMap<String, String>,
}

/// A row that could not be read, with where it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct RowError {
    /// 1-based line number.
    pub line: u64,
    /// What is wrong, naming the field.
    pub message: String,
}

/// File format of a hash list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashListFormat {
    /// Comma-separated with a header row that includes `signal_type` and `value`.
    Csv,
    /// One JSON object per line with the same keys.
    JsonLines,
}

impl HashListFormat {
    /// Guesses the format from a file name (`.jsonl`, `.ndjson`, `.json` -> JSON lines) or,
    /// failing that, from the first non-blank byte (`{` -> JSON lines).
    pub fn detect(file_name: Option<&str>, first_bytes: &[u8]) -> HashListFormat {
        if let Some(name) = file_name {
            let lower = name.to_ascii_lowercase();
            if [".jsonl", ".ndjson", ".json"]
                .iter()
                .any(|e| lower.ends_with(e))
            {
                return HashListFormat::JsonLines;
            }
            if lower.ends_with(".csv") {
                return HashListFormat::Csv;
            }
        }
        match first_bytes.iter().find(|b| !b.is_ascii_whitespace()) {
            Some(b'{') => HashListFormat::JsonLines,
            _ => HashListFormat::Csv,
        }
    }
}

/// Checks and canonicalises a signal value for its type: hashes and digests become lowercase
/// hex of the right length; vPDQ, audio and text signatures are parsed and written back in
/// their canonical text forms (see `media_values`).
pub fn canonical_value(signal_type: SignalType, raw: &str) -> Result<String, String> {
    let value = raw.trim();
    let hex_of = |digits: usize| -> Result<String, String> {
        if value.len() != digits {
            return Err(format!(
                "{signal_type} value must be {digits} hexadecimal digits, got {} characters",
                value.chars().count()
            ));
        }
        if let Some((position, character)) = value
            .chars()
            .enumerate()
            .find(|(_, c)| !c.is_ascii_hexdigit())
        {
            return Err(format!(
                "{signal_type} value has {character:?} at position {position}, not a hexadecimal digit"
            ));
        }
        Ok(value.to_ascii_lowercase())
    };
    match signal_type {
        SignalType::Pdq => Hash256::from_hex(value)
            .map(|hash| hash.to_hex())
            .map_err(|error| format!("pdq value: {error}")),
        SignalType::Md5 | SignalType::VideoMd5 => hex_of(32),
        SignalType::Sha256 | SignalType::TextDigest => hex_of(64),
        SignalType::Vpdq => crate::media_values::canonical_vpdq(value),
        SignalType::Audio => crate::media_values::canonical_audio(value),
        SignalType::TextMinhash => crate::media_values::canonical_text_signature(value),
    }
}

/// Reads a hash list row by row. I/O errors end the iteration with a final error row.
pub fn read_hash_list<'a, R: Read + Send + 'a>(
    reader: R,
    format: HashListFormat,
) -> Box<dyn Iterator<Item = Result<HashListRow, RowError>> + Send + 'a> {
    match format {
        HashListFormat::Csv => Box::new(read_csv(reader)),
        HashListFormat::JsonLines => Box::new(read_json_lines(reader)),
    }
}

/// Passes bytes through while remembering where each line ends and whether it was empty,
/// because the `csv` crate skips empty lines without counting them and reports a record's
/// position as the start of any empty lines before it; a user needs the line their editor shows.
struct NewlineTracker<R> {
    inner: R,
    offset: u64,
    line_is_empty: bool,
    /// (offset of a newline, whether the line it ends is empty apart from `\r`).
    newlines: std::sync::Arc<std::sync::Mutex<std::collections::VecDeque<(u64, bool)>>>,
}

impl<R: Read> Read for NewlineTracker<R> {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        let count = self.inner.read(buffer)?;
        let mut newlines = self
            .newlines
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        for (index, byte) in buffer[..count].iter().enumerate() {
            match byte {
                b'\n' => {
                    newlines.push_back((self.offset + index as u64, self.line_is_empty));
                    self.line_is_empty = true;
                }
                b'\r' => {}
                _ => self.line_is_empty = false,
            }
        }
        self.offset += count as u64;
        Ok(count)
    }
}

fn read_csv<R: Read + Send>(
    reader: R,
) -> impl Iterator<Item = Result<HashListRow, RowError>> + Send {
    let newlines = std::sync::Arc::new(std::sync::Mutex::new(std::collections::VecDeque::new()));
    let tracker = NewlineTracker {
        inner: reader,
        offset: 0,
        line_is_empty: true,
        newlines: newlines.clone(),
    };
    let mut lines_before = 0u64;
    // Line of the record whose parse started at byte `start`: one more than the newlines
    // before it, plus the empty lines the parser skipped from there.
    let mut line_at = move |start: u64| {
        let mut pending = newlines
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        while pending.front().is_some_and(|&(offset, _)| offset <= start) {
            pending.pop_front();
            lines_before += 1;
        }
        while pending.front().is_some_and(|&(_, empty)| empty) {
            pending.pop_front();
            lines_before += 1;
        }
        lines_before + 1
    };
    let mut csv = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(tracker);
    let header: Result<Vec<String>, RowError> = csv
        .headers()
        .map(|h| {
            h.iter()
                .map(|name| name.trim().to_ascii_lowercase())
                .collect()
        })
        .map_err(|error| RowError {
            line: 1,
            message: format!("cannot read the header row: {error}"),
        });
    let mut header_error = None;
    let header = match header {
        Ok(header) => {
            if !header
                .iter()
                .any(|h| h == "signal_type" || h == "hash_type")
            {
                header_error = Some(RowError {
                    line: 1,
                    message: "the header row must name a `signal_type` column (and `value`)".into(),
                });
            } else if !header
                .iter()
                .any(|h| matches!(h.as_str(), "value" | "signal" | "hash"))
            {
                header_error = Some(RowError {
                    line: 1,
                    message: "the header row must name a `value` column".into(),
                });
            }
            header
        }
        Err(error) => {
            header_error = Some(error);
            Vec::new()
        }
    };
    let mut records = csv.into_records();
    let mut finished = false;
    std::iter::from_fn(move || {
        if finished {
            return None;
        }
        if let Some(error) = header_error.take() {
            finished = true;
            return Some(Err(error));
        }
        loop {
            let record = records.next()?;
            let record = match record {
                Ok(record) => record,
                Err(error) => {
                    let line = error.position().map_or(0, |p| line_at(p.byte()));
                    finished = true;
                    return Some(Err(RowError {
                        line,
                        message: format!("unreadable CSV: {error}"),
                    }));
                }
            };
            let line = record.position().map_or(0, |p| line_at(p.byte()));
            if record.iter().all(str::is_empty) {
                continue;
            }
            let fields = header
                .iter()
                .zip(record.iter())
                .filter(|(_, value)| !value.is_empty())
                .map(|(name, value)| (name.clone(), value.to_string()))
                .collect();
            return Some(row_from_fields(line, fields));
        }
    })
}

fn read_json_lines<R: Read + Send>(
    reader: R,
) -> impl Iterator<Item = Result<HashListRow, RowError>> + Send {
    let mut lines = BufReader::new(reader).lines();
    let mut line_number = 0u64;
    let mut finished = false;
    std::iter::from_fn(move || {
        if finished {
            return None;
        }
        loop {
            line_number += 1;
            let text = match lines.next()? {
                Ok(text) => text,
                Err(error) => {
                    finished = true;
                    return Some(Err(RowError {
                        line: line_number,
                        message: format!("cannot read: {error}"),
                    }));
                }
            };
            if text.trim().is_empty() {
                continue;
            }
            return Some(json_row(line_number, &text));
        }
    })
}

fn json_row(line: u64, text: &str) -> Result<HashListRow, RowError> {
    let error = |message: String| RowError { line, message };
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| error(format!("not valid JSON: {e}")))?;
    let object = value
        .as_object()
        .ok_or_else(|| error("each line must be a JSON object".into()))?;
    let mut fields = BTreeMap::new();
    let mut flatten = |key: &str, value: &serde_json::Value| -> Result<(), RowError> {
        let text = match value {
            serde_json::Value::Null => return Ok(()),
            serde_json::Value::String(text) => text.clone(),
            serde_json::Value::Number(number) => number.to_string(),
            serde_json::Value::Bool(flag) => flag.to_string(),
            serde_json::Value::Array(items) => items
                .iter()
                .map(|item| match item {
                    serde_json::Value::String(text) => Ok(text.clone()),
                    other => Err(error(format!(
                        "`{key}` must be a list of strings, found {other}"
                    ))),
                })
                .collect::<Result<Vec<_>, _>>()?
                .join(";"),
            serde_json::Value::Object(_) => {
                return Err(error(format!("`{key}` must not be an object")));
            }
        };
        fields.insert(key.to_ascii_lowercase(), text);
        Ok(())
    };
    for (key, value) in object {
        if key == "labels" || key == "metadata" {
            if let Some(inner) = value.as_object() {
                for (inner_key, inner_value) in inner {
                    flatten(inner_key, inner_value)?;
                }
                continue;
            }
        }
        flatten(key, value)?;
    }
    row_from_fields(line, fields)
}

/// Builds a row from column name -> text, validating every known field.
fn row_from_fields(
    line: u64,
    mut fields: BTreeMap<String, String>,
) -> Result<HashListRow, RowError> {
    let error = |message: String| RowError { line, message };
    let mut take = |names: &[&str]| names.iter().find_map(|name| fields.remove(*name));
    let signal_type =
        take(&["signal_type", "hash_type"]).ok_or_else(|| error("missing `signal_type`".into()))?;
    let signal_type: SignalType = signal_type
        .parse()
        .map_err(|e| error(format!("signal_type: {e}")))?;
    let raw_value =
        take(&["value", "signal", "hash"]).ok_or_else(|| error("missing `value`".into()))?;
    let value = canonical_value(signal_type, &raw_value).map_err(error)?;
    let mut labels = Labels::default();
    if let Some(entity) = take(&["entity", "outlet", "group"]) {
        labels.entity = Some(Labels::normalise_entity(&entity).map_err(|e| error(e.to_string()))?);
    }
    if let Some(tier) = take(&["tier"]) {
        labels.tier = Some(tier.parse::<Tier>().map_err(|e| error(e.to_string()))?);
    }
    if let Some(severity) = take(&["severity"]) {
        labels.severity = Some(
            severity
                .parse::<Severity>()
                .map_err(|e| error(e.to_string()))?,
        );
    }
    if let Some(confidence) = take(&["confidence"]) {
        labels.confidence = Some(
            confidence
                .parse::<Confidence>()
                .map_err(|e| error(e.to_string()))?,
        );
    }
    if let Some(behaviours) = take(&["behaviours", "behaviors", "behaviour", "tags"]) {
        labels.behaviours = Labels::normalise_behaviours(behaviours.split([';', '|']))
            .map_err(|e| error(e.to_string()))?;
    }
    if let Some(tlp) = take(&["tlp"]) {
        labels.tlp = tlp.parse::<Tlp>().map_err(|e| error(e.to_string()))?;
    }
    let note = take(&["note", "notes"]).unwrap_or_default();
    let source = take(&["source"]);
    Ok(HashListRow {
        line,
        signal_type,
        value,
        labels,
        note,
        source,
        extra: fields,
    })
}

/// Writes rows as a hash list. CSV gets the columns `signal_type,value,entity,tier,severity,
/// confidence,behaviours,tlp,note,source`; JSON lines get the same keys, omitting empty ones.
pub fn write_hash_list<'a, W: Write>(
    writer: W,
    format: HashListFormat,
    rows: impl IntoIterator<Item = &'a HashListRow>,
) -> std::io::Result<()> {
    const COLUMNS: [&str; 10] = [
        "signal_type",
        "value",
        "entity",
        "tier",
        "severity",
        "confidence",
        "behaviours",
        "tlp",
        "note",
        "source",
    ];
    match format {
        HashListFormat::Csv => {
            let mut csv = csv::Writer::from_writer(writer);
            csv.write_record(COLUMNS)?;
            for row in rows {
                csv.write_record(row_columns(row))?;
            }
            csv.flush()?;
        }
        HashListFormat::JsonLines => {
            let mut writer = writer;
            for row in rows {
                let mut object = serde_json::Map::new();
                for (key, value) in COLUMNS.iter().zip(row_columns(row)) {
                    if value.is_empty() {
                        continue;
                    }
                    let json = match *key {
                        "tier" | "severity" | "confidence" => value
                            .parse::<u64>()
                            .map(serde_json::Value::from)
                            .unwrap_or(serde_json::Value::String(value)),
                        "behaviours" => serde_json::Value::from(
                            value.split(';').map(str::to_string).collect::<Vec<_>>(),
                        ),
                        _ => serde_json::Value::String(value),
                    };
                    object.insert((*key).to_string(), json);
                }
                serde_json::to_writer(&mut writer, &object)?;
                writer.write_all(b"\n")?;
            }
            writer.flush()?;
        }
    }
    Ok(())
}

fn row_columns(row: &HashListRow) -> [String; 10] {
    let labels = &row.labels;
    [
        row.signal_type.as_str().to_string(),
        row.value.clone(),
        labels.entity.clone().unwrap_or_default(),
        labels.tier.map(|t| t.to_string()).unwrap_or_default(),
        labels
            .severity
            .map(|s| s.value().to_string())
            .unwrap_or_default(),
        labels
            .confidence
            .map(|c| c.value().to_string())
            .unwrap_or_default(),
        labels.behaviours.join(";"),
        labels.tlp.as_str().to_string(),
        row.note.clone(),
        row.source.clone().unwrap_or_default(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    const PDQ: &str = "d8f8f0cee0f4a84f0637022a078f67f0b36e2ed596621e1d33e6339c4e9c9b22";

    fn read_all(text: &str, format: HashListFormat) -> Vec<Result<HashListRow, RowError>> {
        read_hash_list(text.as_bytes(), format).collect()
    }

    #[test]
    fn csv_with_labels_and_extra_columns() {
        let text = format!(
            "signal_type,value,entity,tier,behaviours,partner_ref\r\npdq,{},Amaq,3,claim;video,X-1\n\r\n\nmd5,900150983CD24FB0D6963F7D28E17F72,,,,\n",
            PDQ.to_uppercase()
        );
        let rows = read_all(&text, HashListFormat::Csv);
        assert_eq!(rows.len(), 2);
        let first = rows[0].as_ref().unwrap();
        assert_eq!(first.line, 2);
        assert_eq!(first.value, PDQ);
        assert_eq!(first.labels.entity.as_deref(), Some("amaq"));
        assert_eq!(first.labels.tier, Some(Tier::OfficialPropaganda));
        assert_eq!(first.labels.behaviours, vec!["claim", "video"]);
        assert_eq!(first.extra["partner_ref"], "X-1");
        let second = rows[1].as_ref().unwrap();
        assert_eq!(second.line, 5);
        assert_eq!(second.signal_type, SignalType::Md5);
        assert_eq!(second.value, "900150983cd24fb0d6963f7d28e17f72");
    }

    #[test]
    fn bad_rows_name_line_and_field() {
        let text = format!("signal_type,value,tier\npdq,{PDQ},3\npdq,{PDQ},9\npdq,abc,1\n");
        let rows = read_all(&text, HashListFormat::Csv);
        assert!(rows[0].is_ok());
        let error = rows[1].as_ref().unwrap_err();
        assert_eq!(error.line, 3);
        assert!(error.message.contains("tier"), "{error}");
        let error = rows[2].as_ref().unwrap_err();
        assert_eq!(error.line, 4);
        assert!(error.message.contains("64 hexadecimal digits"), "{error}");
        let missing = read_all("type,value\npdq,x\n", HashListFormat::Csv);
        assert_eq!(missing.len(), 1);
        assert_eq!(missing[0].as_ref().unwrap_err().line, 1);
    }

    #[test]
    fn json_lines_accept_nested_labels() {
        let text = format!(
            "{{\"signal_type\":\"pdq\",\"value\":\"{PDQ}\",\"labels\":{{\"entity\":\"nashir\",\"tier\":4,\"behaviours\":[\"b\",\"a\"]}}}}\n\nnot json\n"
        );
        let rows = read_all(&text, HashListFormat::JsonLines);
        let first = rows[0].as_ref().unwrap();
        assert_eq!(first.labels.tier, Some(Tier::Promotional));
        assert_eq!(first.labels.behaviours, vec!["a", "b"]);
        assert_eq!(rows[1].as_ref().unwrap_err().line, 3);
    }

    #[test]
    fn write_then_read_round_trips() {
        let text = format!(
            "signal_type,value,entity,tier,severity,confidence,behaviours,tlp,note,source\npdq,{PDQ},amaq,3,5,2,claim,green,\"a, note\",tcap\n"
        );
        let rows: Vec<HashListRow> = read_all(&text, HashListFormat::Csv)
            .into_iter()
            .map(Result::unwrap)
            .collect();
        for format in [HashListFormat::Csv, HashListFormat::JsonLines] {
            let mut out = Vec::new();
            write_hash_list(&mut out, format, &rows).unwrap();
            let again: Vec<HashListRow> = read_hash_list(out.as_slice(), format)
                .map(Result::unwrap)
                .collect();
            assert_eq!(again.len(), 1);
            assert_eq!(again[0].labels, rows[0].labels);
            assert_eq!(again[0].note, "a, note");
            assert_eq!(again[0].source.as_deref(), Some("tcap"));
        }
    }

    #[test]
    fn format_detection() {
        assert_eq!(
            HashListFormat::detect(Some("bank.JSONL"), b"signal_type"),
            HashListFormat::JsonLines
        );
        assert_eq!(
            HashListFormat::detect(None, b"  {\"a\":1}"),
            HashListFormat::JsonLines
        );
        assert_eq!(
            HashListFormat::detect(Some("x.txt"), b"signal_type,value"),
            HashListFormat::Csv
        );
    }
}
