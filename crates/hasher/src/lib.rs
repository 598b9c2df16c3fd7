//! The hasher: raw bytes in, every fingerprint takedown keeps out.
//!
//! This is the one place that decides what a file is and which signals it yields, so the CLI,
//! the HTTP API and the URL fetcher all fingerprint a file the same way. The digests (MD5,
//! SHA-256) are taken over the exact bytes given, in the same pass that feeds the decoder
//! (the bytes are read once, into memory, and both work from that buffer).
//!
//! # Media-type dispatch
//!
//! [`detect`] reads the magic bytes (never the file name): images go to PDQ, videos to vPDQ
//! (ffmpeg in a child process, `takedown_media::video`), sound to the audio fingerprint
//! (symphonia or ffmpeg, `takedown_media::audio`), and anything else that is valid UTF-8 text
//! to the text digest and signature. Containers that may hold either pictures or only sound
//! (MP4, WebM, ...) are probed: with a video stream they are videos, without one audio.
//! Text that is not valid UTF-8 is an error naming the first bad byte, never guessed at.
//!
//! A video's soundtrack is fingerprinted as audio too ([`VideoFingerprints::soundtrack`]): a
//! radio bulletin re-uploaded as a video over a still picture, or a video's speech cut out and
//! posted as a recording, is then found through the audio fingerprint whichever way round it
//! travels. [`Fingerprints::audio`] answers for both.
//!
//! Boundary: no file system, no network. Callers read the bytes (with their own size limits) and
//! hand them over; CPU-heavy work here is synchronous, so async callers run it on a blocking
//! thread.

mod detect;

pub use detect::{detect, Detected, MediaKind};
use takedown_media::audio::{AudioContainer, AudioDecoder};
use takedown_media::video::{VideoError, VideoInfo, VideoInput, VideoOptions, VpdqOptions};
use takedown_media::{
    AudioError, AudioOptions, DecodedImage, ImageFormat, ImageLimits, MediaError,
};
use takedown_signals::audio::{Stretch, StretchSet};
use takedown_signals::pdq::{self, Pdq, PdqDihedral};
use takedown_signals::text::{TextError, TextFingerprint};
use takedown_signals::vpdq::{VideoVariant, VpdqFeature};
use takedown_signals::{AudioFingerprint, Digests};

/// What to compute, and the decoding limits of every kind of media.
#[derive(Debug, Clone)]
pub struct HashOptions {
    /// Also compute the eight dihedral PDQ hashes (rotations and mirrors).
    pub dihedral: bool,
    /// Limits applied while decoding images.
    pub image_limits: ImageLimits,
    /// ffmpeg programs, container whitelist and limits (duration, frame count, frame size,
    /// wall-clock time) for videos.
    pub video: VideoOptions,
    /// vPDQ sampling (one frame per second by default).
    pub vpdq: VpdqOptions,
    /// Decoders and limits (duration, ffmpeg time) for audio.
    pub audio: AudioOptions,
    /// Also fingerprint a video's soundtrack as audio (default on).
    pub soundtrack: bool,
    /// Also fingerprint audio (and soundtracks) with these speed and tempo changes undone, for
    /// matching copies that were sped up or slowed down
    /// ([`AudioFingerprints::stretched`]). Matching asks for them; storing does not (banked
    /// fingerprints stay as they are). Default: none.
    pub audio_stretches: StretchSet,
}

impl Default for HashOptions {
    fn default() -> Self {
        HashOptions {
            dihedral: false,
            image_limits: ImageLimits::default(),
            video: VideoOptions::default(),
            vpdq: VpdqOptions::default(),
            audio: AudioOptions::default(),
            soundtrack: true,
            audio_stretches: StretchSet::none(),
        }
    }
}

