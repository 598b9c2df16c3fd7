//! The server's configuration: a TOML file, then `TAKEDOWN_*` environment variables, then
//! command-line flags, each overriding the one before.
//!
//! Environment variables are applied by writing them into the file's table before it is
//! deserialised, so a value set by either route goes through the same parser and produces the
//! same error message (`hma.require_auth: invalid type ...`). Flags are applied by the caller on
//! the finished [`ServerConfig`].
//!
//! ```toml
//! bind = "127.0.0.1:8080"
//! database = "/var/lib/takedown/takedown.sqlite"   # or "postgres://user@host/db"
//! upload_limit = "50MB"                            # bytes, or with kB/MB/GB/KiB/MiB/GiB
//! import_limit = "2GB"
//!
//! [hma]
//! require_auth = true        # false: HMA routes answer unauthenticated hash and match calls
//!
//! [matching]
//! radius = 31                # largest PDQ distance that matches
//! min_quality = 50           # PDQ queries below this quality are not matched
//!
//! [matching.video]           # vPDQ (DOMAIN: frames within 31, quality 50, 80% both ways)
//! frame_distance = 31
//! min_quality = 50
//! query_percent = 80         # of the upload's frames found in the banked video
//! compared_percent = 80      # of the banked video's frames found in the upload
//! variants = true            # also try uploads mirrored back and with dark bars cut away
//!
//! [matching.audio]           # bit-error rate of the best alignment (unrelated audio ~0.5)
//! max_ber = 0.132            # calibrated to 1e-6 FP/pair, see docs/benchmarks.md (Audio)
//! min_overlap_seconds = 5
//! stretched = true           # also undo speed +-1.5/3% and tempo +-2.5/5% on uploads
//! stretched_max_ber = 0.112  # each stretched variant's threshold (calibrated jointly)
//!
//! [matching.text]
//! threshold = 0.5            # containment
//! min_shared = 4.0           # least shared shingle weight
//!
//! [video]                    # decoding limits (ffmpeg in a child process)
//! max_duration = "3h"
//! max_frames = 1000000
//! max_pixels = 16777216      # width x height
//! time_limit = "10m"         # per ffprobe/ffmpeg run; the process is killed past it
//! seconds_per_hash = 1.0     # vPDQ sampling
//! soundtrack = true          # fingerprint a video's sound as audio too
//!
//! [audio]
//! max_duration = "4h"
//! ffmpeg_timeout = "5m"
//!
//! [log]
//! format = "text"            # or "json"
//! filter = "info"            # tracing env-filter syntax
//!
//! [fetch]                    # hashing by URL; see takedown_fetch::FetchConfig
//! allowlist = []             # e.g. ["127.0.0.0/8"]; cloud metadata stays refused
//! max_body_bytes = 50000000
//! total_timeout = "60s"
//! ```

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;
use takedown_fetch::FetchConfig;

/// Everything `takedown serve` can be told.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Address to listen on.
    pub bind: SocketAddr,
    /// A SQLite file path or a `postgres://` URL; `None` for the default SQLite file in the
    /// user's data directory (see [`default_database_path`]).
    pub database: Option<String>,
    /// Largest request body for uploads and every other route but bulk import. Larger bodies
    /// are refused with 413 before they are read.
    pub upload_limit: ByteSize,
    /// Largest hash-list file accepted by bulk import (spooled to a temporary file, never held
    /// in memory).
    pub import_limit: ByteSize,
    /// HMA-compatible routes.
    pub hma: HmaConfig,
    /// Matching settings.
    pub matching: MatchingConfig,
    /// Logging.
    pub log: LogConfig,
    /// Fetching media by URL (HMA's `url=` parameters).
    pub fetch: FetchConfig,
    /// Video decoding limits and sampling.
    pub video: VideoConfig,
    /// Audio decoding limits.
    pub audio: AudioConfig,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database: None,
            upload_limit: ByteSize(50_000_000),
            import_limit: ByteSize(2_000_000_000),
            hma: HmaConfig::default(),
            matching: MatchingConfig::default(),
            log: LogConfig::default(),
            fetch: FetchConfig {
                // Hashing by URL is interactive: a caller waits on the answer, so the fetch is
                // bounded like an upload rather than like a background re-check.
                max_body_bytes: 50_000_000,
                ..FetchConfig::default()
            },
            video: VideoConfig::default(),
            audio: AudioConfig::default(),
        }
    }
}

