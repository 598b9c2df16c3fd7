//! vPDQ through ffmpeg: Meta's sample hashes, limits and bad input.
//!
//! These tests need `ffmpeg` and `ffprobe` (Debian: `apt-get install -y ffmpeg`, which
//! `.ci/run` does). Without them they fail with that message rather than pass silently.
//! Test videos other than Meta's two samples are generated here with ffmpeg's `lavfi`
//! sources into a temporary directory, a few seconds each.

use std::path::PathBuf;
use std::time::Duration;
use takedown_media::video::{
    self, FrameSelection, PreparedInput, VideoError, VideoInput, VideoOptions, VpdqOptions,
};
use takedown_signals::vpdq::{self, VpdqFeature};
use takedown_testmedia::ffmpeg as make_video;

fn vectors() -> PathBuf {
    takedown_testmedia::vectors().join("vpdq")
}

fn require_ffmpeg() {
    if let Err(e) = VideoOptions::default().tools.check() {
        panic!("these tests need ffmpeg and ffprobe: {e}");
    }
}

/// Compares like Meta's `test_vpdq_hash.py`: same frame numbers and timestamps, and per frame
/// a Hamming distance below 31 unless either side has quality below 50. Returns how many
/// frames are bit-exact.
fn compare_with_sample(ours: &[VpdqFeature], sample: &[VpdqFeature], name: &str) -> usize {
    assert_eq!(ours.len(), sample.len(), "{name}: frame count");
    let mut exact = 0;
    let mut worst = 0;
    for (a, b) in ours.iter().zip(sample) {
        assert_eq!(a.frame_number, b.frame_number, "{name}: frame numbers");
        assert_eq!(
            format!("{:.3}", a.timestamp),
            format!("{:.3}", b.timestamp),
            "{name}: timestamp of frame {}",
            a.frame_number
        );
        let distance = a.hash.distance(&b.hash);
        exact += usize::from(distance == 0 && a.quality == b.quality);
        if a.quality >= 50 && b.quality >= 50 {
            worst = worst.max(distance);
            assert!(
                distance < 31,
                "{name}: frame {} is {distance} bits from the sample",
                a.frame_number
            );
        }
    }
    eprintln!(
        "{name}: {exact}/{} frames bit-exact with Meta's sample hashes, worst distance {worst} \
         among frames of quality >= 50",
        ours.len()
    );
    exact
}

fn sample(name: &str) -> Vec<VpdqFeature> {
    let text = std::fs::read_to_string(vectors().join("sample-hashes").join(name))
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    vpdq::parse_lines(&text).unwrap()
}

#[test]
fn meta_sample_hashes_are_reproduced_within_upstream_tolerance() {
    require_ffmpeg();
    let every_frame = VpdqOptions {
        seconds_per_hash: 0.0,
        ..VpdqOptions::default()
    };
    let cases = [
        ("test-padded-dimensions", None, "test-padded-dimensions.txt"),
        ("doorknob-hd-no-bar", None, "doorknob-hd-no-bar.txt"),
        (
            "doorknob-hd-no-bar",
            Some((128, 128)),
            "doorknob-hd-no-bar-128x128.txt",
        ),
    ];
    for (video, downsample, hashes) in cases {
        let path = vectors().join("videos").join(format!("{video}.mp4"));
        let options = VpdqOptions {
            downsample,
            ..every_frame
        };
        let ours = video::hash_vpdq(VideoInput::Path(&path), &options, &VideoOptions::default())
            .unwrap_or_else(|e| panic!("{video}: {e}"));
        assert!(!ours.truncated);
        compare_with_sample(&ours.features, &sample(hashes), hashes);
    }
}

#[test]
fn the_padded_dimensions_sample_is_bit_exact() {
    // This sample's frames decode and convert identically everywhere (no chroma rounding
    // differences between libswscale builds), so the hashes agree to the bit.
    require_ffmpeg();
    let path = vectors().join("videos/test-padded-dimensions.mp4");
    let options = VpdqOptions {
        seconds_per_hash: 0.0,
        ..VpdqOptions::default()
    };
    let ours =
        video::hash_vpdq(VideoInput::Path(&path), &options, &VideoOptions::default()).unwrap();
    let expected =
        std::fs::read_to_string(vectors().join("sample-hashes/test-padded-dimensions.txt"))
            .unwrap();
    // Byte for byte: frame numbers, qualities, hashes and timestamps as Meta's tool writes them.
    assert!(vpdq::format_lines(&ours.features) == expected);
}