/// Every fingerprint of one file.
#[derive(Debug, Clone)]
pub struct Fingerprints {
    /// Size of the input in bytes.
    pub size: u64,
    /// MD5 and SHA-256 of the raw bytes.
    pub digests: Digests,
    /// Fingerprints of the decoded content.
    pub media: MediaFingerprints,
}

/// Fingerprints that depend on the kind of media.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum MediaFingerprints {
    /// A still image.
    Image(ImageFingerprints),
    /// A video.
    Video(VideoFingerprints),
    /// Sound.
    Audio(AudioFingerprints),
    /// Plain text.
    Text(TextFingerprints),
}

/// Fingerprints of a still image.
#[derive(Debug, Clone)]
pub struct ImageFingerprints {
    /// The container format found from the magic bytes.
    pub format: ImageFormat,
    /// Width of the image as stored.
    pub width: u32,
    /// Height of the image as stored.
    pub height: u32,
    /// PDQ hash and quality. Quality below [`pdq::QUALITY_THRESHOLD`] is kept and reported.
    pub pdq: Pdq,
    /// The eight dihedral hashes, when asked for.
    pub dihedral: Option<PdqDihedral>,
    /// Decoder warnings about damaged data that did not stop decoding.
    pub warnings: Vec<String>,
}

/// Fingerprints of a video. Its MD5 (HMA's `video_md5`) and SHA-256 are
/// [`Fingerprints::digests`].
#[derive(Debug, Clone)]
pub struct VideoFingerprints {
    /// Header facts (container, codec, size, frame rate, duration).
    pub info: VideoInfo,
    /// vPDQ: one feature per sampled frame, in frame order.
    pub vpdq: Vec<VpdqFeature>,
    /// With [`VpdqOptions::variants`] (matching asks for them, storing does not): the
    /// features with a mirror or dark bars undone, frame for frame beside `vpdq`.
    pub variants: Vec<(VideoVariant, Vec<VpdqFeature>)>,
    /// The soundtrack's audio fingerprint, when the video has sound long enough to
    /// fingerprint (and [`HashOptions::soundtrack`] is on).
    pub soundtrack: Option<AudioFingerprints>,
    /// Decoder complaints that did not stop decoding, including a soundtrack that could not
    /// be decoded (the pictures' hashes stand without it).
    pub warnings: Vec<String>,
}

/// Fingerprints of sound.
#[derive(Debug, Clone)]
pub struct AudioFingerprints {
    /// The container found from the magic bytes.
    pub container: AudioContainer,
    /// Which decoder produced the samples.
    pub decoder: AudioDecoder,
    /// Seconds of decoded audio.
    pub duration_seconds: f64,
    /// The Chromaprint-style fingerprint.
    pub fingerprint: AudioFingerprint,
    /// The fingerprint with each of [`HashOptions::audio_stretches`] undone (all but
    /// [`Stretch::None`], which is [`AudioFingerprints::fingerprint`]); empty unless asked for.
    pub stretched: Vec<(Stretch, AudioFingerprint)>,
    /// Decoder warnings about damaged data that did not stop decoding.
    pub warnings: Vec<String>,
}

/// Fingerprints of a text.
#[derive(Debug, Clone)]
pub struct TextFingerprints {
    /// Characters in the text as given.
    pub characters: usize,
    /// Normalised text, its digest and its near-duplicate signature.
    pub text: TextFingerprint,
}