/// Settings of the HMA-compatible routes.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HmaConfig {
    /// Whether HMA routes need `Authorization: Bearer TOKEN`. Off, a request without a token
    /// acts as a client on a trusted network: it may hash and match against every bank with
    /// matching enabled, nothing else (HMA's own model, which has no authentication at all).
    pub require_auth: bool,
}

impl Default for HmaConfig {
    fn default() -> Self {
        HmaConfig { require_auth: true }
    }
}

/// Matching settings.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MatchingConfig {
    /// Largest PDQ Hamming distance that counts as a match.
    pub radius: u32,
    /// PDQ queries with a lower quality are not matched (their hash is still returned).
    pub min_quality: u8,
    /// The vPDQ rule.
    pub video: VideoMatchingConfig,
    /// The audio rule.
    pub audio: AudioMatchingConfig,
    /// The text rule.
    pub text: TextMatchingConfig,
}

impl Default for MatchingConfig {
    fn default() -> Self {
        MatchingConfig {
            radius: 31,
            min_quality: 50,
            video: VideoMatchingConfig::default(),
            audio: AudioMatchingConfig::default(),
            text: TextMatchingConfig::default(),
        }
    }
}

/// The vPDQ match rule (`takedown_signals::vpdq::VpdqMatchConfig`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VideoMatchingConfig {
    /// Two frames match within this Hamming distance.
    pub frame_distance: u32,
    /// Frames of lower PDQ quality are ignored on both sides.
    pub min_quality: u8,
    /// Percentage of the upload's frames that must be found in the banked video.
    pub query_percent: f64,
    /// Percentage of the banked video's frames that must be found in the upload.
    pub compared_percent: f64,
    /// Also match an uploaded video mirrored back and with letterbox or pillarbox bars cut
    /// away, under the same rule (`takedown_engine::MediaMatchConfig::video_variants`).
    pub variants: bool,
}

impl Default for VideoMatchingConfig {
    fn default() -> Self {
        let rule = takedown_signals::vpdq::VpdqMatchConfig::default();
        VideoMatchingConfig {
            frame_distance: rule.distance_threshold,
            min_quality: rule.quality_threshold,
            query_percent: rule.query_match_percent,
            compared_percent: rule.compared_match_percent,
            variants: takedown_engine::MediaMatchConfig::default().video_variants,
        }
    }
}

/// The audio match rule (`takedown_index::audio` and `takedown_engine::AudioStretchConfig`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AudioMatchingConfig {
    /// Largest bit-error rate for a query searched as it is.
    pub max_ber: f64,
    /// Least audio an alignment must cover, in seconds (capped by the query's length).
    pub min_overlap_seconds: f64,
    /// Also search uploads with speed and tempo changes undone.
    pub stretched: bool,
    /// Largest bit-error rate of a stretched variant (the upload as it is keeps `max_ber`).
    pub stretched_max_ber: f64,
}

impl Default for AudioMatchingConfig {
    fn default() -> Self {
        let rule = takedown_index::audio::AudioIndexConfig::default();
        let stretch = takedown_engine::AudioStretchConfig::default();
        AudioMatchingConfig {
            max_ber: rule.max_ber,
            min_overlap_seconds: rule.min_overlap as f64
                * takedown_signals::audio::SECONDS_PER_SUB_FINGERPRINT,
            stretched: stretch.is_enabled(),
            stretched_max_ber: stretch.max_ber,
        }
    }
}

/// The text match rule (`takedown_signals::text::TextMatchConfig`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TextMatchingConfig {
    /// Least containment score (0 to 1).
    pub threshold: f64,
    /// Least shared shingle weight.
    pub min_shared: f64,
}

impl Default for TextMatchingConfig {
    fn default() -> Self {
        let rule = takedown_signals::text::TextMatchConfig::default();
        TextMatchingConfig {
            threshold: rule.threshold,
            min_shared: rule.min_shared,
        }
    }
}

