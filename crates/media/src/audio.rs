//! Audio decoding for takedown: file bytes in, mono `f32` samples at 11,025 Hz (the audio
//! fingerprint's rate, `takedown_signals::audio::SAMPLE_RATE`) out, under limits.
//!
//! # Two decoders, one output
//!
//! * **symphonia** (pure Rust, in process) reads WAV, FLAC, MP3, AAC (ADTS and MP4/M4A) and
//!   Ogg Vorbis: the formats radio bulletins and re-uploads mostly come in. Its decoders are
//!   memory-safe, so a hostile file can at worst make them return an error.
//! * **ffmpeg**, run as a separate process, reads everything else: Opus (symphonia 0.5 has no
//!   Opus decoder), WebM/Matroska, AMR, the audio of video files, and anything symphonia
//!   refuses as unsupported. A child process is the isolation boundary: if ffmpeg crashes,
//!   hangs or is exploited, the caller gets [`AudioError::Ffmpeg`] or
//!   [`AudioError::FfmpegTimeout`] and the server keeps running. The child gets the input as a
//!   private temporary file (MP4 files may need seeking, which a pipe cannot do), is limited to
//!   the `file` protocol and a list of demuxers (so a playlist cannot make it fetch URLs or read
//!   other local files), is killed at the wall-clock limit, and its output is cut at the
//!   duration limit.
//!
//! Channels are averaged to mono, then resampled with
//! `takedown_signals::audio::Resampler` (a deterministic windowed sinc, streaming, so hours of
//! input are never held at the source rate). ffmpeg is asked for 44,100 Hz mono `f32`, so its
//! output goes through the same final resampling step (44,100 to 11,025 Hz is an exact 4:1).
//!
//! # Limits and errors
//!
//! [`AudioLimits`]: bytes in, seconds of audio out (checked from the header when it states a
//! length, and while decoding in any case), ffmpeg's wall-clock time. Errors name the
//! problem: empty input, not audio (and what it looks like instead), zero-length audio, a
//! corrupt stream (with the decoder's words), too long, ffmpeg missing or failing.

mod ffmpeg;
mod sniff;
mod symphonia_decode;

use std::path::PathBuf;
use std::time::Duration;

pub use sniff::{sniff_audio, AudioContainer};
use takedown_signals::audio::{Resampler, SAMPLE_RATE};

/// Resource limits of one audio decode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudioLimits {
    /// Largest input accepted, in bytes.
    pub max_input_bytes: usize,
    /// Longest audio accepted. Longer files are refused, not cut: a fingerprint of the first
    /// part would silently miss everything after it.
    pub max_duration: Duration,
    /// Wall-clock time ffmpeg may take before it is killed.
    pub ffmpeg_timeout: Duration,
}

impl Default for AudioLimits {
    /// 1 GiB, 4 hours (a long bulletin or sermon is one to two), 5 minutes of ffmpeg time
    /// (decoding 4 hours of Opus takes well under a minute on one core).
    fn default() -> Self {
        AudioLimits {
            max_input_bytes: 1 << 30,
            max_duration: Duration::from_secs(4 * 3600),
            ffmpeg_timeout: Duration::from_secs(300),
        }
    }
}

/// Limits plus the choice of decoders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudioOptions {
    /// Resource limits.
    pub limits: AudioLimits,
    /// The ffmpeg program to run for formats symphonia cannot read; `None` disables ffmpeg
    /// (such files are then refused with [`AudioError::NeedsFfmpeg`]).
    pub ffmpeg: Option<PathBuf>,
}

impl Default for AudioOptions {
    /// Default limits; ffmpeg from `PATH`.
    fn default() -> Self {
        AudioOptions {
            limits: AudioLimits::default(),
            ffmpeg: Some(PathBuf::from("ffmpeg")),
        }
    }
}

