//! The out-of-process decoder: ffmpeg in a child process with a wall-clock limit.

use super::symphonia_decode::too_long;
use super::{AudioContainer, AudioDecoder, AudioError, AudioLimits, DecodedAudio, MonoSink};
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Instant;

/// The rate ffmpeg is asked for; our resampler takes it to 11,025 Hz (exactly 4:1).
const FFMPEG_RATE: u32 = 44_100;
/// Bytes of ffmpeg's error output kept for the error message.
const STDERR_KEEP: usize = 2048;
/// Demuxers ffmpeg may use. Playlists (HLS, DASH, concat, ...) are left out: they name other
/// files or URLs, and decoding a file must never read anything but that file.
const DEMUXERS: &str = "ogg,matroska,webm,mov,mp4,m4a,3gp,mp3,aac,flac,wav,w64,aiff,amr,\
                        amrnb,amrwb,asf,avi,flv,mpegts,caf,au,wv,ape,ac3,eac3,dts,mpeg,\
                        mpegps,truehd,tta,voc";

pub(crate) fn decode(
    bytes: &[u8],
    container: AudioContainer,
    limits: &AudioLimits,
    program: &Path,
) -> Result<DecodedAudio, AudioError> {
    let io = |what: &str, e: std::io::Error| AudioError::Io(format!("{what}: {e}"));
    // A private temporary file (mode 0600, removed on drop): MP4 may need seeking.
    let mut input = tempfile::Builder::new()
        .prefix("takedown-audio-")
        .tempfile()
        .map_err(|e| io("temporary file", e))?;
    input
        .write_all(bytes)
        .and_then(|()| input.flush())
        .map_err(|e| io("temporary file", e))?;

    // Ask for a little more than the limit so that "longer than the limit" is detectable.
    let cap_seconds = limits.max_duration.as_secs_f64() + 1.0;
    let mut command = Command::new(program);
    command
        .args([
            "-nostdin",
            "-hide_banner",
            "-loglevel",
            "error",
            "-threads",
            "1",
        ])
        .args(["-protocol_whitelist", "file", "-format_whitelist", DEMUXERS])
        .arg("-i")
        .arg(input.path())
        .args(["-map", "0:a:0", "-vn", "-sn", "-dn", "-ac", "1"])
        .args(["-ar", &FFMPEG_RATE.to_string()])
        .args(["-t", &format!("{cap_seconds:.3}")])
        .args(["-f", "f32le", "-c:a", "pcm_f32le", "pipe:1"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().map_err(|e| AudioError::FfmpegMissing {
        program: program.display().to_string(),
        detail: e.to_string(),
    })?;

    // Readers on their own threads, so that the wall-clock limit holds even when ffmpeg stops
    // writing without exiting.
    let (Some(mut stdout), Some(mut stderr)) = (child.stdout.take(), child.stderr.take()) else {
        kill(&mut child);
        return Err(AudioError::Io("ffmpeg pipes were not created".into()));
    };
    let (sender, chunks) = mpsc::sync_channel::<Vec<u8>>(16);
    let reader = std::thread::spawn(move || {
        let mut buffer = vec![0u8; 1 << 16];
        loop {
            match stdout.read(&mut buffer) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if sender.send(buffer[..n].to_vec()).is_err() {
                        break;
                    }
                }
            }
        }
    });
    let stderr_reader = std::thread::spawn(move || {
        let mut all = Vec::new();
        let mut buffer = [0u8; 4096];
        while let Ok(n) = stderr.read(&mut buffer) {
            if n == 0 {
                break;
            }
            all.extend_from_slice(&buffer[..n]);
            if all.len() > 4 * STDERR_KEEP {
                all.drain(..all.len() - STDERR_KEEP);
            }
        }
        all
    });

    let deadline = Instant::now() + limits.ffmpeg_timeout;
    let mut sink = MonoSink::new(FFMPEG_RATE, limits.max_duration);
    let mut pending: Vec<u8> = Vec::new();
    let mut floats: Vec<f32> = Vec::new();
    let outcome: Result<(), AudioError> = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match chunks.recv_timeout(left) {
            Ok(chunk) => {
                pending.extend_from_slice(&chunk);
                let whole = pending.len() / 4 * 4;
                floats.clear();
                floats.extend(
                    pending[..whole]
                        .chunks_exact(4)
                        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])),
                );
                pending.drain(..whole);
                if sink.push(&floats, 1).is_err() {
                    break Err(too_long(container, limits));
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break Ok(()),
            Err(mpsc::RecvTimeoutError::Timeout) => {
                break Err(AudioError::FfmpegTimeout {
                    container,
                    seconds: limits.ffmpeg_timeout.as_secs(),
                })
            }
        }
    };
    if let Err(e) = outcome {
        kill(&mut child);
        // The reader threads are not joined: a grandchild (a wrapper script's) may still hold
        // the pipes open. They end by themselves when the pipes close or the channel is gone.
        drop(chunks);
        drop((reader, stderr_reader));
        return Err(e);
    }
    let _ = reader.join();
    // stdout is closed; the process is exiting. Wait for it, still within the deadline.
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Ok(status),
            Ok(None) if Instant::now() >= deadline => {
                kill(&mut child);
                break Err(AudioError::FfmpegTimeout {
                    container,
                    seconds: limits.ffmpeg_timeout.as_secs(),
                });
            }
            Ok(None) => std::thread::sleep(std::time::Duration::from_millis(5)),
            Err(e) => break Err(io("waiting for ffmpeg", e)),
        }
    };
    let stderr_bytes = stderr_reader.join().unwrap_or_default();
    let status = status?;
    if !status.success() {
        let text = String::from_utf8_lossy(&stderr_bytes);
        let tail: String = text.trim().chars().rev().take(STDERR_KEEP).collect();
        let tail: String = tail.chars().rev().collect();
        let detail = if tail.is_empty() {
            "no error output".to_string()
        } else {
            tail
        };
        if detail.contains("matches no streams") || detail.contains("does not contain any stream") {
            return Err(AudioError::NoAudioTrack { container });
        }
        return Err(AudioError::Ffmpeg {
            container,
            status: describe_status(&status),
            stderr: detail,
        });
    }
    let (samples, source_rate) = sink.finish();
    Ok(DecodedAudio {
        samples,
        sample_rate: takedown_signals::audio::SAMPLE_RATE,
        container,
        source_sample_rate: source_rate,
        source_channels: 0,
        decoder: AudioDecoder::Ffmpeg,
        warnings: Vec::new(),
    })
}

fn kill(child: &mut Child) {
    // Already exited is fine; there is nothing else to do about a failure to kill.
    let _ = child.kill();
    let _ = child.wait();
}

fn describe_status(status: &std::process::ExitStatus) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return format!("killed by signal {signal}");
        }
    }
    match status.code() {
        Some(code) => format!("exit status {code}"),
        None => "abnormal exit".to_string(),
    }
}