/// Video decoding limits and vPDQ sampling (`takedown_media::video`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VideoConfig {
    /// Longest video accepted (refused from the header when it says so, else while decoding).
    #[serde(with = "humantime_serde")]
    pub max_duration: Duration,
    /// Most frames accepted (stated, estimated or decoded).
    pub max_frames: u64,
    /// Most pixels per frame.
    pub max_pixels: u64,
    /// Wall-clock limit of each ffprobe and ffmpeg run.
    #[serde(with = "humantime_serde")]
    pub time_limit: Duration,
    /// One hashed frame per this many seconds (0: every frame).
    pub seconds_per_hash: f64,
    /// Fingerprint a video's sound as audio too.
    pub soundtrack: bool,
}

impl Default for VideoConfig {
    fn default() -> Self {
        let limits = takedown_media::video::VideoLimits::default();
        VideoConfig {
            max_duration: limits.max_duration,
            max_frames: limits.max_frames,
            max_pixels: limits.max_pixels,
            time_limit: limits.time_limit,
            seconds_per_hash: takedown_media::video::VpdqOptions::default().seconds_per_hash,
            soundtrack: true,
        }
    }
}

/// Audio decoding limits (`takedown_media::AudioLimits`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AudioConfig {
    /// Longest audio accepted (longer files are refused, not cut).
    #[serde(with = "humantime_serde")]
    pub max_duration: Duration,
    /// Wall-clock limit of an ffmpeg decode.
    #[serde(with = "humantime_serde")]
    pub ffmpeg_timeout: Duration,
}

impl Default for AudioConfig {
    fn default() -> Self {
        let limits = takedown_media::AudioLimits::default();
        AudioConfig {
            max_duration: limits.max_duration,
            ffmpeg_timeout: limits.ffmpeg_timeout,
        }
    }
}

/// How logs are written.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// Human-readable lines or one JSON object per line.
    pub format: LogFormat,
    /// Which events to keep, in `tracing_subscriber::EnvFilter` syntax (`info`,
    /// `takedown_server=debug,info`).
    pub filter: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            format: LogFormat::Text,
            filter: "info".to_string(),
        }
    }
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// A size in bytes, written as an integer or with a unit (`50MB`, `512 KiB`, `2GB`).
///
/// Units are decimal (`kB`, `MB`, `GB`) or binary (`KiB`, `MiB`, `GiB`), so "50 MB" means what
/// it says to someone sizing uploads from a file manager.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ByteSize(pub u64);

impl ByteSize {
    /// The size in bytes.
    pub fn bytes(self) -> u64 {
        self.0
    }

    /// The size as `usize`, saturating on 32-bit targets.
    pub fn as_usize(self) -> usize {
        usize::try_from(self.0).unwrap_or(usize::MAX)
    }
}

impl fmt::Display for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} bytes", self.0)
    }
}

impl std::str::FromStr for ByteSize {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let trimmed = text.trim();
        let split = trimmed
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(trimmed.len());
        let (digits, unit) = trimmed.split_at(split);
        let number: u64 = digits
            .parse()
            .map_err(|_| format!("{text:?} is not a size (write 50000000, 50MB or 48MiB)"))?;
        let multiplier: u64 = match unit.trim().to_ascii_lowercase().as_str() {
            "" | "b" => 1,
            "kb" => 1_000,
            "mb" => 1_000_000,
            "gb" => 1_000_000_000,
            "kib" => 1 << 10,
            "mib" => 1 << 20,
            "gib" => 1 << 30,
            other => {
                return Err(format!(
                    "unknown size unit {other:?} in {text:?} (use B, kB, MB, GB, KiB, MiB or GiB)"
                ))
            }
        };
        number
            .checked_mul(multiplier)
            .map(ByteSize)
            .ok_or_else(|| format!("{text:?} is too large"))
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SizeVisitor;
        impl Visitor<'_> for SizeVisitor {
            type Value = ByteSize;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a byte count or a size such as \"50MB\"")
            }
            fn visit_u64<E: de::Error>(self, value: u64) -> Result<ByteSize, E> {
                Ok(ByteSize(value))
            }
            fn visit_i64<E: de::Error>(self, value: i64) -> Result<ByteSize, E> {
                u64::try_from(value)
                    .map(ByteSize)
                    .map_err(|_| E::custom("a size cannot be negative"))
            }
            fn visit_str<E: de::Error>(self, value: &str) -> Result<ByteSize, E> {
                value.parse().map_err(E::custom)
            }
        }
        deserializer.deserialize_any(SizeVisitor)
    }
}

