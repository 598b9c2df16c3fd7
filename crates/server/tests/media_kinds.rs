//! Videos, audio and text through the HTTP API: banked by upload, matched after edits through
//! `/api/v1` and HMA's `video` content type, and bad input answered with 422 naming the
//! problem.
//!
//! Fixtures are generated with ffmpeg's `lavfi` sources (installed by `.ci/run`; these tests
//! fail with that message without it) and a seeded word list (`takedown_corpus::statement`).

mod common;

use std::path::Path;

use common::{file_form, send, Backend, Harness};
use serde_json::json;
use takedown_corpus::statement;
use takedown_testmedia::{chords, ffmpeg_bytes as ffmpeg, pattern, sped_up, video_with_sound};

struct Fixtures {
    video: Vec<u8>,
    video_copy: Vec<u8>,
    audio: Vec<u8>,
    audio_excerpt: Vec<u8>,
}

fn fixtures(dir: &Path) -> Fixtures {
    let video = ffmpeg(
        dir,
        "clip.mp4",
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
    );
    let video_copy = ffmpeg(
        dir,
        "copy.webm",
        &[
            "-i",
            dir.join("clip.mp4").to_str().unwrap(),
            "-vf",
            "scale=128:96",
            "-c:v",
            "libvpx-vp9",
            "-b:v",
            "100k",
        ],
    );
    let audio = ffmpeg(dir, "bulletin.flac", &["-f", "lavfi", "-i", &chords(30.0)]);
    // 10 s from 5 s in, re-encoded as MP3.
    let audio_excerpt = ffmpeg(
        dir,
        "excerpt.mp3",
        &[
            "-ss",
            "5",
            "-t",
            "10",
            "-i",
            dir.join("bulletin.flac").to_str().unwrap(),
            "-c:a",
            "libmp3lame",
            "-b:a",
            "64k",
        ],
    );
    Fixtures {
        video,
        video_copy,
        audio,
        audio_excerpt,
    }
}

async fn upload(h: &Harness, token: &str, name: &str, bytes: Vec<u8>) -> serde_json::Value {
    let (status, body) = send(
        h.post("/api/v1/banks/MEDIA/content/upload", Some(token))
            .multipart(file_form("file", name, bytes)),
    )
    .await;
    assert_eq!(status, 201, "{name}: {body}");
    body
}

/// Looks an upload up through `/api/v1` and returns the answer with its first hit of
/// `signal_type` (failing when there is none).
async fn lookup_hit(
    h: &Harness,
    token: &str,
    name: &str,
    bytes: Vec<u8>,
    signal_type: &str,
) -> (serde_json::Value, serde_json::Value) {
    let (status, body) = send(
        h.post("/api/v1/lookup/upload", Some(token))
            .multipart(file_form("file", name, bytes)),
    )
    .await;
    assert_eq!(status, 200, "{name}: {body}");
    let hit = (body["matches"].as_array().unwrap().iter())
        .find(|m| m["signal_type"] == signal_type)
        .unwrap_or_else(|| panic!("{name}: no {signal_type} match in {body}"))
        .clone();
    (body, hit)
}

fn signal_types(item: &serde_json::Value) -> Vec<String> {
    let mut types: Vec<String> = item["signals"]
        .as_array()
        .expect("signals")
        .iter()
        .filter_map(|s| s["signal_type"].as_str().map(str::to_string))
        .collect();
    types.sort();
    types
}

