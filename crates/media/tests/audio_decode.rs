//! Audio decoding: formats, downmix and resampling, limits, and errors that name the problem.
//! The last tests run ffmpeg (Debian: `apt-get install ffmpeg`) to make MP3 and Opus files and
//! fail with that instruction when it is missing.

use std::time::Duration;
use takedown_media::audio::AudioContainer;
use takedown_media::{decode_audio, AudioError, AudioLimits, AudioOptions};
use takedown_signals::audio::{bit_error_rate, fingerprint};

/// A 16-bit PCM WAV file of interleaved samples.
fn wav(samples: &[f32], rate: u32, channels: u16) -> Vec<u8> {
    let data_len = (samples.len() * 2) as u32;
    let mut b = Vec::new();
    b.extend_from_slice(b"RIFF");
    b.extend_from_slice(&(36 + data_len).to_le_bytes());
    b.extend_from_slice(b"WAVEfmt ");
    b.extend_from_slice(&16u32.to_le_bytes());
    b.extend_from_slice(&1u16.to_le_bytes());
    b.extend_from_slice(&channels.to_le_bytes());
    b.extend_from_slice(&rate.to_le_bytes());
    b.extend_from_slice(&(rate * 2 * u32::from(channels)).to_le_bytes());
    b.extend_from_slice(&(2 * channels).to_le_bytes());
    b.extend_from_slice(&16u16.to_le_bytes());
    b.extend_from_slice(b"data");
    b.extend_from_slice(&data_len.to_le_bytes());
    for &s in samples {
        b.extend_from_slice(&((s.clamp(-1.0, 1.0) * 32767.0) as i16).to_le_bytes());
    }
    b
}

/// A chirp with a syllable-like envelope: enough structure to fingerprint.
fn signal(rate: u32, seconds: f64) -> Vec<f32> {
    let n = (seconds * f64::from(rate)) as usize;
    (0..n)
        .map(|i| {
            let t = i as f64 / f64::from(rate);
            let f = 200.0 + 150.0 * (0.7 * t).sin() + 80.0 * (3.1 * t).sin();
            let envelope = (0.5 + 0.5 * (2.0 * std::f64::consts::PI * 2.3 * t).sin()).powi(2);
            (0.4 * envelope * (2.0 * std::f64::consts::PI * f * t).sin()
                + 0.2 * envelope * (2.0 * std::f64::consts::PI * 2.7 * f * t).sin())
                as f32
        })
        .collect()
}

fn no_ffmpeg() -> AudioOptions {
    AudioOptions {
        ffmpeg: None,
        ..AudioOptions::default()
    }
}

#[test]
fn wav_is_downmixed_and_resampled_to_11025_hz() {
    let mono = signal(44100, 5.0);
    let stereo: Vec<f32> = mono.iter().flat_map(|&s| [s, s]).collect();
    let decoded = decode_audio(&wav(&stereo, 44100, 2), &no_ffmpeg()).unwrap();
    assert_eq!(decoded.sample_rate, 11025);
    assert_eq!(decoded.source_sample_rate, 44100);
    assert_eq!(decoded.source_channels, 2);
    assert_eq!(decoded.container, AudioContainer::Wav);
    assert_eq!(decoded.samples.len(), 5 * 11025);
    // Same audio at 48 kHz and at 11,025 Hz gives nearly the same fingerprint.
    let reference = fingerprint(&decoded.samples);
    for rate in [48000, 22050, 11025] {
        let other = decode_audio(&wav(&signal(rate, 5.0), rate, 1), &no_ffmpeg()).unwrap();
        let ber = bit_error_rate(
            reference.sub_fingerprints(),
            fingerprint(&other.samples).sub_fingerprints(),
        );
        assert!(ber < 0.05, "{rate} Hz: BER {ber}");
    }
}

#[test]
fn bad_input_gets_a_clear_error() {
    let options = no_ffmpeg();
    assert_eq!(decode_audio(b"", &options).unwrap_err(), AudioError::Empty);
    let html = decode_audio(b"<!doctype html><html><head>", &options).unwrap_err();
    assert_eq!(
        html,
        AudioError::NotAudio {
            looks_like: "HTML document"
        }
    );
    assert!(html.to_string().contains("HTML"));
    // A valid header with no samples.
    assert_eq!(
        decode_audio(&wav(&[], 44100, 1), &options).unwrap_err(),
        AudioError::ZeroLength {
            container: AudioContainer::Wav
        }
    );
    // Garbage after a WAV signature.
    let mut broken = b"RIFF\x24\x00\x00\x00WAVEfmt ".to_vec();
    broken.extend_from_slice(&[0xFF; 40]);
    let error = decode_audio(&broken, &options).unwrap_err();
    assert!(
        matches!(
            error,
            AudioError::Corrupt { .. } | AudioError::ZeroLength { .. }
        ),
        "{error:?}"
    );
    // Opus without ffmpeg.
    let opus = b"OggS\x00\x02\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x13OpusHead";
    assert_eq!(
        decode_audio(opus, &options).unwrap_err(),
        AudioError::NeedsFfmpeg {
            container: AudioContainer::OggOpus
        }
    );
}