/// A configuration that cannot be used, with where the problem is.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file or an environment variable holds a wrong value.
    #[error("{origin}: {message}")]
    Invalid {
        /// The file, or "environment".
        origin: String,
        /// What is wrong, naming the key.
        message: String,
    },
}

/// How a variable's text becomes a TOML value.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Text,
    Integer,
    Boolean,
    /// Comma-separated list of strings.
    List,
    /// An integer when it is one, else text (`50MB`).
    Size,
}

/// Every environment variable the server reads, the key it sets, and its kind. Documented in
/// README's "The server" section; keep the two in step.
pub const ENVIRONMENT: &[(&str, &str)] = &[
    ("TAKEDOWN_BIND", "bind"),
    ("TAKEDOWN_DATABASE", "database"),
    ("TAKEDOWN_UPLOAD_LIMIT", "upload_limit"),
    ("TAKEDOWN_IMPORT_LIMIT", "import_limit"),
    ("TAKEDOWN_HMA_REQUIRE_AUTH", "hma.require_auth"),
    ("TAKEDOWN_MATCH_RADIUS", "matching.radius"),
    ("TAKEDOWN_MATCH_MIN_QUALITY", "matching.min_quality"),
    ("TAKEDOWN_MATCH_AUDIO_STRETCHED", "matching.audio.stretched"),
    ("TAKEDOWN_MATCH_VIDEO_VARIANTS", "matching.video.variants"),
    ("TAKEDOWN_VIDEO_MAX_DURATION", "video.max_duration"),
    ("TAKEDOWN_VIDEO_MAX_FRAMES", "video.max_frames"),
    ("TAKEDOWN_AUDIO_MAX_DURATION", "audio.max_duration"),
    ("TAKEDOWN_LOG_FORMAT", "log.format"),
    ("TAKEDOWN_LOG", "log.filter"),
    ("TAKEDOWN_FETCH_ALLOWLIST", "fetch.allowlist"),
    ("TAKEDOWN_FETCH_MAX_BODY_BYTES", "fetch.max_body_bytes"),
    ("TAKEDOWN_FETCH_REQUEST_TIMEOUT", "fetch.request_timeout"),
    ("TAKEDOWN_FETCH_TOTAL_TIMEOUT", "fetch.total_timeout"),
    ("TAKEDOWN_FETCH_USER_AGENT", "fetch.user_agent"),
];

fn kind_of(key: &str) -> Kind {
    match key {
        "hma.require_auth" | "matching.audio.stretched" | "matching.video.variants" => {
            Kind::Boolean
        }
        "matching.radius"
        | "matching.min_quality"
        | "fetch.max_body_bytes"
        | "video.max_frames" => Kind::Integer,
        "fetch.allowlist" => Kind::List,
        "upload_limit" | "import_limit" => Kind::Size,
        _ => Kind::Text,
    }
}

