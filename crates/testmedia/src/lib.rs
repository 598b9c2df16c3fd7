//! Media fixtures for tests, made by the `ffmpeg` program (installed by `.ci/run`) from its
//! `lavfi` sources: test patterns and chords from fixed expressions, so every run makes the same
//! pictures and sounds and nothing real is ever involved.
//!
//! It also finds the shared reference vectors ([`vectors`]), which the tests compare against
//! exactly but which live outside the repository.
//!
//! Only tests depend on this crate. Failures panic with ffmpeg's own message, which is what a
//! test wants: a fixture that cannot be made is a broken test machine, not a result.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The shared reference vectors (`pdq/`, `vpdq/`): `$TAKEDOWN_VECTORS` when set, otherwise
/// `shared/vectors` beside the repository (the layout the project is developed in).
/// `.ci/run` sets the variable for a clone made elsewhere.
///
/// # Panics
/// When the folder does not exist, naming where it looked and how to point at it.
pub fn vectors() -> PathBuf {
    let path = match std::env::var_os("TAKEDOWN_VECTORS") {
        Some(path) => PathBuf::from(path),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/vectors"),
    };
    assert!(
        path.join("pdq").is_dir(),
        "the reference vectors are not at {} (set TAKEDOWN_VECTORS to the shared vectors folder)",
        path.display()
    );
    path
}

/// Runs `ffmpeg ARGS DIR/NAME` (quiet, overwriting) and returns the output's path.
///
/// # Panics
/// When ffmpeg is missing or fails, with its stderr.
pub fn ffmpeg(dir: &Path, name: &str, args: &[&str]) -> PathBuf {
    let out = dir.join(name);
    let output = Command::new("ffmpeg")
        .args(["-nostdin", "-hide_banner", "-loglevel", "error", "-y"])
        .args(args)
        .arg(&out)
        .output()
        .unwrap_or_else(|e| panic!("these tests need ffmpeg (apt-get install -y ffmpeg): {e}"));
    assert!(
        output.status.success(),
        "ffmpeg {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    out
}

/// [`ffmpeg`], returning the file's bytes.
pub fn ffmpeg_bytes(dir: &Path, name: &str, args: &[&str]) -> Vec<u8> {
    let path = ffmpeg(dir, name, args);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Chords that change every 0.4 s, at 11,025 Hz: a `lavfi` source of `seconds` seconds. Rich
/// enough in changes for an audio fingerprint to align on, and the same on every run.
pub fn chords(seconds: f64) -> String {
    format!(
        "aevalsrc=0.4*sin(2*PI*(180+60*mod(floor(t*2.5)*7\\,13))*t)\
         +0.3*sin(2*PI*(420+45*mod(floor(t*2.5)*5\\,11))*t)\
         +0.2*sin(2*PI*(950+80*mod(floor(t*2.5)*3\\,7))*t):s=11025:d={seconds}"
    )
}

/// A moving 160x120 test pattern at 10 frames per second: a `lavfi` source.
pub fn pattern(seconds: f64) -> String {
    format!("testsrc2=size=160x120:rate=10:duration={seconds}")
}

/// A bulletin re-uploaded as a video: the test pattern over `seconds` of `sound` from `start`,
/// H.264 and AAC in MP4 (the soundtrack's codec delay and resampling are the real ones).
pub fn video_with_sound(dir: &Path, name: &str, sound: &Path, start: f64, seconds: f64) -> PathBuf {
    let (picture, start, length) = (pattern(seconds), start.to_string(), seconds.to_string());
    ffmpeg(
        dir,
        name,
        &[
            "-f",
            "lavfi",
            "-i",
            &picture,
            "-ss",
            &start,
            "-t",
            &length,
            "-i",
            sound.to_str().expect("UTF-8 path"),
            "-map",
            "0:v",
            "-map",
            "1:a",
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
            "-shortest",
        ],
    )
}

/// `sound` played `factor` times faster, pitch and all (a turntable or `asetrate` speed
/// change, as re-uploaders do to dodge plain fingerprints), as 64 kb/s MP3. `rate` is the
/// sound's sample rate.
pub fn sped_up(dir: &Path, name: &str, sound: &Path, rate: u32, factor: f64) -> PathBuf {
    let filter = format!("asetrate={rate}*{factor},aresample={rate}");
    ffmpeg(
        dir,
        name,
        &[
            "-i",
            sound.to_str().expect("UTF-8 path"),
            "-af",
            &filter,
            "-c:a",
            "libmp3lame",
            "-b:a",
            "64k",
        ],
    )
}