/// Which decoder produced the samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AudioDecoder {
    /// symphonia, in process.
    Symphonia,
    /// ffmpeg, in a child process.
    Ffmpeg,
}

/// Decoded audio: mono samples at [`SAMPLE_RATE`] and facts about the source.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct DecodedAudio {
    /// Mono samples at `sample_rate`, full scale 1.0.
    pub samples: Vec<f32>,
    /// Always `takedown_signals::audio::SAMPLE_RATE` (11,025 Hz).
    pub sample_rate: u32,
    /// The container found from the magic bytes.
    pub container: AudioContainer,
    /// The source's sample rate in Hz (for ffmpeg: 44,100, the rate it was asked for).
    pub source_sample_rate: u32,
    /// The source's channel count (0 when ffmpeg decoded it: ffmpeg mixes down itself).
    pub source_channels: u16,
    /// The decoder used.
    pub decoder: AudioDecoder,
    /// Damaged packets skipped while decoding (at most a few; more is an error).
    pub warnings: Vec<String>,
}

impl DecodedAudio {
    /// Length of the decoded audio.
    pub fn duration(&self) -> Duration {
        Duration::from_secs_f64(self.samples.len() as f64 / f64::from(self.sample_rate))
    }
}

/// Why bytes could not be turned into samples.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AudioError {
    /// The input had no bytes.
    #[error("empty input: zero bytes")]
    Empty,
    /// The input is over [`AudioLimits::max_input_bytes`].
    #[error("input is {size} bytes, more than the limit of {limit} bytes")]
    InputTooLarge {
        /// Bytes supplied.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The bytes are not audio (or a video) in any format we recognise.
    #[error("not audio: looks like {looks_like}")]
    NotAudio {
        /// What the bytes look like instead.
        looks_like: &'static str,
    },
    /// The file holds no audio track.
    #[error("{container} file has no audio track")]
    NoAudioTrack {
        /// The container.
        container: AudioContainer,
    },
    /// The file decodes to no samples at all.
    #[error("{container} file contains zero-length audio")]
    ZeroLength {
        /// The container.
        container: AudioContainer,
    },
    /// The audio is longer than [`AudioLimits::max_duration`].
    #[error("{container} audio is longer than the limit of {limit_seconds} s")]
    TooLong {
        /// The container.
        container: AudioContainer,
        /// The limit in seconds.
        limit_seconds: u64,
    },
    /// The stream is damaged.
    #[error("corrupt {container} stream: {detail}")]
    Corrupt {
        /// The container.
        container: AudioContainer,
        /// What the decoder reported.
        detail: String,
    },
    /// The format needs ffmpeg and ffmpeg is disabled.
    #[error("{container} audio needs ffmpeg, which is disabled")]
    NeedsFfmpeg {
        /// The container.
        container: AudioContainer,
    },
    /// The ffmpeg program could not be started.
    #[error("cannot run ffmpeg ({program}): {detail}; install ffmpeg (Debian: apt-get install ffmpeg) or configure its path")]
    FfmpegMissing {
        /// The program that was tried.
        program: String,
        /// The operating system's error.
        detail: String,
    },
    /// ffmpeg ran and failed (bad input, or it crashed).
    #[error("ffmpeg could not decode the {container} file ({status}): {stderr}")]
    Ffmpeg {
        /// The container.
        container: AudioContainer,
        /// Exit status or signal.
        status: String,
        /// The end of ffmpeg's error output.
        stderr: String,
    },
    /// ffmpeg took longer than [`AudioLimits::ffmpeg_timeout`] and was killed.
    #[error("ffmpeg took longer than {seconds} s on the {container} file and was stopped")]
    FfmpegTimeout {
        /// The container.
        container: AudioContainer,
        /// The limit in seconds.
        seconds: u64,
    },
    /// A local I/O problem (temporary file, pipes).
    #[error("I/O error while decoding audio: {0}")]
    Io(String),
}

