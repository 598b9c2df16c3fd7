//! `takedown hash` and `takedown match` on videos, audio and text, as a user runs them: the
//! kind is read from the bytes, the signals are printed, a bank file of vPDQ, audio and text
//! rows finds edited copies, and bad input gets a clear error.
//!
//! Fixtures are generated: videos with ffmpeg's `lavfi` sources (installed by `.ci/run`; these
//! tests fail with that message without it), audio as seeded chords and text from a seeded
//! word list (`takedown_corpus`).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use takedown_corpus::sound::{bulletin as chords, SAMPLE_RATE};
use takedown_corpus::statement;
use takedown_testmedia::{ffmpeg, pattern, sped_up, video_with_sound};

fn takedown(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_takedown"))
        .args(args)
        .output()
        .expect("the takedown binary runs")
}

fn json_lines(output: &Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).expect("each stdout line is JSON"))
        .collect()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A 6-second 160x120 test pattern at 10 fps (vPDQ hashes frames 0, 10, ..., 50).
fn original_video(dir: &Path) -> PathBuf {
    ffmpeg(
        dir,
        "original.mp4",
        &[
            "-f",
            "lavfi",
            "-i",
            &pattern(6.0),
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
        ],
    )
}

const RATE: u32 = SAMPLE_RATE;

fn wav(samples: &[i16]) -> Vec<u8> {
    takedown_corpus::sound::wav(samples, RATE)
}