impl ServerConfig {
    /// Reads the optional TOML file, applies the environment (`lookup` is
    /// `|name| std::env::var(name).ok()` in production, a map in tests) and validates.
    pub fn load(
        file: Option<&Path>,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Result<ServerConfig, ConfigError> {
        let (mut table, origin) = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.to_path_buf(),
                    source,
                })?;
                let table: toml::Table =
                    toml::from_str(&text).map_err(|error| ConfigError::Invalid {
                        origin: path.display().to_string(),
                        message: error.message().to_string(),
                    })?;
                (table, path.display().to_string())
            }
            None => (toml::Table::new(), "configuration".to_string()),
        };
        let mut from_environment = Vec::new();
        for (variable, key) in ENVIRONMENT {
            let Some(text) = lookup(variable) else {
                continue;
            };
            let value = parse_variable(variable, key, &text)?;
            set_path(&mut table, key, value);
            from_environment.push(*variable);
        }
        let origin = if from_environment.is_empty() {
            origin
        } else {
            format!("{origin} (with {})", from_environment.join(", "))
        };
        let config = ServerConfig::deserialize(toml::Value::Table(table)).map_err(|error| {
            ConfigError::Invalid {
                origin: origin.clone(),
                message: error.to_string(),
            }
        })?;
        config
            .validate()
            .map_err(|message| ConfigError::Invalid { origin, message })?;
        Ok(config)
    }

    /// Checks what the types cannot.
    pub fn validate(&self) -> Result<(), String> {
        if self.upload_limit.bytes() == 0 {
            return Err("upload_limit must be greater than zero".into());
        }
        if self.import_limit.bytes() == 0 {
            return Err("import_limit must be greater than zero".into());
        }
        if self.matching.radius > 256 {
            return Err("matching.radius must be at most 256 (PDQ hashes have 256 bits)".into());
        }
        if self.matching.min_quality > 100 {
            return Err("matching.min_quality must be at most 100".into());
        }
        let video = &self.matching.video;
        if video.frame_distance > 256 {
            return Err("matching.video.frame_distance must be at most 256".into());
        }
        if video.min_quality > 100 {
            return Err("matching.video.min_quality must be at most 100".into());
        }
        for (key, percent) in [
            ("matching.video.query_percent", video.query_percent),
            ("matching.video.compared_percent", video.compared_percent),
        ] {
            if !(0.0..=100.0).contains(&percent) {
                return Err(format!("{key} must be between 0 and 100, not {percent}"));
            }
        }
        let audio = &self.matching.audio;
        for (key, ber) in [
            ("matching.audio.max_ber", audio.max_ber),
            ("matching.audio.stretched_max_ber", audio.stretched_max_ber),
        ] {
            // Unrelated audio sits near 0.5: a threshold there matches everything.
            if !(ber > 0.0 && ber < 0.5) {
                return Err(format!(
                    "{key} must be above 0 and below 0.5 (unrelated audio), not {ber}"
                ));
            }
        }
        if !(audio.min_overlap_seconds > 0.0 && audio.min_overlap_seconds <= 3600.0) {
            return Err(format!(
                "matching.audio.min_overlap_seconds must be above 0 and at most 3600, not {}",
                audio.min_overlap_seconds
            ));
        }
        let text = &self.matching.text;
        if !(text.threshold > 0.0 && text.threshold <= 1.0) {
            return Err(format!(
                "matching.text.threshold must be above 0 and at most 1, not {}",
                text.threshold
            ));
        }
        if !(text.min_shared.is_finite() && text.min_shared >= 0.0) {
            return Err(format!(
                "matching.text.min_shared must be 0 or more, not {}",
                text.min_shared
            ));
        }
        if self.video.max_frames == 0 {
            return Err("video.max_frames must be greater than zero".into());
        }
        if self.video.max_pixels == 0 {
            return Err("video.max_pixels must be greater than zero".into());
        }
        for (key, duration) in [
            ("video.max_duration", self.video.max_duration),
            ("video.time_limit", self.video.time_limit),
            ("audio.max_duration", self.audio.max_duration),
            ("audio.ffmpeg_timeout", self.audio.ffmpeg_timeout),
        ] {
            if duration.is_zero() {
                return Err(format!("{key} must be longer than zero"));
            }
        }
        if !(self.video.seconds_per_hash.is_finite() && self.video.seconds_per_hash >= 0.0) {
            return Err(format!(
                "video.seconds_per_hash must be 0 (every frame) or more, not {}",
                self.video.seconds_per_hash
            ));
        }
        self.fetch
            .validate()
            .map_err(|error| format!("fetch: {error}"))
    }

    /// The database to open: the configured one, or the default SQLite file.
    pub fn database_or_default(&self) -> Result<String, ConfigError> {
        match &self.database {
            Some(database) => Ok(database.clone()),
            None => default_database_path()
                .map(|path| path.to_string_lossy().into_owned())
                .ok_or_else(|| ConfigError::Invalid {
                    origin: "configuration".into(),
                    message: "no data directory is known for this user: give --database".into(),
                }),
        }
    }
}