/// Decodes an audio (or video) file into mono samples at 11,025 Hz.
pub fn decode_audio(bytes: &[u8], options: &AudioOptions) -> Result<DecodedAudio, AudioError> {
    if bytes.is_empty() {
        return Err(AudioError::Empty);
    }
    let limits = &options.limits;
    if bytes.len() > limits.max_input_bytes {
        return Err(AudioError::InputTooLarge {
            size: bytes.len(),
            limit: limits.max_input_bytes,
        });
    }
    let container = match sniff_audio(bytes) {
        Ok(container) => container,
        Err(looks_like) => return Err(AudioError::NotAudio { looks_like }),
    };
    let result = if container.symphonia_reads() {
        match symphonia_decode::decode(bytes, container, limits) {
            // symphonia knows the container but not this codec or feature (HE-AAC v2, an MP4
            // with an Opus track, ...): ffmpeg may.
            Err(symphonia_decode::Failure::Unsupported(detail)) => match &options.ffmpeg {
                Some(program) => ffmpeg::decode(bytes, container, limits, program),
                None => Err(AudioError::Corrupt {
                    container,
                    detail: format!("unsupported by the built-in decoder: {detail}"),
                }),
            },
            Err(symphonia_decode::Failure::Error(e)) => Err(e),
            Ok(decoded) => Ok(decoded),
        }
    } else {
        match &options.ffmpeg {
            Some(program) => ffmpeg::decode(bytes, container, limits, program),
            None => Err(AudioError::NeedsFfmpeg { container }),
        }
    }?;
    if result.samples.is_empty() {
        return Err(AudioError::ZeroLength { container });
    }
    Ok(result)
}

/// Mixes interleaved frames down to mono and feeds them to the resampler, counting source
/// frames against the duration limit. Shared by both decoders.
pub(crate) struct MonoSink {
    resampler: Option<Resampler>,
    pub(crate) out: Vec<f32>,
    pub(crate) source_rate: u32,
    frames: u64,
    max_frames: u64,
    scratch: Vec<f32>,
}

impl MonoSink {
    pub(crate) fn new(source_rate: u32, max_duration: Duration) -> Self {
        let to = f64::from(SAMPLE_RATE);
        MonoSink {
            resampler: if source_rate == SAMPLE_RATE {
                None
            } else {
                Resampler::new(f64::from(source_rate), to)
            },
            out: Vec::new(),
            source_rate,
            frames: 0,
            max_frames: (max_duration.as_secs_f64() * f64::from(source_rate)).ceil() as u64,
            scratch: Vec::new(),
        }
    }

    /// Adds interleaved samples of `channels` channels. `Err(())` once the audio is longer than
    /// the limit.
    pub(crate) fn push(&mut self, interleaved: &[f32], channels: usize) -> Result<(), ()> {
        let channels = channels.max(1);
        let frames = interleaved.len() / channels;
        self.frames += frames as u64;
        if self.frames > self.max_frames {
            return Err(());
        }
        self.scratch.clear();
        if channels == 1 {
            self.scratch.extend_from_slice(&interleaved[..frames]);
        } else {
            let scale = 1.0 / channels as f32;
            self.scratch.extend(
                interleaved
                    .chunks_exact(channels)
                    .map(|frame| frame.iter().sum::<f32>() * scale),
            );
        }
        // Decoders may hand out NaN or infinities for damaged frames; they would poison every
        // spectrum they touch, so they become silence.
        for x in &mut self.scratch {
            if !x.is_finite() {
                *x = 0.0;
            }
        }
        match &mut self.resampler {
            Some(r) => r.push(&self.scratch, &mut self.out),
            None => self.out.extend_from_slice(&self.scratch),
        }
        Ok(())
    }

    pub(crate) fn finish(mut self) -> (Vec<f32>, u32) {
        if let Some(r) = self.resampler.take() {
            r.finish(&mut self.out);
        }
        (self.out, self.source_rate)
    }
}