#[test]
fn default_sampling_is_one_frame_per_second_with_reference_timestamps() {
    require_ffmpeg();
    let dir = tempfile::tempdir().unwrap();
    // 29.97 fps: (int)(1.0 * 29.97) = 29, so frames 0, 29, 58, ... are hashed.
    let path = make_video(
        dir.path(),
        "ntsc.mp4",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=160x120:rate=30000/1001:duration=3",
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
        ],
    );
    let bytes = std::fs::read(&path).unwrap();
    let hashes = video::hash_vpdq(
        VideoInput::Bytes(&bytes),
        &VpdqOptions::default(),
        &VideoOptions::default(),
    )
    .unwrap();
    let numbers: Vec<u64> = hashes.features.iter().map(|f| f.frame_number).collect();
    assert_eq!(numbers, vec![0, 29, 58, 87]);
    let text = vpdq::format_lines(&hashes.features);
    assert!(text.lines().nth(1).unwrap().ends_with(",0.968"), "{text}");
    assert!(hashes.features.iter().all(|f| f.quality >= 50));
    assert_eq!(hashes.info.width, 160);
    assert!((hashes.info.frame_rate - 29.97).abs() < 0.01);
    // Round trip through the text form (which keeps the timestamp to three decimals).
    assert_eq!(vpdq::format_lines(&vpdq::parse_lines(&text).unwrap()), text);
}

#[test]
fn frames_stream_at_the_requested_size_and_interval() {
    require_ffmpeg();
    let dir = tempfile::tempdir().unwrap();
    let path = make_video(
        dir.path(),
        "clip.mkv",
        &[
            "-f",
            "lavfi",
            "-i",
            "mandelbrot=size=96x64:rate=10",
            "-t",
            "2",
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
        ],
    );
    let options = VideoOptions::default();
    let input =
        std::sync::Arc::new(PreparedInput::new(VideoInput::Path(&path), &options.limits).unwrap());
    let info = video::probe(&input, &options).unwrap();
    assert_eq!(info.codec, "h264");
    let frames: Vec<_> = video::decode_frames(
        input,
        &info,
        FrameSelection {
            every: 3,
            size: Some((32, 16)),
        },
        &options,
    )
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap();
    let numbers: Vec<u64> = frames.iter().map(|f| f.number).collect();
    assert_eq!(numbers, vec![0, 3, 6, 9, 12, 15, 18]);
    assert!(frames.iter().all(|f| f.rgb.len() == 32 * 16 * 3));
}

#[test]
fn bad_input_gets_a_clear_error() {
    require_ffmpeg();
    let options = VideoOptions::default();
    let hash = |bytes: &[u8]| {
        video::hash_vpdq(VideoInput::Bytes(bytes), &VpdqOptions::default(), &options)
    };
    assert!(matches!(hash(b""), Err(VideoError::Empty)));
    let err = hash(b"<html><body>not a video</body></html>").unwrap_err();
    assert!(matches!(err, VideoError::Unreadable { .. }), "{err}");

    let dir = tempfile::tempdir().unwrap();
    // An MP4 cut before its index (moov at the end): unreadable, and the message says why.
    let whole = make_video(
        dir.path(),
        "whole.mp4",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=160x120:rate=25:duration=3",
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
        ],
    );
    let bytes = std::fs::read(&whole).unwrap();
    let err = hash(&bytes[..bytes.len() / 2]).unwrap_err();
    assert!(
        matches!(&err, VideoError::Unreadable { detail } if detail.contains("moov")),
        "{err}"
    );
    // An MP4 with its index first, cut in the middle: truncated, refused by default ...
    let faststart = make_video(
        dir.path(),
        "faststart.mp4",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=160x120:rate=25:duration=3",
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
            "-movflags",
            "+faststart",
        ],
    );
    let bytes = std::fs::read(&faststart).unwrap();
    let cut = &bytes[..bytes.len() / 2];
    let err = hash(cut).unwrap_err();
    assert!(matches!(err, VideoError::Truncated { .. }), "{err}");
    // ... and hashed, flagged, when allowed.
    let lenient = VideoOptions {
        allow_truncated: true,
        ..VideoOptions::default()
    };
    let partial =
        video::hash_vpdq(VideoInput::Bytes(cut), &VpdqOptions::default(), &lenient).unwrap();
    assert!(partial.truncated);
    assert!(!partial.features.is_empty() && partial.features.len() < 3);

    // Audio only: no video stream.
    let audio = make_video(
        dir.path(),
        "tone.mkv",
        &["-f", "lavfi", "-i", "sine=duration=1", "-c:a", "flac"],
    );
    let err =
        video::hash_vpdq(VideoInput::Path(&audio), &VpdqOptions::default(), &options).unwrap_err();
    assert!(matches!(err, VideoError::NoVideoStream { .. }), "{err}");
}