/// `takedown/takedown.sqlite` in the user's data directory (`~/.local/share` on Linux).
pub fn default_database_path() -> Option<PathBuf> {
    dirs::data_dir().map(|dir| dir.join("takedown").join("takedown.sqlite"))
}

fn parse_variable(variable: &str, key: &str, text: &str) -> Result<toml::Value, ConfigError> {
    let invalid = |message: String| ConfigError::Invalid {
        origin: format!("environment variable {variable}"),
        message,
    };
    let text = text.trim();
    Ok(match kind_of(key) {
        Kind::Text => toml::Value::String(text.to_string()),
        Kind::Integer => toml::Value::Integer(
            text.parse()
                .map_err(|_| invalid(format!("{text:?} is not an integer")))?,
        ),
        Kind::Boolean => toml::Value::Boolean(match text.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => true,
            "false" | "0" | "no" | "off" => false,
            _ => return Err(invalid(format!("{text:?} is not true or false"))),
        }),
        Kind::List => toml::Value::Array(
            text.split(',')
                .map(str::trim)
                .filter(|item| !item.is_empty())
                .map(|item| toml::Value::String(item.to_string()))
                .collect(),
        ),
        Kind::Size => match text.parse::<i64>() {
            Ok(number) => toml::Value::Integer(number),
            Err(_) => toml::Value::String(text.to_string()),
        },
    })
}