/// Why a file could not be fingerprinted.
#[derive(Debug, thiserror::Error)]
pub enum HashError {
    /// Empty input.
    #[error("the file is empty")]
    Empty,
    /// Not any kind of media takedown fingerprints. The wording keeps "not a supported image"
    /// first because that is what image-only clients have always been told.
    #[error("not a supported image, video, audio or text file: looks like {looks_like}")]
    Unsupported {
        /// What the bytes look like.
        looks_like: &'static str,
    },
    /// The file is of a kind the caller did not ask for (HMA's `photo` route given a video).
    #[error("expected {expected}, got {actual}")]
    WrongKind {
        /// What was expected.
        expected: String,
        /// What the bytes are.
        actual: MediaKind,
    },
    /// The bytes are an image but damaged or over the limits.
    #[error(transparent)]
    Media(#[from] MediaError),
    /// The bytes are a video but damaged, over the limits, or ffmpeg failed.
    #[error("video: {0}")]
    Video(#[from] VideoError),
    /// The bytes are audio but damaged, empty, over the limits, or the decoder failed.
    #[error("audio: {0}")]
    Audio(#[from] AudioError),
    /// The audio decodes but is too short for one sub-fingerprint.
    #[error(
        "audio: {seconds:.2} s of sound is too short to fingerprint (at least {:.1} s needed)",
        takedown_signals::audio::MIN_SAMPLES as f64 / takedown_signals::audio::SAMPLE_RATE as f64
    )]
    AudioTooShort {
        /// Seconds decoded.
        seconds: f64,
    },
    /// Text that is not valid UTF-8, or has no words.
    #[error("text: {0}")]
    Text(#[from] TextError),
    /// The text has no word left after normalisation (only spaces or punctuation).
    #[error("text: no words to fingerprint after normalisation")]
    NoWords,
}

impl HashError {
    /// Whether the input is over a configured size or length limit (HTTP 413 rather than 422).
    pub fn is_too_large(&self) -> bool {
        matches!(
            self,
            HashError::Media(MediaError::InputTooLarge { .. })
                | HashError::Video(VideoError::InputTooLarge { .. })
                | HashError::Audio(AudioError::InputTooLarge { .. })
        )
    }
}

impl Fingerprints {
    /// The kind of media.
    pub fn kind(&self) -> MediaKind {
        match &self.media {
            MediaFingerprints::Image(_) => MediaKind::Image,
            MediaFingerprints::Video(_) => MediaKind::Video,
            MediaFingerprints::Audio(_) => MediaKind::Audio,
            MediaFingerprints::Text(_) => MediaKind::Text,
        }
    }

    /// The image fingerprints, if the file is an image.
    pub fn image(&self) -> Option<&ImageFingerprints> {
        match &self.media {
            MediaFingerprints::Image(image) => Some(image),
            _ => None,
        }
    }

    /// The video fingerprints, if the file is a video.
    pub fn video(&self) -> Option<&VideoFingerprints> {
        match &self.media {
            MediaFingerprints::Video(video) => Some(video),
            _ => None,
        }
    }

    /// The audio fingerprints: of the file, if it is sound, or of its soundtrack, if it is a
    /// video with one.
    pub fn audio(&self) -> Option<&AudioFingerprints> {
        match &self.media {
            MediaFingerprints::Audio(audio) => Some(audio),
            MediaFingerprints::Video(video) => video.soundtrack.as_ref(),
            _ => None,
        }
    }

    /// The text fingerprints, if the file is text.
    pub fn text(&self) -> Option<&TextFingerprints> {
        match &self.media {
            MediaFingerprints::Text(text) => Some(text),
            _ => None,
        }
    }
}

/// Fingerprints a file held in memory, whatever kind of media it is.
pub fn fingerprint_bytes(bytes: &[u8], options: &HashOptions) -> Result<Fingerprints, HashError> {
    if bytes.is_empty() {
        return Err(HashError::Empty);
    }
    let media = match detect(bytes) {
        Detected::Image(_) => {
            let decoded = takedown_media::decode_image(bytes, &options.image_limits)?;
            MediaFingerprints::Image(image_fingerprints(decoded, options.dihedral))
        }
        Detected::Audio(_) => MediaFingerprints::Audio(audio_fingerprints(bytes, options)?),
        Detected::AudioOrVideo(_) => match video_fingerprints(bytes, options) {
            Ok(video) => MediaFingerprints::Video(video),
            // An MP4 or WebM without pictures is a sound file.
            Err(VideoError::NoVideoStream { .. }) => {
                MediaFingerprints::Audio(audio_fingerprints(bytes, options)?)
            }
            Err(error) => return Err(error.into()),
        },
        Detected::Text => MediaFingerprints::Text(text_fingerprints(bytes)?),
        Detected::NotUtf8 { offset } => {
            return Err(HashError::Text(TextError::InvalidUtf8 { offset }))
        }
        Detected::Unsupported(looks_like) => return Err(HashError::Unsupported { looks_like }),
    };
    Ok(Fingerprints {
        size: bytes.len() as u64,
        digests: Digests::of(bytes),
        media,
    })
}

/// [`fingerprint_bytes`], refusing files that are not of one of the `expected` kinds before
/// any decoding starts (HMA's routes say `photo` or `video`).
pub fn fingerprint_expecting(
    bytes: &[u8],
    expected: &[MediaKind],
    options: &HashOptions,
) -> Result<Fingerprints, HashError> {
    let actual = match detect(bytes) {
        Detected::Image(_) => Some(MediaKind::Image),
        Detected::Audio(_) => Some(MediaKind::Audio),
        Detected::Text | Detected::NotUtf8 { .. } => Some(MediaKind::Text),
        // Decided by probing; checked after hashing.
        Detected::AudioOrVideo(_) | Detected::Unsupported(_) => None,
    };
    let wrong = |actual: MediaKind| HashError::WrongKind {
        expected: expected
            .iter()
            .map(|kind| kind.name())
            .collect::<Vec<_>>()
            .join(" or "),
        actual,
    };
    if let Some(actual) = actual.filter(|kind| !expected.contains(kind)) {
        return Err(wrong(actual));
    }
    let fingerprints = fingerprint_bytes(bytes, options)?;
    if !expected.contains(&fingerprints.kind()) {
        return Err(wrong(fingerprints.kind()));
    }
    Ok(fingerprints)
}

fn image_fingerprints(decoded: DecodedImage, dihedral: bool) -> ImageFingerprints {
    // The plain hash is computed on its own even when the dihedral set is asked for: the
    // reference skips the box filter for 64x64 inputs on the plain path only, so the two
    // "original" hashes can differ in the last bits for such images.
    let pdq = pdq::hash_image(&decoded.image);
    let dihedral = dihedral.then(|| pdq::dihedral_image(&decoded.image));
    ImageFingerprints {
        format: decoded.format,
        width: decoded.width,
        height: decoded.height,
        pdq,
        dihedral,
        warnings: decoded.warnings,
    }
}

fn video_fingerprints(
    bytes: &[u8],
    options: &HashOptions,
) -> Result<VideoFingerprints, VideoError> {
    let hashes =
        takedown_media::video::hash_vpdq(VideoInput::Bytes(bytes), &options.vpdq, &options.video)?;
    let mut warnings = hashes.warnings;
    let soundtrack = if options.soundtrack && hashes.info.has_audio {
        match audio_fingerprints(bytes, options) {
            Ok(audio) => Some(audio),
            // A jingle of a second or two: nothing to fingerprint, and nothing wrong.
            Err(HashError::AudioTooShort { .. }) => None,
            Err(error) => {
                warnings.push(format!("soundtrack not fingerprinted: {error}"));
                None
            }
        }
    } else {
        None
    };
    Ok(VideoFingerprints {
        info: hashes.info,
        vpdq: hashes.features,
        variants: hashes.variants,
        soundtrack,
        warnings,
    })
}

fn audio_fingerprints(bytes: &[u8], options: &HashOptions) -> Result<AudioFingerprints, HashError> {
    let decoded = takedown_media::decode_audio(bytes, &options.audio)?;
    let duration_seconds = decoded.duration().as_secs_f64();
    let mut fingerprint = AudioFingerprint::default();
    let mut stretched = Vec::new();
    // The plain fingerprint and the stretched ones in one pass (tempo variants share the
    // plain chroma image).
    let mut wanted = vec![Stretch::None];
    wanted.extend(
        (options.audio_stretches.variants.iter()).filter(|stretch| **stretch != Stretch::None),
    );
    let set = StretchSet { variants: wanted };
    for (stretch, print) in takedown_signals::audio::fingerprint_variants(&decoded.samples, &set) {
        if stretch == Stretch::None {
            fingerprint = print;
        } else if !print.is_empty() {
            stretched.push((stretch, print));
        }
    }
    if fingerprint.is_empty() {
        return Err(HashError::AudioTooShort {
            seconds: duration_seconds,
        });
    }
    Ok(AudioFingerprints {
        container: decoded.container,
        decoder: decoded.decoder,
        duration_seconds,
        fingerprint,
        stretched,
        warnings: decoded.warnings,
    })
}

fn text_fingerprints(bytes: &[u8]) -> Result<TextFingerprints, HashError> {
    let text = takedown_signals::text::decode_utf8(bytes)?;
    let fingerprint = takedown_signals::text::fingerprint(text);
    if fingerprint.normalized.is_empty() {
        return Err(HashError::NoWords);
    }
    Ok(TextFingerprints {
        characters: text.chars().count(),
        text: fingerprint,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_and_garbage_input_are_errors_not_panics() {
        let options = HashOptions::default();
        assert!(matches!(
            fingerprint_bytes(b"", &options),
            Err(HashError::Empty)
        ));
        let error = fingerprint_bytes(b"<!doctype html><html></html>", &options).unwrap_err();
        assert!(
            error.to_string().contains("not a supported image"),
            "{error}"
        );
    }

    #[test]
    fn text_is_fingerprinted_and_bad_text_named() {
        let options = HashOptions::default();
        let statement = "بيانٌ صادر عن المكتب الإعلامي: The office announces a new release.";
        let fingerprints = fingerprint_bytes(statement.as_bytes(), &options).unwrap();
        assert_eq!(fingerprints.kind(), MediaKind::Text);
        let text = fingerprints.text().unwrap();
        assert_eq!(
            text.text.digest,
            takedown_signals::text::fingerprint(statement).digest
        );
        assert!(!text.text.signature.is_empty());
        let error = fingerprint_bytes(b"The office \xff\xfe announces", &options).unwrap_err();
        assert!(
            error.to_string().contains("UTF-8") && error.to_string().contains("11"),
            "{error}"
        );
        assert!(matches!(
            fingerprint_bytes(b" ... !!! ", &options),
            Err(HashError::NoWords)
        ));
        let error =
            fingerprint_expecting(statement.as_bytes(), &[MediaKind::Image], &options).unwrap_err();
        assert_eq!(error.to_string(), "expected image, got text");
    }

    #[test]
    fn zero_length_audio_is_an_error() {
        // A WAV header that declares no samples.
        let mut wav = Vec::new();
        wav.extend_from_slice(b"RIFF");
        wav.extend_from_slice(&36u32.to_le_bytes());
        wav.extend_from_slice(b"WAVEfmt ");
        wav.extend_from_slice(&16u32.to_le_bytes());
        wav.extend_from_slice(&1u16.to_le_bytes()); // PCM
        wav.extend_from_slice(&1u16.to_le_bytes()); // mono
        wav.extend_from_slice(&8000u32.to_le_bytes());
        wav.extend_from_slice(&16000u32.to_le_bytes());
        wav.extend_from_slice(&2u16.to_le_bytes());
        wav.extend_from_slice(&16u16.to_le_bytes());
        wav.extend_from_slice(b"data");
        wav.extend_from_slice(&0u32.to_le_bytes());
        let error = fingerprint_bytes(&wav, &HashOptions::default()).unwrap_err();
        assert!(error.to_string().starts_with("audio: "), "{error}");
    }
}