#[test]
fn limits_are_enforced() {
    let file = wav(&signal(8000, 3.0), 8000, 1);
    let small = AudioOptions {
        limits: AudioLimits {
            max_input_bytes: 1000,
            ..AudioLimits::default()
        },
        ffmpeg: None,
    };
    assert!(matches!(
        decode_audio(&file, &small).unwrap_err(),
        AudioError::InputTooLarge { limit: 1000, .. }
    ));
    let short = AudioOptions {
        limits: AudioLimits {
            max_duration: Duration::from_secs(2),
            ..AudioLimits::default()
        },
        ffmpeg: None,
    };
    assert_eq!(
        decode_audio(&file, &short).unwrap_err(),
        AudioError::TooLong {
            container: AudioContainer::Wav,
            limit_seconds: 2
        }
    );
}

/// Runs ffmpeg to encode `input` (a WAV file) with `args`, returning the output bytes.
fn ffmpeg_encode(input: &[u8], args: &[&str], extension: &str) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("in.wav");
    let target = dir.path().join(format!("out.{extension}"));
    std::fs::write(&source, input).unwrap();
    let status = std::process::Command::new("ffmpeg")
        .args(["-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-i"])
        .arg(&source)
        .args(args)
        .arg(&target)
        .status()
        .unwrap_or_else(|e| {
            panic!("this test needs ffmpeg (Debian: apt-get install ffmpeg), cannot run it: {e}")
        });
    assert!(status.success(), "ffmpeg failed to encode {extension}");
    std::fs::read(&target).unwrap()
}

#[test]
fn ffmpeg_round_trip_mp3_through_symphonia_and_opus_through_ffmpeg() {
    let original = signal(44100, 12.0);
    let source = wav(&original, 44100, 1);
    let reference = fingerprint(&decode_audio(&source, &no_ffmpeg()).unwrap().samples);

    let mp3 = ffmpeg_encode(&source, &["-c:a", "libmp3lame", "-b:a", "64k"], "mp3");
    let decoded = decode_audio(&mp3, &no_ffmpeg()).unwrap();
    assert_eq!(decoded.container, AudioContainer::Mp3);
    assert_eq!(
        decoded.decoder,
        takedown_media::audio::AudioDecoder::Symphonia
    );
    let mp3_ber = bit_error_rate(
        reference.sub_fingerprints(),
        fingerprint(&decoded.samples).sub_fingerprints(),
    );

    let opus = ffmpeg_encode(&source, &["-c:a", "libopus", "-b:a", "24k"], "ogg");
    let decoded = decode_audio(&opus, &AudioOptions::default()).unwrap();
    assert_eq!(decoded.container, AudioContainer::OggOpus);
    assert_eq!(decoded.decoder, takedown_media::audio::AudioDecoder::Ffmpeg);
    let opus_ber = bit_error_rate(
        reference.sub_fingerprints(),
        fingerprint(&decoded.samples).sub_fingerprints(),
    );
    // Codec delay shifts the start by a few ms; compare at the best of a few alignments.
    assert!(mp3_ber < 0.15, "MP3 64k BER {mp3_ber}");
    assert!(opus_ber < 0.2, "Opus 24k BER {opus_ber}");
    assert!((decoded.duration().as_secs_f64() - 12.0).abs() < 0.1);
}

#[test]
fn missing_ffmpeg_and_timeouts_are_errors_not_crashes() {
    let opus = ffmpeg_encode(
        &wav(&signal(48000, 3.0), 48000, 1),
        &["-c:a", "libopus"],
        "ogg",
    );
    let missing = AudioOptions {
        ffmpeg: Some("/nonexistent/ffmpeg".into()),
        ..AudioOptions::default()
    };
    let error = decode_audio(&opus, &missing).unwrap_err();
    assert!(
        matches!(error, AudioError::FfmpegMissing { .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("apt-get install ffmpeg"));

    // A "decoder" that hangs: the wall-clock limit kills it.
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("hang.sh");
    std::fs::write(&script, "#!/bin/sh\nsleep 30\n").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let hanging = AudioOptions {
            limits: AudioLimits {
                ffmpeg_timeout: Duration::from_millis(300),
                ..AudioLimits::default()
            },
            ffmpeg: Some(script.clone()),
        };
        let started = std::time::Instant::now();
        let error = decode_audio(&opus, &hanging).unwrap_err();
        assert!(
            matches!(error, AudioError::FfmpegTimeout { .. }),
            "{error:?}"
        );
        assert!(started.elapsed() < Duration::from_secs(10));
    }
}