#[test]
fn limits_refuse_before_and_during_decoding() {
    require_ffmpeg();
    let dir = tempfile::tempdir().unwrap();
    let path = make_video(
        dir.path(),
        "ten.mp4",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=160x120:rate=25:duration=10",
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
            "-preset",
            "ultrafast",
        ],
    );
    let run = |change: &dyn Fn(&mut VideoOptions)| {
        let mut options = VideoOptions::default();
        change(&mut options);
        video::hash_vpdq(VideoInput::Path(&path), &VpdqOptions::default(), &options)
    };
    let err = run(&|o| o.limits.max_duration = Duration::from_secs(5)).unwrap_err();
    assert!(matches!(err, VideoError::TooLong { .. }), "{err}");
    let err = run(&|o| o.limits.max_frames = 100).unwrap_err();
    assert!(
        matches!(err, VideoError::TooManyFrames { frames: 250, .. }),
        "{err}"
    );
    let err = run(&|o| o.limits.max_pixels = 160 * 119).unwrap_err();
    assert!(matches!(err, VideoError::FramesTooLarge { .. }), "{err}");
    let err = run(&|o| o.limits.max_input_bytes = 1000).unwrap_err();
    assert!(matches!(err, VideoError::InputTooLarge { .. }), "{err}");
    let err = run(&|o| o.limits.time_limit = Duration::from_millis(1)).unwrap_err();
    assert!(matches!(err, VideoError::TimedOut { .. }), "{err}");
    let ok = run(&|_| {}).unwrap();
    assert_eq!(ok.features.len(), 10);
}

#[test]
fn a_missing_ffmpeg_is_a_clear_error() {
    let mut options = VideoOptions::default();
    options.tools.ffprobe = PathBuf::from("/nonexistent/ffprobe");
    let err = video::hash_vpdq(
        VideoInput::Bytes(b"\x00\x00\x00\x18ftypmp42"),
        &VpdqOptions::default(),
        &options,
    )
    .unwrap_err();
    assert!(matches!(err, VideoError::ToolMissing { .. }), "{err}");
    assert!(
        err.to_string().contains("apt-get install -y ffmpeg"),
        "{err}"
    );
}

/// A re-upload flipped left to right, letterboxed into a square or pillarboxed into a wider
/// frame defeats plain vPDQ; hashed with its variants, the query matches the original under
/// the default 80%/80% rule through the variant that undoes the change, and the plain
/// features are untouched.
#[test]
fn query_variants_undo_a_mirror_and_bars() {
    require_ffmpeg();
    let dir = tempfile::tempdir().unwrap();
    let source = "testsrc2=size=320x180:rate=10:duration=6";
    let encode = |name: &str, filter: Option<&str>| {
        let mut args = vec!["-f", "lavfi", "-i", source];
        if let Some(filter) = filter {
            args.extend(["-vf", filter]);
        }
        args.extend(["-c:v", "libx264", "-pix_fmt", "yuv420p"]);
        std::fs::read(make_video(dir.path(), name, &args)).unwrap()
    };
    let hash = |bytes: &[u8], variants: bool| {
        let options = VpdqOptions {
            variants,
            ..VpdqOptions::default()
        };
        video::hash_vpdq(VideoInput::Bytes(bytes), &options, &VideoOptions::default()).unwrap()
    };
    let original = encode("original.mp4", None);
    let banked = hash(&original, false);
    assert!(banked.variants.is_empty(), "variants only when asked");
    let with_variants = hash(&original, true);
    assert_eq!(
        with_variants.features, banked.features,
        "plain features unchanged"
    );
    assert!(
        with_variants
            .variants
            .iter()
            .all(|(variant, _)| *variant != vpdq::VideoVariant::BarsRemoved),
        "a picture without bars gets no bars-removed variant"
    );

    let config = vpdq::VpdqMatchConfig::default();
    for (name, filter, undone) in [
        ("mirrored.mp4", "hflip", vpdq::VideoVariant::Mirrored),
        (
            "letterboxed.mp4",
            "pad=320:320:0:70:black",
            vpdq::VideoVariant::BarsRemoved,
        ),
        (
            "pillarboxed.mp4",
            "pad=420:180:50:0:black",
            vpdq::VideoVariant::BarsRemoved,
        ),
    ] {
        let query = hash(&encode(name, Some(filter)), true);
        let plain = vpdq::compare(&query.features, &banked.features, &config);
        assert!(
            !plain.is_match(&config),
            "{name}: plain vPDQ should not survive: {plain:?}"
        );
        let (_, features) = query
            .variants
            .iter()
            .find(|(variant, _)| *variant == undone)
            .unwrap_or_else(|| panic!("{name}: no {undone} variant"));
        let through = vpdq::compare(features, &banked.features, &config);
        assert!(
            through.is_match(&config),
            "{name}: {undone} should match: {through:?}"
        );
        assert_eq!(
            features.len(),
            query.features.len(),
            "{name}: frame for frame"
        );
    }
}