/// Banked by upload with every signal of its kind; found again after re-encoding, excerpting
/// and quoting, through `/api/v1` and HMA's routes.
async fn video_audio_and_text_bank_and_match(backend: Backend) {
    let Some(h) = Harness::start(backend).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let media = fixtures(dir.path());
    let curator = h.tokens.curator_a.clone();
    let matcher = h.tokens.matcher_a.clone();
    let (status, body) = send(
        h.post("/api/v1/banks", Some(&curator))
            .json(&json!({"name": "MEDIA", "description": "videos, bulletins, statements"})),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let body_text = statement(150, 7);

    let video = upload(&h, &curator, "clip.mp4", media.video.clone()).await;
    assert_eq!(signal_types(&video), ["md5", "sha256", "video_md5", "vpdq"]);
    let audio = upload(&h, &curator, "bulletin.flac", media.audio.clone()).await;
    assert_eq!(signal_types(&audio), ["audio", "md5", "sha256"]);
    let text = upload(&h, &curator, "claim.txt", body_text.clone().into_bytes()).await;
    assert_eq!(
        signal_types(&text),
        ["md5", "sha256", "text_minhash", "text_sha256"]
    );

    let post = format!("Shared today:\n{body_text}\nFollow the channel for more.");
    let cases = [
        (
            "copy.webm",
            media.video_copy.clone(),
            "vpdq",
            &video,
            "video",
        ),
        (
            "excerpt.mp3",
            media.audio_excerpt.clone(),
            "audio",
            &audio,
            "audio",
        ),
        ("post.txt", post.into_bytes(), "text_minhash", &text, "text"),
    ];
    for (name, bytes, signal_type, item, kind) in cases {
        let (body, hit) = lookup_hit(&h, &matcher, name, bytes, signal_type).await;
        assert_eq!(body["fingerprints"]["kind"], kind, "{name}");
        assert_eq!(hit["content_id"], item["id"], "{name}");
        assert!(hit["detail"].is_object(), "{name}: {hit}");
        assert!(hit["distance"].as_u64().unwrap() <= 50, "{name}: {hit}");
        if signal_type == "vpdq" {
            assert!(
                hit["detail"].get("variant").is_none(),
                "matched as it was: {hit}"
            );
        }
    }

    // A mirrored and a letterboxed copy defeat plain vPDQ; the upload's variants find the
    // banked video and name the change undone.
    let clip = dir.path().join("clip.mp4");
    for (name, filter, variant) in [
        ("mirrored.mp4", "hflip", "mirrored"),
        ("letterboxed.mp4", "pad=160:200:0:40:black", "bars removed"),
    ] {
        let args = [
            "-i",
            clip.to_str().unwrap(),
            "-vf",
            filter,
            "-c:v",
            "libx264",
        ];
        let bytes = ffmpeg(dir.path(), name, &args);
        let (_, hit) = lookup_hit(&h, &matcher, name, bytes, "vpdq").await;
        assert_eq!(hit["content_id"], video["id"], "{name}");
        assert_eq!(hit["detail"]["variant"], variant, "{name}: {hit}");
    }

    // /api/v1/hash: the signals without matching.
    let (status, body) = send(h.post("/api/v1/hash", Some(&matcher)).multipart(file_form(
        "file",
        "a.mp3",
        media.audio_excerpt.clone(),
    )))
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body["audio"].as_str().unwrap().starts_with("audio:1:"));

    // HMA: `video` hashes to video_md5 and vPDQ in HMA's JSON form; lookups find the copy.
    let (status, body) = send(h.post("/h/hash", Some(&matcher)).multipart(file_form(
        "video",
        "clip.mp4",
        media.video.clone(),
    )))
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["video_md5"].as_str().map(str::len), Some(32));
    let frames: Vec<String> = serde_json::from_str(body["vpdq"].as_str().unwrap()).unwrap();
    assert_eq!(frames.len(), 6);
    assert_eq!(frames[1].split(',').nth(2), Some("1.000"));
    let (status, body) = send(h.post("/m/lookup", Some(&matcher)).multipart(file_form(
        "video",
        "copy.webm",
        media.video_copy.clone(),
    )))
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["vpdq"]["MEDIA"][0]["bank_content_id"], video["id"]);
    // A photo route refuses a video, naming both kinds.
    let (status, body) = send(h.post("/h/hash", Some(&matcher)).multipart(file_form(
        "photo",
        "clip.mp4",
        media.video.clone(),
    )))
    .await;
    assert_eq!(status, 422, "{body}");
    assert!(body["message"]
        .as_str()
        .unwrap()
        .contains("expected image, got video"));
    h.finish().await;
}

