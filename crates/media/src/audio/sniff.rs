//! Audio container detection from magic bytes (names and MIME types are never trusted).

use std::fmt;

/// Containers recognised by their first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AudioContainer {
    /// RIFF/WAVE (PCM or float).
    Wav,
    /// Native FLAC.
    Flac,
    /// MPEG audio (layer III; ID3-tagged or bare frames).
    Mp3,
    /// AAC in ADTS frames.
    Adts,
    /// MP4/M4A/MOV/3GP (ISO base media).
    Mp4,
    /// Ogg with Vorbis.
    OggVorbis,
    /// Ogg with Opus.
    OggOpus,
    /// Ogg with another codec (FLAC, Speex, ...).
    OggOther,
    /// Matroska or WebM.
    Matroska,
    /// Something else that may be audio or video (AMR, AIFF, FLV, MPEG-TS, AVI, ASF, CAF, AC-3);
    /// left to ffmpeg.
    Other,
}

impl AudioContainer {
    /// Name used in messages.
    pub const fn name(self) -> &'static str {
        match self {
            AudioContainer::Wav => "WAV",
            AudioContainer::Flac => "FLAC",
            AudioContainer::Mp3 => "MP3",
            AudioContainer::Adts => "AAC (ADTS)",
            AudioContainer::Mp4 => "MP4/M4A",
            AudioContainer::OggVorbis => "Ogg Vorbis",
            AudioContainer::OggOpus => "Ogg Opus",
            AudioContainer::OggOther => "Ogg",
            AudioContainer::Matroska => "Matroska/WebM",
            AudioContainer::Other => "audio/video",
        }
    }

    /// Whether the in-process decoder is tried first.
    pub const fn symphonia_reads(self) -> bool {
        matches!(
            self,
            AudioContainer::Wav
                | AudioContainer::Flac
                | AudioContainer::Mp3
                | AudioContainer::Adts
                | AudioContainer::Mp4
                | AudioContainer::OggVorbis
        )
    }

    /// A file-name extension that symphonia's prober accepts as a hint.
    pub(crate) const fn extension(self) -> &'static str {
        match self {
            AudioContainer::Wav => "wav",
            AudioContainer::Flac => "flac",
            AudioContainer::Mp3 => "mp3",
            AudioContainer::Adts => "aac",
            AudioContainer::Mp4 => "m4a",
            AudioContainer::OggVorbis | AudioContainer::OggOpus | AudioContainer::OggOther => "ogg",
            AudioContainer::Matroska => "mkv",
            AudioContainer::Other => "bin",
        }
    }
}

impl fmt::Display for AudioContainer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Identifies an audio or video container from its first bytes; for anything else, says what
/// the bytes look like (an image, an HTML page, ...).
pub fn sniff_audio(b: &[u8]) -> Result<AudioContainer, &'static str> {
    let starts = |magic: &[u8]| b.starts_with(magic);
    if b.len() >= 12 && starts(b"RIFF") {
        return match &b[8..12] {
            b"WAVE" => Ok(AudioContainer::Wav),
            b"AVI " => Ok(AudioContainer::Other),
            _ => Err(describe(b)),
        };
    }
    if starts(b"fLaC") {
        return Ok(AudioContainer::Flac);
    }
    if starts(b"OggS") {
        let head = &b[..b.len().min(64)];
        let has = |needle: &[u8]| head.windows(needle.len()).any(|w| w == needle);
        return Ok(if has(b"OpusHead") {
            AudioContainer::OggOpus
        } else if has(b"\x01vorbis") {
            AudioContainer::OggVorbis
        } else {
            AudioContainer::OggOther
        });
    }
    if starts(b"ID3") {
        return Ok(AudioContainer::Mp3);
    }
    if b.len() >= 12 && &b[4..8] == b"ftyp" {
        return match &b[8..12] {
            b"avif" | b"avis" | b"heic" | b"heix" | b"mif1" | b"msf1" => Err(describe(b)),
            _ => Ok(AudioContainer::Mp4),
        };
    }
    if starts(b"\x1aE\xdf\xa3") {
        return Ok(AudioContainer::Matroska);
    }
    if b.len() >= 2 && b[0] == 0xFF && b[1] & 0xF0 == 0xF0 && b[1] & 0x06 == 0 {
        // Sync word with layer bits 00: ADTS.
        return Ok(AudioContainer::Adts);
    }
    if b.len() >= 4 && b[0] == 0xFF && b[1] & 0xE0 == 0xE0 && b[1] & 0x06 != 0 {
        // MPEG audio frame sync with a layer; check the bitrate and rate fields are not the
        // reserved values so that random binary is less likely to pass.
        let bitrate = b[2] >> 4;
        let rate = (b[2] >> 2) & 0x03;
        if bitrate != 0x0F && rate != 0x03 {
            return Ok(AudioContainer::Mp3);
        }
    }
    const OTHERS: &[&[u8]] = &[
        b"#!AMR",      // AMR-NB/WB
        b"FORM",       // AIFF
        b"FLV\x01",    // Flash video
        b"caff",       // Core Audio
        b"0&\xb2\x75", // ASF/WMA
        b"\x0b\x77",   // AC-3
        b".snd",       // Sun audio
        b"wvpk",       // WavPack
        b"MAC ",       // Monkey's Audio
    ];
    if OTHERS.iter().any(|m| starts(m)) {
        return Ok(AudioContainer::Other);
    }
    if b.len() >= 189 && b[0] == 0x47 && b[188] == 0x47 {
        return Ok(AudioContainer::Other); // MPEG transport stream
    }
    Err(describe(b))
}

/// What non-audio bytes look like, using the image sniffer's descriptions.
fn describe(b: &[u8]) -> &'static str {
    match crate::sniff(b) {
        crate::Sniffed::Image(format) => match format {
            crate::ImageFormat::Jpeg => "JPEG image",
            crate::ImageFormat::Png => "PNG image",
            crate::ImageFormat::WebP => "WebP image",
            crate::ImageFormat::Gif => "GIF image",
            crate::ImageFormat::Bmp => "BMP image",
        },
        crate::Sniffed::Other(what) => what,
    }
}
