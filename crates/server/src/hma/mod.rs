//! HMA-compatible routes: the paths, parameters and response shapes of Meta's
//! Hasher-Matcher-Actioner (`OpenMediaMatch` blueprints `hashing`, `matching`, `curation`), so
//! a pipeline pointed at HMA keeps working when pointed here.
//!
//! Kept from HMA: every path and parameter, the response shapes (including the one flaw a
//! client relies on: `/m/lookup` answers `{"BANK": [...]}` for `signal=` and
//! `{"pdq": {"BANK": [...]}}` for a URL or an upload), `{"message": ...}` errors, 201 for a new
//! bank, 403 for a bank name already taken, 200 for deleting a bank that is not there.
//!
//! Deliberately not kept:
//! - distances are JSON numbers, not strings (`"distance": 3`, HMA sends `"3"`);
//! - requests need `Authorization: Bearer TOKEN` unless `hma.require_auth = false`;
//! - lookups read only memory (HMA reads its database for every match);
//! - a bank matches fully or not at all: `enabled_ratio` must be 0 or 1 (HMA samples lookups
//!   by a coin flip for ratios in between);
//! - a PDQ hash of quality below `matching.min_quality` is neither returned by `/h/hash` nor
//!   matched, as HMA's PDQ signal does; adding such an image to a bank still stores it.

mod curation;
mod hashing;
mod matching;

use std::collections::BTreeMap;

use takedown_engine::Caller;
use takedown_hasher::Fingerprints;
use takedown_model::{Permission, SignalType};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::HmaError;
use crate::fetching;
use crate::state::AppState;
use crate::upload::Upload;

/// Every HMA-compatible route.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(hashing::hash_url, hashing::hash_file))
        .routes(routes!(matching::raw_lookup))
        .routes(routes!(matching::lookup_get, matching::lookup_post))
        .routes(routes!(matching::index_status))
        .routes(routes!(matching::compare))
        .routes(routes!(curation::banks_list, curation::bank_create))
        .routes(routes!(
            curation::bank_get,
            curation::bank_update,
            curation::bank_delete
        ))
        .routes(routes!(
            curation::content_get,
            curation::content_update,
            curation::content_delete
        ))
        .routes(routes!(curation::content_add))
        .routes(routes!(curation::signal_add))
}

/// HMA's content types: the multipart field name of an upload, or `content_type=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ContentType {
    Photo,
    Video,
}

impl ContentType {
    fn parse(name: &str) -> Result<ContentType, HmaError> {
        match name {
            "photo" => Ok(ContentType::Photo),
            "video" => Ok(ContentType::Video),
            other => Err(HmaError::bad_request(format!(
                "no such content_type: '{other}' (takedown knows photo and video)"
            ))),
        }
    }

    /// From a fetched file's `Content-Type`, as HMA does when no `content_type=` is given.
    fn from_mime(mime: Option<&str>) -> Result<ContentType, HmaError> {
        let mime = mime.unwrap_or_default().to_ascii_lowercase();
        if mime.starts_with("image") {
            Ok(ContentType::Photo)
        } else if mime.starts_with("video") {
            Ok(ContentType::Video)
        } else {
            Err(HmaError::bad_request(format!(
                "unsupported url ContentType: '{mime}', if you know the expected type, \
                 provide it with the content_type query param"
            )))
        }
    }

    /// Signal types a content type yields, the first ones by default (HMA's enabled types).
    fn signal_types(self) -> (&'static [SignalType], &'static [SignalType]) {
        match self {
            ContentType::Photo => (
                &[SignalType::Pdq],
                &[SignalType::Pdq, SignalType::Md5, SignalType::Sha256],
            ),
            ContentType::Video => (
                &[SignalType::VideoMd5, SignalType::Vpdq],
                &[
                    SignalType::VideoMd5,
                    SignalType::Vpdq,
                    SignalType::Md5,
                    SignalType::Sha256,
                ],
            ),
        }
    }

    /// The signal types selected by HMA's `types=` parameter (comma-separated).
    fn select(self, types: Option<&str>) -> Result<Vec<SignalType>, HmaError> {
        let (default, available) = self.signal_types();
        let Some(types) = types else {
            return Ok(default.to_vec());
        };
        let mut selected = Vec::new();
        for name in types.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let kind = available
                .iter()
                .find(|kind| kind.as_str() == name)
                .ok_or_else(|| {
                    HmaError::bad_request(format!(
                        "signal type '{name}' doesn't exist or is disabled"
                    ))
                })?;
            if !selected.contains(kind) {
                selected.push(*kind);
            }
        }
        if selected.is_empty() {
            return Err(HmaError::bad_request("empty signal type selection"));
        }
        Ok(selected)
    }
}

/// A hashed file: its fingerprints and the signals HMA would report for it.
struct Hashed {
    content_type: ContentType,
    /// Image fingerprints for photos, vPDQ for videos (none for bytes that are not a video
    /// container: HMA's `video_md5` is of whatever bytes were sent).
    fingerprints: Option<Fingerprints>,
    /// MD5 and SHA-256 of the bytes.
    digests: takedown_signals::Digests,
}

