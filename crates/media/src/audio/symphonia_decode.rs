//! The in-process decoder: symphonia for WAV, FLAC, MP3, AAC/M4A and Ogg Vorbis.

use super::{AudioContainer, AudioDecoder, AudioError, AudioLimits, DecodedAudio, MonoSink};
use symphonia::core::audio::SampleBuffer;
use symphonia::core::codecs::{DecoderOptions, CODEC_TYPE_NULL};
use symphonia::core::errors::Error;
use symphonia::core::formats::FormatOptions;
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::{Limit, MetadataOptions};
use symphonia::core::probe::Hint;

/// Damaged packets tolerated (skipped, with a warning) before the stream counts as corrupt:
/// a few bad frames in a long MP3 are common and harmless to a fingerprint; many are not.
const MAX_DAMAGED_PACKETS: usize = 8;

/// symphonia's answer: unsupported (try ffmpeg) or a final error.
pub(crate) enum Failure {
    Unsupported(String),
    Error(AudioError),
}

impl From<AudioError> for Failure {
    fn from(e: AudioError) -> Self {
        Failure::Error(e)
    }
}

pub(crate) fn decode(
    bytes: &[u8],
    container: AudioContainer,
    limits: &AudioLimits,
) -> Result<DecodedAudio, Failure> {
    let corrupt = |detail: String| Failure::Error(AudioError::Corrupt { container, detail });
    // symphonia wants an owned, 'static source; one copy of the input is the price.
    let source = std::io::Cursor::new(bytes.to_vec());
    let stream = MediaSourceStream::new(Box::new(source), Default::default());
    let mut hint = Hint::new();
    hint.with_extension(container.extension());
    let metadata = MetadataOptions {
        // Cover art and tags are never needed; bound what a hostile tag can make us hold.
        limit_metadata_bytes: Limit::Maximum(1 << 20),
        limit_visual_bytes: Limit::Maximum(0),
    };
    let format_options = FormatOptions {
        enable_gapless: true,
        ..Default::default()
    };
    let probed = symphonia::default::get_probe()
        .format(&hint, stream, &format_options, &metadata)
        .map_err(|e| match e {
            Error::Unsupported(what) => Failure::Unsupported(what.to_string()),
            other => corrupt(format!("cannot read the container: {other}")),
        })?;
    let mut reader = probed.format;
    let Some(track) = reader
        .tracks()
        .iter()
        .find(|t| t.codec_params.codec != CODEC_TYPE_NULL)
        .cloned()
    else {
        return Err(Failure::Error(AudioError::NoAudioTrack { container }));
    };
    let params = &track.codec_params;
    let Some(rate) = params
        .sample_rate
        .filter(|&r| (1000..=768_000).contains(&r))
    else {
        return Err(corrupt(format!(
            "missing or implausible sample rate {:?}",
            params.sample_rate
        )));
    };
    // Refuse from the header when it states the length, before decoding anything.
    if let Some(frames) = params.n_frames {
        if frames as f64 / f64::from(rate) > limits.max_duration.as_secs_f64() {
            return Err(Failure::Error(too_long(container, limits)));
        }
    }
    let mut decoder = symphonia::default::get_codecs()
        .make(params, &DecoderOptions::default())
        .map_err(|e| match e {
            Error::Unsupported(what) => Failure::Unsupported(what.to_string()),
            other => corrupt(format!("cannot start the decoder: {other}")),
        })?;

    let mut sink = MonoSink::new(rate, limits.max_duration);
    let mut warnings = Vec::new();
    let mut channels = params.channels.map(|c| c.count()).unwrap_or(0);
    let mut buffer: Option<SampleBuffer<f32>> = None;
    loop {
        let packet = match reader.next_packet() {
            Ok(packet) => packet,
            // The normal end of a stream, and also a truncated one: keep what was decoded.
            Err(Error::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(Error::ResetRequired) => break,
            Err(Error::DecodeError(what)) => {
                warnings.push(format!("damaged container data skipped: {what}"));
                if warnings.len() > MAX_DAMAGED_PACKETS {
                    return Err(corrupt(format!("too many damaged packets ({what})")));
                }
                continue;
            }
            Err(other) => return Err(corrupt(other.to_string())),
        };
        if packet.track_id() != track.id {
            continue;
        }
        let decoded = match decoder.decode(&packet) {
            Ok(decoded) => decoded,
            Err(Error::DecodeError(what)) => {
                warnings.push(format!("damaged packet skipped: {what}"));
                if warnings.len() > MAX_DAMAGED_PACKETS {
                    return Err(corrupt(format!("too many damaged packets ({what})")));
                }
                continue;
            }
            Err(Error::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(Error::Unsupported(what)) => return Err(Failure::Unsupported(what.to_string())),
            Err(other) => return Err(corrupt(other.to_string())),
        };
        let spec = *decoded.spec();
        if spec.rate != rate {
            return Err(corrupt(format!(
                "sample rate changes mid-stream ({rate} Hz to {} Hz)",
                spec.rate
            )));
        }
        channels = spec.channels.count();
        let capacity = decoded.capacity() as u64;
        let samples = match &mut buffer {
            Some(b) if b.capacity() >= decoded.capacity() * channels => b,
            slot => slot.insert(SampleBuffer::new(capacity, spec)),
        };
        samples.copy_interleaved_ref(decoded);
        if sink.push(samples.samples(), channels).is_err() {
            return Err(Failure::Error(too_long(container, limits)));
        }
    }
    let (samples, source_rate) = sink.finish();
    Ok(DecodedAudio {
        samples,
        sample_rate: takedown_signals::audio::SAMPLE_RATE,
        container,
        source_sample_rate: source_rate,
        source_channels: u16::try_from(channels).unwrap_or(u16::MAX),
        decoder: AudioDecoder::Symphonia,
        warnings,
    })
}

pub(crate) fn too_long(container: AudioContainer, limits: &AudioLimits) -> AudioError {
    AudioError::TooLong {
        container,
        limit_seconds: limits.max_duration.as_secs(),
    }
}