#[test]
fn hash_reads_the_kind_from_the_bytes_and_prints_each_kinds_signals() {
    let dir = tempfile::tempdir().unwrap();
    let video = original_video(dir.path());
    // Names that lie about the content: the bytes decide.
    let audio = dir.path().join("bulletin.txt");
    std::fs::write(&audio, wav(&chords(12.0, 7))).unwrap();
    let text = dir.path().join("statement.mp4");
    std::fs::write(&text, statement(80, 3)).unwrap();
    let output = takedown(&[
        "hash",
        "--frames",
        video.to_str().unwrap(),
        audio.to_str().unwrap(),
        text.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let lines = json_lines(&output);
    assert_eq!(lines.len(), 3);

    let video_line = &lines[0];
    assert_eq!(video_line["kind"], "video");
    assert_eq!(video_line["vpdq_frames"], 6);
    assert_eq!(video_line["video_md5"], video_line["md5"]);
    assert_eq!(video_line["vpdq_algorithm"], "vpdq/1");
    let frames = video_line["vpdq"].as_array().unwrap();
    assert_eq!(frames.len(), 6);
    // Meta's line format: frame,quality,hash,timestamp.
    let first: Vec<&str> = frames[1].as_str().unwrap().split(',').collect();
    assert_eq!((first[0], first[2].len(), first[3]), ("10", 64, "1.000"));

    let audio_line = &lines[1];
    assert_eq!(audio_line["kind"], "audio");
    assert!(audio_line["audio"]
        .as_str()
        .unwrap()
        .starts_with("audio:1:"));
    assert!(audio_line["sub_fingerprints"].as_u64().unwrap() > 60);
    let seconds = audio_line["duration_seconds"].as_f64().unwrap();
    assert!((seconds - 12.0).abs() < 0.01, "{seconds}");

    let text_line = &lines[2];
    assert_eq!(text_line["kind"], "text");
    assert_eq!(text_line["text_sha256"].as_str().unwrap().len(), 64);
    assert!(text_line["shingles"].as_u64().unwrap() > 50);
    assert!(text_line["text_minhash"].is_string());

    // Without --frames the count stays and the lines go.
    let output = takedown(&["hash", video.to_str().unwrap()]);
    let line = &json_lines(&output)[0];
    assert_eq!(line["vpdq_frames"], 6);
    assert!(line.get("vpdq").is_none());

    let output = takedown(&[
        "hash",
        "--format",
        "table",
        video.to_str().unwrap(),
        audio.to_str().unwrap(),
        text.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let table = String::from_utf8(output.stdout).unwrap();
    assert!(table.contains("vpdq: 6 frames"), "{table}");
    assert!(table.contains("sub-fingerprints"), "{table}");
    assert!(table.contains("text_sha256: "), "{table}");
}

#[test]
fn a_bank_of_video_audio_and_text_rows_finds_edited_copies() {
    let dir = tempfile::tempdir().unwrap();
    let original = original_video(dir.path());
    let audio = dir.path().join("bulletin.wav");
    let samples = chords(30.0, 11);
    std::fs::write(&audio, wav(&samples)).unwrap();
    let text = dir.path().join("statement.txt");
    let body = statement(120, 5);
    std::fs::write(&text, &body).unwrap();
    let output = takedown(&[
        "hash",
        "--frames",
        original.to_str().unwrap(),
        audio.to_str().unwrap(),
        text.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let lines = json_lines(&output);
    let vpdq: Vec<&str> = lines[0]["vpdq"]
        .as_array()
        .unwrap()
        .iter()
        .map(|line| line.as_str().unwrap())
        .collect();
    let rows = [
        ("vpdq", vpdq.join("\n"), "clip"),
        (
            "audio",
            lines[1]["audio"].as_str().unwrap().to_string(),
            "bulletin",
        ),
        (
            "text_minhash",
            lines[2]["text_minhash"].as_str().unwrap().to_string(),
            "claim",
        ),
    ];
    let bank = dir.path().join("bank.jsonl");
    let mut jsonl = String::new();
    for (signal_type, value, note) in rows {
        let row = serde_json::json!({"signal_type": signal_type, "value": value, "note": note});
        jsonl.push_str(&format!("{row}\n"));
    }
    std::fs::write(&bank, jsonl).unwrap();

    // Edited copies: the video re-encoded smaller and harder, a 10-second excerpt of the
    // audio, the statement inside a longer post.
    let copy = ffmpeg(
        dir.path(),
        "copy.mkv",
        &[
            "-i",
            original.to_str().unwrap(),
            "-vf",
            "scale=128:96",
            "-c:v",
            "libx264",
            "-crf",
            "32",
        ],
    );
    let excerpt = dir.path().join("excerpt.wav");
    // Starts on a sub-fingerprint boundary (1365 samples each) 5 s in.
    let start = 40 * 1365;
    std::fs::write(&excerpt, wav(&samples[start..start + 10 * RATE as usize])).unwrap();
    let post = dir.path().join("post.txt");
    std::fs::write(
        &post,
        format!("Shared from a channel today:\n\n{body}\n\nFollow us for more news."),
    )
    .unwrap();
    let unrelated = dir.path().join("unrelated.txt");
    std::fs::write(&unrelated, statement(120, 99)).unwrap();

    for (query, note, signal_type) in [
        (&copy, "clip", "vpdq"),
        (&excerpt, "bulletin", "audio"),
        (&post, "claim", "text_minhash"),
    ] {
        let output = takedown(&[
            "match",
            "--bank",
            bank.to_str().unwrap(),
            query.to_str().unwrap(),
        ]);
        assert!(output.status.success(), "{query:?}: {}", stderr(&output));
        let hits = json_lines(&output);
        assert_eq!(hits.len(), 1, "{query:?}: {hits:?}");
        assert_eq!(hits[0]["labels"].as_object().map(|_| ()), Some(()));
        assert_eq!(hits[0]["signal_type"], signal_type);
        assert!(hits[0]["distance"].as_u64().unwrap() <= 50, "{hits:?}");
        let output = takedown(&[
            "match",
            "--format",
            "table",
            "--bank",
            bank.to_str().unwrap(),
            query.to_str().unwrap(),
        ]);
        let table = String::from_utf8(output.stdout).unwrap();
        assert!(table.contains(signal_type), "{table}");
        let _ = note;
    }
    let output = takedown(&[
        "match",
        "--bank",
        bank.to_str().unwrap(),
        unrelated.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));

    // A mirrored copy: found through the mirror variant (named), missed without variants.
    let mirrored = ffmpeg(
        dir.path(),
        "mirrored.mp4",
        &[
            "-i",
            original.to_str().unwrap(),
            "-vf",
            "hflip",
            "-c:v",
            "libx264",
        ],
    );
    let mirrored = mirrored.to_str().unwrap();
    let output = takedown(&["match", "--bank", bank.to_str().unwrap(), mirrored]);
    assert!(output.status.success(), "{}", stderr(&output));
    let hits = json_lines(&output);
    assert_eq!(hits.len(), 1, "{hits:?}");
    assert_eq!(
        (&hits[0]["signal_type"], &hits[0]["transform"]),
        (&"vpdq".into(), &"mirrored".into()),
        "{hits:?}"
    );
    let output = takedown(&[
        "match",
        "--no-video-variants",
        "--bank",
        bank.to_str().unwrap(),
        mirrored,
    ]);
    assert_eq!(output.status.code(), Some(1), "plain vPDQ misses a mirror");

    // `compare` applies each kind's rule to two files.
    for (a, b, kind, matched) in [
        (&original, &copy, "video", true),
        (&excerpt, &audio, "audio", true),
        (&post, &text, "text", true),
        (&unrelated, &text, "text", false),
    ] {
        let output = takedown(&["compare", a.to_str().unwrap(), b.to_str().unwrap()]);
        let line = &json_lines(&output)[0];
        assert_eq!(line["kind"], kind, "{line}");
        assert_eq!(line["match"], matched, "{line}");
        assert_eq!(output.status.success(), matched, "{line}");
    }
    let output = takedown(&["compare", text.to_str().unwrap(), audio.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(stderr(&output).contains("nothing to compare"));
}

#[test]
fn a_soundtrack_and_a_sped_up_bulletin_are_found_in_a_bank_of_audio() {
    let dir = tempfile::tempdir().unwrap();
    let audio = dir.path().join("bulletin.wav");
    std::fs::write(&audio, wav(&chords(30.0, 11))).unwrap();
    let bulletin = audio.to_str().unwrap();
    // A test pattern with 12 s of the bulletin (from 5 s in) as its AAC soundtrack.
    let talk = video_with_sound(dir.path(), "talk.mp4", &audio, 5.0, 12.0);
    let faster = sped_up(dir.path(), "faster.mp3", &audio, RATE, 1.03);

    let output = takedown(&["hash", bulletin, talk.to_str().unwrap()]);
    assert!(output.status.success(), "{}", stderr(&output));
    let lines = json_lines(&output);
    let soundtrack = &lines[1]["soundtrack"];
    assert!(soundtrack["audio"]
        .as_str()
        .unwrap()
        .starts_with("audio:1:"));
    let seconds = soundtrack["duration_seconds"].as_f64().unwrap();
    assert!((seconds - 12.0).abs() < 0.2, "{seconds}");
    let output = takedown(&["hash", "--no-soundtrack", talk.to_str().unwrap()]);
    assert!(json_lines(&output)[0].get("soundtrack").is_none());

    let bank = dir.path().join("bank.jsonl");
    let row =
        serde_json::json!({"signal_type": "audio", "value": lines[0]["audio"], "note": "bulletin"});
    std::fs::write(&bank, format!("{row}\n")).unwrap();
    let matches = |args: &[&str]| {
        let output = takedown(&[&["match", "--bank", bank.to_str().unwrap()], args].concat());
        (output.status.code(), json_lines(&output), stderr(&output))
    };

    let (code, hits, err) = matches(&[talk.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(hits.len(), 1, "{hits:?}");
    assert_eq!(hits[0]["signal_type"], "audio");
    assert!(hits[0].get("transform").is_none(), "{hits:?}");

    let (code, hits, err) = matches(&[faster.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(hits[0]["transform"], "speed x1.030", "{hits:?}");
    let (code, hits, err) = matches(&["--no-stretch", faster.to_str().unwrap()]);
    assert_eq!(
        code,
        Some(1),
        "plain Chromaprint misses a 3% speed change: {hits:?} {err}"
    );
}

#[test]
fn bad_media_gets_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let original = original_video(dir.path());
    let bytes = std::fs::read(&original).unwrap();
    let truncated = dir.path().join("truncated.mp4");
    std::fs::write(&truncated, &bytes[..bytes.len() * 2 / 5]).unwrap();
    let corrupt = dir.path().join("corrupt.mp4");
    let mut damaged = bytes.clone();
    for byte in damaged.iter_mut().skip(48) {
        *byte ^= 0x5a;
    }
    std::fs::write(&corrupt, &damaged).unwrap();
    let silent = dir.path().join("silent.wav");
    std::fs::write(&silent, wav(&[])).unwrap();
    let latin1 = dir.path().join("latin1.txt");
    std::fs::write(&latin1, b"Communiqu\xe9 du bureau de presse").unwrap();

    let cases: [(&[&str], &Path, &[&str]); 6] = [
        (&[], &truncated, &["video", "truncated or corrupt"]),
        (&[], &corrupt, &["video"]),
        (&[], &silent, &["audio", "zero-length"]),
        (&[], &latin1, &["UTF-8", "byte offset 9"]),
        (
            &["--max-duration", "2"],
            &original,
            &["video", "limit of 2 s"],
        ),
        (
            &["--max-frames", "20"],
            &original,
            &["video", "limit of 20"],
        ),
    ];
    for (flags, path, expected) in cases {
        let mut args = vec!["hash"];
        args.extend_from_slice(flags);
        args.push(path.to_str().unwrap());
        let output = takedown(&args);
        assert_eq!(output.status.code(), Some(1), "{path:?}");
        let message = stderr(&output);
        for words in expected {
            assert!(message.contains(words), "{path:?} {flags:?}: {message}");
        }
        assert!(!message.contains("panicked"), "{message}");
    }
}