fn set_path(table: &mut toml::Table, key: &str, value: toml::Value) {
    let mut current = table;
    let mut parts = key.split('.').peekable();
    while let Some(part) = parts.next() {
        if parts.peek().is_none() {
            current.insert(part.to_string(), value);
            return;
        }
        let entry = current
            .entry(part.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        if !entry.is_table() {
            *entry = toml::Value::Table(toml::Table::new());
        }
        let toml::Value::Table(next) = entry else {
            return;
        };
        current = next;
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn load(file: Option<&str>, environment: &[(&str, &str)]) -> Result<ServerConfig, ConfigError> {
        let directory = tempfile::tempdir().expect("temporary directory");
        let path = directory.path().join("takedown.toml");
        if let Some(text) = file {
            std::fs::write(&path, text).expect("write config");
        }
        let environment: HashMap<String, String> = environment
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        ServerConfig::load(file.map(|_| path.as_path()), &|name| {
            environment.get(name).cloned()
        })
    }

    #[test]
    fn defaults_without_file_or_environment() {
        let config = load(None, &[]).expect("defaults");
        assert_eq!(config, ServerConfig::default());
        assert_eq!(config.upload_limit.bytes(), 50_000_000);
        assert!(config.hma.require_auth);
    }

    #[test]
    fn environment_overrides_file() {
        let file = r#"
            bind = "127.0.0.1:9000"
            upload_limit = "10MB"
            [hma]
            require_auth = true
            [fetch]
            allowlist = ["10.0.0.0/8"]
        "#;
        let config = load(
            Some(file),
            &[
                ("TAKEDOWN_HMA_REQUIRE_AUTH", "false"),
                ("TAKEDOWN_UPLOAD_LIMIT", "2MiB"),
                ("TAKEDOWN_FETCH_ALLOWLIST", "127.0.0.0/8, ::1/128"),
                ("TAKEDOWN_MATCH_RADIUS", "20"),
            ],
        )
        .expect("valid");
        assert_eq!(config.bind, "127.0.0.1:9000".parse().unwrap());
        assert!(!config.hma.require_auth);
        assert_eq!(config.upload_limit.bytes(), 2 << 20);
        assert_eq!(config.fetch.allowlist.len(), 2);
        assert_eq!(config.matching.radius, 20);
    }

    #[test]
    fn bad_values_name_their_key_and_origin() {
        let error = load(Some("[hma]\nrequire_auth = \"maybe\"\n"), &[]).unwrap_err();
        assert!(error.to_string().contains("require_auth"), "{error}");
        let error = load(None, &[("TAKEDOWN_HMA_REQUIRE_AUTH", "perhaps")]).unwrap_err();
        assert!(
            error.to_string().contains("TAKEDOWN_HMA_REQUIRE_AUTH"),
            "{error}"
        );
        let error = load(Some("colour = \"blue\"\n"), &[]).unwrap_err();
        assert!(error.to_string().contains("colour"), "{error}");
        let error = load(None, &[("TAKEDOWN_UPLOAD_LIMIT", "5 parsecs")]).unwrap_err();
        assert!(error.to_string().contains("parsecs"), "{error}");
    }

    #[test]
    fn media_rules_and_limits_come_from_file_and_environment() {
        let defaults = load(None, &[]).expect("defaults");
        // The defaults are the libraries' own, so the two cannot drift.
        assert_eq!(defaults.video.max_duration, Duration::from_secs(3 * 3600));
        assert_eq!(defaults.matching.video.query_percent, 80.0);
        assert!(defaults.matching.audio.stretched);
        assert!(defaults.matching.video.variants);
        assert!(defaults.matching.audio.stretched_max_ber <= defaults.matching.audio.max_ber);
        let file = r#"
            [matching.video]
            query_percent = 50
            compared_percent = 0
            [matching.audio]
            max_ber = 0.2
            [matching.text]
            threshold = 0.6
            [video]
            max_duration = "20m"
            max_frames = 5000
            soundtrack = false
            [audio]
            ffmpeg_timeout = "30s"
        "#;
        let config = load(
            Some(file),
            &[
                ("TAKEDOWN_VIDEO_MAX_FRAMES", "100"),
                ("TAKEDOWN_AUDIO_MAX_DURATION", "1h"),
                ("TAKEDOWN_MATCH_AUDIO_STRETCHED", "false"),
                ("TAKEDOWN_MATCH_VIDEO_VARIANTS", "false"),
            ],
        )
        .expect("valid");
        assert_eq!(config.matching.video.query_percent, 50.0);
        assert_eq!(config.matching.video.compared_percent, 0.0);
        assert_eq!(config.matching.audio.max_ber, 0.2);
        assert!(!config.matching.audio.stretched);
        assert!(!config.matching.video.variants);
        assert_eq!(config.matching.text.threshold, 0.6);
        assert_eq!(config.video.max_duration, Duration::from_secs(1200));
        assert_eq!(config.video.max_frames, 100);
        assert!(!config.video.soundtrack);
        assert_eq!(config.audio.max_duration, Duration::from_secs(3600));
        assert_eq!(config.audio.ffmpeg_timeout, Duration::from_secs(30));

        for (text, key) in [
            (
                "[matching.video]\nquery_percent = 120\n",
                "matching.video.query_percent",
            ),
            (
                "[matching.audio]\nmax_ber = 0.5\n",
                "matching.audio.max_ber",
            ),
            (
                "[matching.text]\nthreshold = 0\n",
                "matching.text.threshold",
            ),
            ("[video]\nmax_frames = 0\n", "video.max_frames"),
            ("[video]\nmax_duration = \"0s\"\n", "video.max_duration"),
            ("[video]\nmax_duration = \"forever\"\n", "max_duration"),
            ("[audio]\nmax_seconds = 3\n", "max_seconds"),
        ] {
            let error = load(Some(text), &[]).unwrap_err();
            assert!(error.to_string().contains(key), "{text}: {error}");
        }
        let error = load(None, &[("TAKEDOWN_VIDEO_MAX_FRAMES", "many")]).unwrap_err();
        assert!(
            error.to_string().contains("TAKEDOWN_VIDEO_MAX_FRAMES"),
            "{error}"
        );
    }

    #[test]
    fn sizes_parse_with_units() {
        assert_eq!("50MB".parse::<ByteSize>().unwrap().bytes(), 50_000_000);
        assert_eq!("48 MiB".parse::<ByteSize>().unwrap().bytes(), 48 << 20);
        assert_eq!("1024".parse::<ByteSize>().unwrap().bytes(), 1024);
        assert!("-1".parse::<ByteSize>().is_err());
    }
}
