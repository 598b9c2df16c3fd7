//! A video's soundtrack is fingerprinted as audio, and audio can be fingerprinted with speed
//! and tempo changes undone. Fixtures come from ffmpeg's `lavfi` sources (installed by
//! `.ci/run`); nothing random.

use takedown_hasher::{fingerprint_bytes, HashOptions, MediaKind};
use takedown_signals::audio::{bit_error_rate, Stretch, StretchSet};
use takedown_testmedia::{chords, ffmpeg_bytes as ffmpeg, pattern};

#[test]
fn a_videos_soundtrack_is_fingerprinted_like_the_recording() {
    let dir = tempfile::tempdir().unwrap();
    let chords = chords(12.0);
    let recording = ffmpeg(dir.path(), "bulletin.flac", &["-f", "lavfi", "-i", &chords]);
    // The bulletin re-uploaded as a video: moving pictures over the same sound, in MP4 (AAC,
    // read in process) and in WebM (Opus, read by ffmpeg).
    let picture = &pattern(12.0);
    let mp4 = ffmpeg(
        dir.path(),
        "bulletin.mp4",
        &[
            "-f",
            "lavfi",
            "-i",
            picture,
            "-f",
            "lavfi",
            "-i",
            &chords,
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
            "-b:a",
            "96k",
            "-shortest",
        ],
    );
    let webm = ffmpeg(
        dir.path(),
        "bulletin.webm",
        &[
            "-f",
            "lavfi",
            "-i",
            picture,
            "-f",
            "lavfi",
            "-i",
            &chords,
            "-c:v",
            "libvpx-vp9",
            "-b:v",
            "200k",
            "-c:a",
            "libopus",
            "-b:a",
            "48k",
            "-shortest",
        ],
    );
    let silent = ffmpeg(
        dir.path(),
        "silent.mp4",
        &[
            "-f", "lavfi", "-i", picture, "-c:v", "libx264", "-pix_fmt", "yuv420p",
        ],
    );
    let options = HashOptions::default();
    let plain = fingerprint_bytes(&recording, &options).unwrap();
    assert_eq!(plain.kind(), MediaKind::Audio);
    let plain = plain.audio().unwrap().fingerprint.clone();

    for (name, bytes) in [("mp4", &mp4), ("webm", &webm)] {
        let hashed = fingerprint_bytes(bytes, &options).unwrap();
        assert_eq!(hashed.kind(), MediaKind::Video, "{name}");
        let video = hashed.video().unwrap();
        assert!(video.info.has_audio, "{name}");
        assert!(!video.vpdq.is_empty(), "{name}");
        assert!(video.warnings.is_empty(), "{name}: {:?}", video.warnings);
        let soundtrack = video.soundtrack.as_ref().expect("soundtrack");
        assert!((soundtrack.duration_seconds - 12.0).abs() < 0.5, "{name}");
        // `audio()` answers for the soundtrack.
        assert_eq!(
            hashed.audio().unwrap().fingerprint,
            soundtrack.fingerprint,
            "{name}"
        );
        // The same sound through a lossy codec and another decoder: the best alignment is
        // close (codec delays shift it by a few sub-fingerprints at most).
        let sub = soundtrack.fingerprint.sub_fingerprints();
        let best = (0..8)
            .flat_map(|shift| {
                [
                    bit_error_rate(&sub[shift..], plain.sub_fingerprints()),
                    bit_error_rate(sub, &plain.sub_fingerprints()[shift..]),
                ]
            })
            .fold(1.0, f64::min);
        assert!(best < 0.15, "{name}: best BER {best}");
    }

    let hashed = fingerprint_bytes(&silent, &options).unwrap();
    let video = hashed.video().unwrap();
    assert!(!video.info.has_audio);
    assert!(video.soundtrack.is_none() && hashed.audio().is_none());
    assert!(video.warnings.is_empty(), "{:?}", video.warnings);

    let off = HashOptions {
        soundtrack: false,
        ..HashOptions::default()
    };
    let hashed = fingerprint_bytes(&mp4, &off).unwrap();
    assert!(hashed.video().unwrap().soundtrack.is_none());
}

#[test]
fn stretched_fingerprints_are_computed_only_when_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    let recording = ffmpeg(
        dir.path(),
        "bulletin.flac",
        &["-f", "lavfi", "-i", &chords(12.0)],
    );
    let plain = fingerprint_bytes(&recording, &HashOptions::default()).unwrap();
    assert!(plain.audio().unwrap().stretched.is_empty());

    let options = HashOptions {
        audio_stretches: StretchSet::speed_and_tempo(),
        ..HashOptions::default()
    };
    let stretched = fingerprint_bytes(&recording, &options).unwrap();
    let audio = stretched.audio().unwrap();
    // The plain fingerprint is unchanged, and every variant but `None` is listed once.
    assert_eq!(audio.fingerprint, plain.audio().unwrap().fingerprint);
    let expected: Vec<Stretch> = StretchSet::speed_and_tempo()
        .variants
        .into_iter()
        .filter(|stretch| *stretch != Stretch::None)
        .collect();
    let got: Vec<Stretch> = audio
        .stretched
        .iter()
        .map(|(stretch, _)| *stretch)
        .collect();
    assert_eq!(got, expected);
    assert!(audio.stretched.iter().all(|(_, fp)| !fp.is_empty()));
}