/// A video's soundtrack is an audio signal both ways (a video whose sound is an excerpt of a
/// banked bulletin finds it; a banked video is found by an audio copy of its sound), and a
/// bulletin played 3% faster is found with the speed change named.
async fn soundtracks_and_sped_up_copies_match_banked_audio(backend: Backend) {
    let Some(h) = Harness::start(backend).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let media = fixtures(dir.path());
    let bulletin = dir.path().join("bulletin.flac");
    let read = |path: std::path::PathBuf| std::fs::read(path).unwrap();
    // A picture with 12 s of the bulletin (from 5 s in) as its AAC soundtrack.
    let talk = read(video_with_sound(
        dir.path(),
        "talk.mp4",
        &bulletin,
        5.0,
        12.0,
    ));
    let faster = read(sped_up(dir.path(), "faster.mp3", &bulletin, 11025, 1.03));
    let curator = h.tokens.curator_a.clone();
    let matcher = h.tokens.matcher_a.clone();
    let (status, body) = send(
        h.post("/api/v1/banks", Some(&curator))
            .json(&json!({"name": "MEDIA", "description": "bulletins and videos"})),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let audio = upload(&h, &curator, "bulletin.flac", media.audio.clone()).await;

    let lookup = |name: &'static str, bytes: Vec<u8>| {
        let h = &h;
        let matcher = matcher.clone();
        async move {
            let (status, body) = send(
                h.post("/api/v1/lookup/upload", Some(&matcher))
                    .multipart(file_form("file", name, bytes)),
            )
            .await;
            assert_eq!(status, 200, "{name}: {body}");
            body
        }
    };
    let audio_hit = |body: &serde_json::Value, item: &serde_json::Value| {
        body["matches"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["signal_type"] == "audio" && m["content_id"] == item["id"])
            .cloned()
            .unwrap_or_else(|| panic!("no audio match for item {} in {body}", item["id"]))
    };

    let body = lookup("talk.mp4", talk.clone()).await;
    assert_eq!(body["fingerprints"]["kind"], "video");
    assert!(body["fingerprints"]["audio"]
        .as_str()
        .unwrap()
        .starts_with("audio:1:"));
    let hit = audio_hit(&body, &audio);
    let offset = hit["detail"]["offset_seconds"].as_f64().unwrap();
    assert!(
        (offset - 5.0).abs() < 0.5,
        "soundtrack starts 5 s in: {hit}"
    );
    assert!(hit["detail"].get("stretch").is_none(), "{hit}");

    let body = lookup("faster.mp3", faster).await;
    let hit = audio_hit(&body, &audio);
    assert_eq!(hit["detail"]["stretch"], "speed x1.030", "{hit}");

    // Banked, the video carries its soundtrack's fingerprint: the 10 s MP3 excerpt of the
    // bulletin finds both items.
    let video = upload(&h, &curator, "talk.mp4", talk).await;
    assert_eq!(
        signal_types(&video),
        ["audio", "md5", "sha256", "video_md5", "vpdq"]
    );
    let body = lookup("excerpt.mp3", media.audio_excerpt.clone()).await;
    audio_hit(&body, &audio);
    audio_hit(&body, &video);
    h.finish().await;
}

/// Truncated and corrupt video, zero-length audio and text that is not UTF-8: 422 with the
/// problem named, through both APIs.
async fn bad_media_kinds_are_unprocessable(backend: Backend) {
    let Some(h) = Harness::start(backend).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let media = fixtures(dir.path());
    let matcher = h.tokens.matcher_a.clone();
    let truncated = media.video[..media.video.len() * 2 / 5].to_vec();
    let mut corrupt = media.video.clone();
    for byte in corrupt.iter_mut().skip(48) {
        *byte ^= 0x5a;
    }
    let silent = ffmpeg(
        dir.path(),
        "silent.wav",
        &["-f", "lavfi", "-i", "anullsrc=r=8000:cl=mono", "-t", "0"],
    );
    let cases: [(&str, Vec<u8>, &str); 4] = [
        ("truncated.mp4", truncated.clone(), "video"),
        ("corrupt.mp4", corrupt, "video"),
        ("silent.wav", silent, "audio"),
        (
            "latin1.txt",
            b"Communiqu\xe9 du bureau de presse".to_vec(),
            "UTF-8",
        ),
    ];
    for (name, bytes, expected) in cases {
        let (status, body) = send(
            h.post("/api/v1/lookup/upload", Some(&matcher))
                .multipart(file_form("file", name, bytes)),
        )
        .await;
        assert_eq!(status, 422, "{name}: {body}");
        let message = body["error"].as_str().unwrap_or_default();
        assert!(message.contains(expected), "{name}: {message}");
    }
    let (status, body) = send(h.post("/h/hash", Some(&matcher)).multipart(file_form(
        "video",
        "truncated.mp4",
        truncated,
    )))
    .await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("video"),
        "{body}"
    );
    h.finish().await;
}

both_backends!(
    video_audio_and_text_bank_and_match,
    soundtracks_and_sped_up_copies_match_banked_audio,
    bad_media_kinds_are_unprocessable,
);