impl Hashed {
    /// The value of one signal type, if this file has one worth reporting. A PDQ hash below
    /// `min_quality` is left out (HMA's PDQ signal returns none for such flat images).
    fn value(&self, kind: SignalType, min_quality: u8) -> Option<String> {
        match kind {
            SignalType::Pdq => self
                .fingerprints
                .as_ref()
                .and_then(Fingerprints::image)
                .filter(|image| image.pdq.quality >= min_quality)
                .map(|image| image.pdq.hash.to_hex()),
            // HMA's own vPDQ form: a JSON array of "hash,quality,timestamp" strings.
            SignalType::Vpdq => self
                .fingerprints
                .as_ref()
                .and_then(Fingerprints::video)
                .map(|video| takedown_exchange::vpdq_to_hma_json(&video.vpdq)),
            SignalType::Md5 | SignalType::VideoMd5 => Some(self.digests.md5.clone()),
            SignalType::Sha256 => Some(self.digests.sha256.clone()),
            _ => None,
        }
    }

    /// `{"pdq": "..."}` for the selected types.
    fn signals(&self, kinds: &[SignalType], min_quality: u8) -> BTreeMap<String, String> {
        kinds
            .iter()
            .filter_map(|kind| {
                self.value(*kind, min_quality)
                    .map(|value| (kind.as_str().to_string(), value))
            })
            .collect()
    }
}

/// Hashes bytes as the given content type. Photos are decoded and hashed by the engine (on a
/// blocking thread); so are videos (vPDQ through ffmpeg, with the digests: HMA's
/// `video_md5`). Bytes sent as a video that are no video container at all get their digests
/// only, as HMA gives them; a damaged video container is an error (422).
async fn hash_bytes(
    state: &AppState,
    caller: &Caller,
    content_type: ContentType,
    bytes: Vec<u8>,
) -> Result<Hashed, HmaError> {
    use takedown_hasher::{Detected, MediaKind};
    let video_container = matches!(takedown_hasher::detect(&bytes), Detected::AudioOrVideo(_));
    match content_type {
        ContentType::Photo => {
            let fingerprints = state
                .engine()
                .hash_bytes_as(caller, bytes, false, &[MediaKind::Image])
                .await?;
            Ok(Hashed {
                content_type,
                digests: fingerprints.digests.clone(),
                fingerprints: Some(fingerprints),
            })
        }
        ContentType::Video if video_container => {
            let fingerprints = state
                .engine()
                .hash_bytes_as(caller, bytes, false, &[MediaKind::Video])
                .await?;
            Ok(Hashed {
                content_type,
                digests: fingerprints.digests.clone(),
                fingerprints: Some(fingerprints),
            })
        }
        ContentType::Video => {
            caller.require(Permission::Match)?;
            if bytes.is_empty() {
                return Err(HmaError(crate::error::ApiError::new(
                    axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                    "the file is empty",
                )));
            }
            let digests =
                tokio::task::spawn_blocking(move || takedown_signals::Digests::of(&bytes))
                    .await
                    .map_err(crate::error::ApiError::internal)?;
            Ok(Hashed {
                content_type,
                fingerprints: None,
                digests,
            })
        }
    }
}

/// Fetches a URL (through the address guard) and hashes it; the content type comes from
/// `content_type=` or the response's `Content-Type`.
async fn hash_url(
    state: &AppState,
    caller: &Caller,
    url: &str,
    content_type_hint: Option<&str>,
) -> Result<(Hashed, String), HmaError> {
    // Refuse callers who may not hash before sending anything anywhere.
    caller.require(Permission::Match)?;
    let fetched = fetching::fetch_media(state, "url", url).await?;
    let content_type = match content_type_hint.filter(|hint| !hint.is_empty()) {
        Some(hint) => ContentType::parse(hint)?,
        None => ContentType::from_mime(fetched.content_type.as_deref())?,
    };
    let hashed = hash_bytes(state, caller, content_type, fetched.bytes).await?;
    Ok((hashed, fetched.final_url))
}

/// Hashes the one file of an HMA multipart upload, whose field name is its content type.
async fn hash_upload(
    state: &AppState,
    caller: &Caller,
    upload: Upload,
) -> Result<(Hashed, Upload), HmaError> {
    let content_type = ContentType::parse(&upload.field)?;
    let mut upload = upload;
    let bytes = std::mem::take(&mut upload.bytes);
    let hashed = hash_bytes(state, caller, content_type, bytes).await?;
    Ok((hashed, upload))
}

/// A multipart body, or HMA's error for a request that is not one.
fn multipart(
    multipart: Result<axum::extract::Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<axum::extract::Multipart, HmaError> {
    multipart.map_err(|_| HmaError::bad_request("Missing multipart/form-data file upload"))
}

/// Splits HMA's comma-separated `banks=` parameter.
fn bank_filter(banks: Option<&str>) -> Option<Vec<String>> {
    banks.map(|text| {
        text.split(',')
            .map(str::trim)
            .filter(|name| !name.is_empty())
            .map(str::to_string)
            .collect()
    })
}
