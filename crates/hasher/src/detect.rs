//! What a file is, from its first bytes: an image, a video, an audio file or plain text.
//!
//! File names, extensions and uploaders' MIME types are never looked at. Containers that can
//! hold either pictures or only sound (MP4, Matroska/WebM, AVI, FLV, MPEG-TS, ASF, Ogg with
//! Theora) are [`Detected::AudioOrVideo`]: the hasher asks ffprobe whether a video stream is
//! there and falls back to the audio path when it is not, so an M4A bulletin and an MP4 clip
//! both land where they belong.

use takedown_media::audio::{sniff_audio, AudioContainer};
use takedown_media::{ImageFormat, Sniffed};

/// The kinds of media takedown fingerprints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MediaKind {
    /// A still image (PDQ).
    Image,
    /// A video (vPDQ and the file's digests, HMA's `video_md5`).
    Video,
    /// Sound (the Chromaprint-style audio fingerprint).
    Audio,
    /// Plain UTF-8 text (normalised digest and near-duplicate signature).
    Text,
}

impl MediaKind {
    /// Every kind.
    pub const ALL: [MediaKind; 4] = [
        MediaKind::Image,
        MediaKind::Video,
        MediaKind::Audio,
        MediaKind::Text,
    ];

    /// Lower-case name used on the wire (`kind` in JSON output) and in messages.
    pub const fn name(self) -> &'static str {
        match self {
            MediaKind::Image => "image",
            MediaKind::Video => "video",
            MediaKind::Audio => "audio",
            MediaKind::Text => "text",
        }
    }
}

impl std::fmt::Display for MediaKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for MediaKind {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let lower = text.trim().to_ascii_lowercase();
        MediaKind::ALL
            .into_iter()
            .find(|kind| kind.name() == lower)
            // HMA calls images "photo".
            .or((lower == "photo").then_some(MediaKind::Image))
            .ok_or_else(|| format!("unknown media kind {text:?}; known: image, video, audio, text"))
    }
}

/// What the leading bytes say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detected {
    /// An image format takedown decodes.
    Image(ImageFormat),
    /// A container that only ever holds sound (WAV, FLAC, MP3, AAC, Ogg Vorbis/Opus, M4A).
    Audio(AudioContainer),
    /// A container that may hold a video stream, sound, or both.
    AudioOrVideo(AudioContainer),
    /// Text that is valid UTF-8.
    Text,
    /// Looks like text (no NUL bytes, no known signature) but is not valid UTF-8.
    NotUtf8 {
        /// Offset of the first byte that is not valid UTF-8.
        offset: usize,
    },
    /// Something else, with a short description ("PDF document", "HTML document", ...).
    Unsupported(&'static str),
}

/// Identifies `bytes` by magic numbers and, failing those, by whether they are UTF-8 text.
pub fn detect(bytes: &[u8]) -> Detected {
    let other = match takedown_media::sniff(bytes) {
        Sniffed::Image(format) => return Detected::Image(format),
        Sniffed::Other(what) => what,
    };
    if let Ok(container) = sniff_audio(bytes) {
        return if may_hold_video(container, bytes) {
            Detected::AudioOrVideo(container)
        } else {
            Detected::Audio(container)
        };
    }
    // Markup is refused rather than hashed as a statement: it is almost always an error page
    // or a web page saved in place of the media, and its tags would swamp the words.
    if matches!(
        other,
        "HTML document" | "XML document" | "SVG image (not supported)"
    ) {
        return Detected::Unsupported(other);
    }
    if !matches!(
        other,
        "plain text" | "JSON or other text" | "unknown format"
    ) {
        return Detected::Unsupported(other);
    }
    // A NUL byte never occurs in a text statement; it does in every binary format.
    let head = &bytes[..bytes.len().min(64 * 1024)];
    if head.contains(&0) {
        return Detected::Unsupported("unknown binary format");
    }
    match std::str::from_utf8(bytes) {
        Ok(_) => Detected::Text,
        Err(error) => Detected::NotUtf8 {
            offset: error.valid_up_to(),
        },
    }
}

/// Whether a recognised audio container may carry a video stream.
fn may_hold_video(container: AudioContainer, bytes: &[u8]) -> bool {
    match container {
        AudioContainer::Mp4 => {
            // Brands that only ever hold sound (iTunes audio, audiobooks, Flash audio).
            let brand = &bytes[8..12];
            !matches!(brand, b"M4A " | b"M4B " | b"M4P " | b"F4A " | b"F4B ")
        }
        AudioContainer::OggOther => {
            let head = &bytes[..bytes.len().min(256)];
            head.windows(7).any(|w| w == b"\x80theora")
        }
        AudioContainer::Matroska | AudioContainer::Other => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_by_content_not_name() {
        assert_eq!(
            detect(b"\x89PNG\r\n\x1a\n...."),
            Detected::Image(ImageFormat::Png)
        );
        let mut wav = b"RIFF\0\0\0\0WAVEfmt ".to_vec();
        wav.extend_from_slice(&[0; 32]);
        assert_eq!(detect(&wav), Detected::Audio(AudioContainer::Wav));
        assert_eq!(
            detect(b"\0\0\0\x20ftypisom\0\0\x02\0isomiso2avc1mp41"),
            Detected::AudioOrVideo(AudioContainer::Mp4)
        );
        assert_eq!(
            detect(b"\0\0\0\x20ftypM4A \0\0\x02\0M4A mp42isom"),
            Detected::Audio(AudioContainer::Mp4)
        );
        assert_eq!(
            detect(b"\x1aE\xdf\xa3\x01\0\0\0"),
            Detected::AudioOrVideo(AudioContainer::Matroska)
        );
        assert_eq!(detect("بيان صادر عن الوكالة".as_bytes()), Detected::Text);
        assert_eq!(detect(b"Statement {1}"), Detected::Text);
        assert_eq!(detect(b"caf\xe9 au lait"), Detected::NotUtf8 { offset: 3 });
        assert_eq!(
            detect(b"<!doctype html><html></html>"),
            Detected::Unsupported("HTML document")
        );
        assert_eq!(detect(b"%PDF-1.7"), Detected::Unsupported("PDF document"));
        assert_eq!(
            detect(b"\x01\x02\0\x03"),
            Detected::Unsupported("unknown binary format")
        );
    }

    #[test]
    fn kind_names_round_trip() {
        for kind in MediaKind::ALL {
            assert_eq!(kind.name().parse::<MediaKind>(), Ok(kind));
        }
        assert_eq!("photo".parse::<MediaKind>(), Ok(MediaKind::Image));
        assert!("tmk".parse::<MediaKind>().is_err());
    }
}
