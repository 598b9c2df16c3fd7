//! Video decoding through ffmpeg in a separate process, under limits, and vPDQ hashing of the
//! decoded frames.
//!
//! # Why a child process
//!
//! Video decoders are large C code bases that meet hostile files here. Running `ffmpeg` and
//! `ffprobe` (Debian's packages) as child processes means a decoder crash, hang or runaway
//! allocation takes down only that process; a wall-clock limit kills it
//! ([`VideoLimits::time_limit`]) and its stderr becomes the error message. Frames come back
//! as raw RGB24 on stdout and are read one at a time, so memory is bounded by one frame (plus
//! one in flight) whatever the length of the video.
//!
//! # Input
//!
//! Bytes are written to a temporary file rather than piped to stdin: an MP4 whose `moov`
//! index sits at the end (the default of most encoders) can only be read from a seekable
//! input. Paths are passed with the `file:` protocol prefix so that a name with a colon is not
//! taken for a URL, only the `file` protocol is allowed, and only the container formats of
//! [`DEFAULT_FORMATS`] are opened: playlists (HLS, `concat`) and image sequences could
//! otherwise make ffmpeg read other local files or fetch URLs.
//!
//! # Steps and limits
//!
//! 1. Size of the input against [`VideoLimits::max_input_bytes`].
//! 2. [`probe`]: `ffprobe` reads the container and the first video stream's header: codec,
//!    size, pixel format, frame rates, duration and stated frame count. Refused here: no
//!    video stream, a file ffmpeg cannot read ("moov atom not found" for a cut-off MP4),
//!    frames over [`VideoLimits::max_pixels`], a duration over
//!    [`VideoLimits::max_duration`] ("a ten-hour video"), a stated or estimated frame count
//!    over [`VideoLimits::max_frames`].
//! 3. [`decode_frames`]: `ffmpeg` decodes the stream, keeps every `k`-th frame, converts it
//!    to RGB24 and writes it to stdout. Headers can lie, so the limits are enforced again on
//!    the frames that actually arrive (frame numbers past the frame limit or past the
//!    duration limit at the stated frame rate stop the decoder).
//! 4. A file that ends early (ffmpeg reports a "partial file", or decoding errors with fewer
//!    frames than stated) is refused as truncated unless [`VideoOptions::allow_truncated`]
//!    is set: its hash would describe only the part that survived.
//!
//! # Reproducing Meta's vPDQ frame conversion on the ffmpeg command line
//!
//! Meta's C++ decodes with libavcodec and converts each sampled frame with
//! `sws_getContext(w, h, pix_fmt, W, H, RGB24, SWS_AREA)` and nothing else. The command line
//! differs in four ways that change pixels, each undone here:
//!
//! * ffmpeg rotates by the display matrix: `-noautorotate`.
//! * ffmpeg's default scaler flags are bicubic: the scale filter gets `flags=area`.
//! * The scale filter honours the stream's colour tags (a BT.709 or full-range tag), while a
//!   bare `sws_getContext` always converts with BT.601 coefficients and takes the range from
//!   the pixel format alone (`yuvj*` full, other YUV limited): `in_color_matrix=bt601` and
//!   `in_range` set from the pixel format.
//! * ffmpeg may duplicate or drop frames to keep a constant output rate:
//!   `-fps_mode passthrough`, so the `n`-th decoded frame is the `n`-th frame the `select`
//!   filter sees, as the C++ counts them.
//!
//! With the same libavcodec and libswscale (Debian's, which the PyPI `vpdq` package also
//! builds against) the frames are then identical, and so are the hashes
//! (`tests/video_vpdq.rs`, `bench/video`).

mod process;

use process::Supervised;
use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{ChildStdout, Command};
use std::time::Duration;
use takedown_signals::vpdq::{self, FrameSampler, VideoVariant, VpdqFeature};

/// Container formats (ffmpeg demuxer names) opened by default. Anything else, notably
/// playlists (`hls`, `concat`) and image sequences, is refused before a byte is decoded.
pub const DEFAULT_FORMATS: &str = "mov,matroska,webm,avi,flv,mpegts,mpeg,mpegvideo,ogg,asf,gif,\
                                   h264,hevc,m4v,ivf,mxf,nut,yuv4mpegpipe,apng,rm,dv,3gp";

/// Where the video comes from.
#[derive(Debug, Clone, Copy)]
pub enum VideoInput<'a> {
    /// The file's bytes (written to a temporary file for ffmpeg, which needs to seek).
    Bytes(&'a [u8]),
    /// A file on disk.
    Path(&'a Path),
}

/// Resource limits, checked on the header and again on the decoded frames.
#[derive(Debug, Clone, PartialEq)]
pub struct VideoLimits {
    /// Largest input accepted, in bytes.
    pub max_input_bytes: u64,
    /// Longest video accepted.
    pub max_duration: Duration,
    /// Most frames accepted (stated, estimated from duration and rate, or decoded).
    pub max_frames: u64,
    /// Most pixels per frame (width x height).
    pub max_pixels: u64,
    /// Wall-clock limit for each ffprobe and ffmpeg run; the process is killed past it.
    pub time_limit: Duration,
}

impl Default for VideoLimits {
    /// Admits what platforms host (4K, three hours) and refuses the pathological: a ten-hour
    /// stream, 8K-by-8K frames, more than a million frames.
    fn default() -> Self {
        VideoLimits {
            max_input_bytes: 4 * 1024 * 1024 * 1024,
            max_duration: Duration::from_secs(3 * 3600),
            max_frames: 1_000_000,
            max_pixels: 4096 * 4096,
            time_limit: Duration::from_secs(600),
        }
    }
}

/// The ffmpeg and ffprobe programs to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FfmpegTools {
    /// Path or name (looked up in `PATH`) of `ffmpeg`.
    pub ffmpeg: PathBuf,
    /// Path or name of `ffprobe`.
    pub ffprobe: PathBuf,
}

impl Default for FfmpegTools {
    fn default() -> Self {
        FfmpegTools {
            ffmpeg: PathBuf::from("ffmpeg"),
            ffprobe: PathBuf::from("ffprobe"),
        }
    }
}

impl FfmpegTools {
    /// Checks that both programs run (`-version`); the error says how to install them.
    pub fn check(&self) -> Result<(), VideoError> {
        for program in [&self.ffmpeg, &self.ffprobe] {
            let ran = Command::new(program)
                .arg("-version")
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status();
            match ran {
                Ok(status) if status.success() => {}
                Ok(status) => {
                    return Err(VideoError::ToolFailed {
                        program: program.display().to_string(),
                        detail: format!("`-version` exited with {status}"),
                    })
                }
                Err(e) => return Err(missing(program, &e)),
            }
        }
        Ok(())
    }
}

/// Everything a decode needs besides the input.
#[derive(Debug, Clone, PartialEq)]
pub struct VideoOptions {
    /// Resource limits.
    pub limits: VideoLimits,
    /// The programs to run.
    pub tools: FfmpegTools,
    /// Comma-separated ffmpeg demuxer names allowed to open the input.
    pub formats: String,
    /// Hash frames that survive from a file that ends early, flagging the result
    /// ([`VideoHashes::truncated`]) instead of refusing it.
    pub allow_truncated: bool,
    /// Decoder threads for ffmpeg (`None`: ffmpeg's choice, one per core).
    pub threads: Option<u32>,
}

impl Default for VideoOptions {
    fn default() -> Self {
        VideoOptions {
            limits: VideoLimits::default(),
            tools: FfmpegTools::default(),
            formats: DEFAULT_FORMATS.to_string(),
            allow_truncated: false,
            threads: None,
        }
    }
}

/// Facts about a video from its header (ffprobe).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct VideoInfo {
    /// ffmpeg's name for the container (`mov,mp4,m4a,3gp,3g2,mj2`, `matroska,webm`, ...).
    pub container: String,
    /// Codec of the first video stream (`h264`, `vp9`, ...).
    pub codec: String,
    /// Pixel format the decoder produces (`yuv420p`, `yuvj420p`, ...).
    pub pixel_format: String,
    /// Frame width in pixels.
    pub width: u32,
    /// Frame height in pixels.
    pub height: u32,
    /// Frames per second as vPDQ uses it: the average frame rate, or the base rate when the
    /// container states no average.
    pub frame_rate: f64,
    /// Duration in seconds (stream, else container), when stated.
    pub duration_seconds: Option<f64>,
    /// Frame count stated by the container, when stated.
    pub stated_frames: Option<u64>,
    /// Size of the input in bytes.
    pub input_bytes: u64,
    /// Whether the file also holds an audio stream (its soundtrack).
    pub has_audio: bool,
}

impl VideoInfo {
    /// Stated frame count, or duration times frame rate when only those are known.
    pub fn estimated_frames(&self) -> Option<u64> {
        self.stated_frames.or_else(|| {
            self.duration_seconds
                .map(|d| (d * self.frame_rate).ceil().max(0.0) as u64)
        })
    }
}

/// Which frames to decode and at what size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameSelection {
    /// Keep frames `0, k, 2k, ...` of the decoder's output (`k >= 1`).
    pub every: u64,
    /// Scale frames to this width and height (`None`: the stream's own size).
    pub size: Option<(u32, u32)>,
}

/// One decoded frame, RGB24, row-major without padding.
#[derive(Clone, PartialEq, Eq)]
pub struct RgbFrame {
    /// Index in the decoder's output order, from 0.
    pub number: u64,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// `width * height * 3` bytes.
    pub rgb: Vec<u8>,
}

impl std::fmt::Debug for RgbFrame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RgbFrame")
            .field("number", &self.number)
            .field("width", &self.width)
            .field("height", &self.height)
            .finish_non_exhaustive()
    }
}

/// vPDQ parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VpdqOptions {
    /// One hashed frame per this many seconds (0: every frame). Default 1.
    pub seconds_per_hash: f64,
    /// Downsample frames to this size before hashing (Meta's `-d`/`downsample_width` and
    /// height; its `*-128x128.txt` sample hashes use 128x128). `None`: full size.
    pub downsample: Option<(u32, u32)>,
    /// Also hash each frame's query-side variants ([`VideoVariant`]: mirrored back, dark bars
    /// cut away) into [`VideoHashes::variants`]. For matching an upload, never for banking:
    /// the plain features stay exactly Meta's either way. Default off.
    pub variants: bool,
}

impl Default for VpdqOptions {
    fn default() -> Self {
        VpdqOptions {
            seconds_per_hash: vpdq::DEFAULT_SECONDS_PER_HASH,
            downsample: None,
            variants: false,
        }
    }
}

/// The vPDQ hash of a video, with what was learnt on the way.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct VideoHashes {
    /// Header facts.
    pub info: VideoInfo,
    /// One feature per sampled frame, in frame order.
    pub features: Vec<VpdqFeature>,
    /// The file ended early and only the surviving frames were hashed (only with
    /// [`VideoOptions::allow_truncated`]).
    pub truncated: bool,
    /// Decoder complaints that did not stop decoding (the last few lines of ffmpeg's
    /// error output).
    pub warnings: Vec<String>,
    /// With [`VpdqOptions::variants`]: the features of the video with each change undone,
    /// frame for frame beside `features`. [`VideoVariant::BarsRemoved`] is listed only when
    /// some frame had bars (the others keep their plain hash, so percentages still count
    /// every frame).
    pub variants: Vec<(VideoVariant, Vec<VpdqFeature>)>,
}

/// Why a video could not be decoded or hashed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum VideoError {
    /// ffmpeg or ffprobe is not installed (or not where configured).
    #[error("{program} not found ({detail}); install ffmpeg (Debian: apt-get install -y ffmpeg)")]
    ToolMissing {
        /// The program that could not be started.
        program: String,
        /// The operating system's reason.
        detail: String,
    },
    /// ffmpeg or ffprobe could not be run or failed for a reason unrelated to the input.
    #[error("{program} failed: {detail}")]
    ToolFailed {
        /// The program.
        program: String,
        /// What happened.
        detail: String,
    },
    /// The input had no bytes.
    #[error("empty input: zero bytes")]
    Empty,
    /// The input is larger than [`VideoLimits::max_input_bytes`].
    #[error("input is {size} bytes, more than the limit of {limit} bytes")]
    InputTooLarge {
        /// Bytes supplied.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// ffmpeg cannot read the file: not a video, a format not allowed, or damaged beyond
    /// reading (a cut-off MP4 without its index says "moov atom not found").
    #[error(
        "not a readable video (truncated or corrupt, or not a video format allowed): {detail}"
    )]
    Unreadable {
        /// ffprobe's own words.
        detail: String,
    },
    /// The file has no video stream (an audio file, say).
    #[error("no video stream in the file (container {container})")]
    NoVideoStream {
        /// ffmpeg's name for the container.
        container: String,
    },
    /// The header states something unusable (zero size, no frame rate).
    #[error("unusable video header: {detail}")]
    BadHeader {
        /// What is wrong.
        detail: String,
    },
    /// Frames are larger than [`VideoLimits::max_pixels`].
    #[error("frames are {width}x{height}, more than the limit of {limit} pixels")]
    FramesTooLarge {
        /// Frame width.
        width: u32,
        /// Frame height.
        height: u32,
        /// The limit.
        limit: u64,
    },
    /// The video is longer than [`VideoLimits::max_duration`].
    #[error("video lasts {seconds:.0} s, more than the limit of {limit_seconds} s")]
    TooLong {
        /// Stated duration, or the time reached while decoding.
        seconds: f64,
        /// The limit.
        limit_seconds: u64,
    },
    /// The video has more frames than [`VideoLimits::max_frames`].
    #[error("video has {frames} frames or more, more than the limit of {limit}")]
    TooManyFrames {
        /// Stated, estimated or reached frame count.
        frames: u64,
        /// The limit.
        limit: u64,
    },
    /// A process ran past [`VideoLimits::time_limit`] and was killed.
    #[error("{stage} took longer than the limit of {} s and was stopped", limit.as_secs_f64())]
    TimedOut {
        /// `probing` or `decoding`.
        stage: &'static str,
        /// The limit.
        limit: Duration,
    },
    /// The file ends early; only part of it could be decoded.
    #[error("truncated video: {detail}")]
    Truncated {
        /// What ffmpeg reported and how many frames came out.
        detail: String,
    },
    /// ffmpeg stopped with an error while decoding.
    #[error("decoding failed ({status}): {detail}")]
    DecodeFailed {
        /// How the process ended.
        status: String,
        /// The end of ffmpeg's error output.
        detail: String,
    },
    /// Decoding produced no frame at all.
    #[error("no frame could be decoded{}", if detail.is_empty() { String::new() } else { format!(": {detail}") })]
    NoFrames {
        /// The end of ffmpeg's error output.
        detail: String,
    },
    /// Writing the temporary copy of the input failed.
    #[error("temporary file: {0}")]
    TempFile(String),
    /// A vPDQ parameter was unusable.
    #[error(transparent)]
    Vpdq(#[from] vpdq::VpdqError),
}

fn missing(program: &Path, error: &std::io::Error) -> VideoError {
    if error.kind() == std::io::ErrorKind::NotFound {
        VideoError::ToolMissing {
            program: program.display().to_string(),
            detail: error.to_string(),
        }
    } else {
        VideoError::ToolFailed {
            program: program.display().to_string(),
            detail: error.to_string(),
        }
    }
}

/// An input ready for ffmpeg: a path, plus the temporary file that must outlive the decode.
pub struct PreparedInput {
    path: PathBuf,
    bytes: u64,
    _temp: Option<tempfile::NamedTempFile>,
}

impl std::fmt::Debug for PreparedInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PreparedInput")
            .field("path", &self.path)
            .field("bytes", &self.bytes)
            .finish_non_exhaustive()
    }
}

impl PreparedInput {
    /// Checks the size limit and, for bytes, writes the temporary copy.
    pub fn new(input: VideoInput<'_>, limits: &VideoLimits) -> Result<Self, VideoError> {
        match input {
            VideoInput::Bytes(bytes) => {
                check_size(bytes.len() as u64, limits)?;
                let mut temp = tempfile::Builder::new()
                    .prefix("takedown-video-")
                    .tempfile()
                    .map_err(|e| VideoError::TempFile(e.to_string()))?;
                std::io::Write::write_all(&mut temp, bytes)
                    .and_then(|()| std::io::Write::flush(&mut temp))
                    .map_err(|e| VideoError::TempFile(e.to_string()))?;
                Ok(PreparedInput {
                    path: temp.path().to_path_buf(),
                    bytes: bytes.len() as u64,
                    _temp: Some(temp),
                })
            }
            VideoInput::Path(path) => {
                let size = std::fs::metadata(path)
                    .map_err(|e| VideoError::Unreadable {
                        detail: format!("{}: {e}", path.display()),
                    })?
                    .len();
                check_size(size, limits)?;
                Ok(PreparedInput {
                    path: path.to_path_buf(),
                    bytes: size,
                    _temp: None,
                })
            }
        }
    }

    /// The input as ffmpeg should be given it: the `file:` protocol, so that a colon in a
    /// name is never read as a URL scheme.
    fn url(&self) -> std::ffi::OsString {
        let mut url = std::ffi::OsString::from("file:");
        url.push(self.path.as_os_str());
        url
    }
}

fn check_size(size: u64, limits: &VideoLimits) -> Result<(), VideoError> {
    if size == 0 {
        return Err(VideoError::Empty);
    }
    if size > limits.max_input_bytes {
        return Err(VideoError::InputTooLarge {
            size,
            limit: limits.max_input_bytes,
        });
    }
    Ok(())
}

/// Reads the header of the first video stream with ffprobe and checks it against the limits.
pub fn probe(input: &PreparedInput, options: &VideoOptions) -> Result<VideoInfo, VideoError> {
    let mut command = Command::new(&options.tools.ffprobe);
    command
        .args(["-v", "error", "-hide_banner", "-protocol_whitelist", "file"])
        .arg("-format_whitelist")
        .arg(&options.formats)
        // Every stream, not only `v:0`: whether there is sound decides if the soundtrack is
        // fingerprinted too.
        .arg("-show_entries")
        .arg(
            "stream=codec_type,codec_name,width,height,pix_fmt,avg_frame_rate,r_frame_rate,\
             nb_frames,duration:format=format_name,duration",
        )
        .arg(input.url());
    let mut child = Supervised::spawn(command, options.limits.time_limit)
        .map_err(|e| missing(&options.tools.ffprobe, &e))?;
    let mut output = String::new();
    if let Some(mut stdout) = child.take_stdout() {
        // Bounded: a few hundred bytes are expected; more is not ffprobe's header output.
        let _ = (&mut stdout).take(1 << 20).read_to_string(&mut output);
    }
    let ended = child.wait().map_err(|e| VideoError::ToolFailed {
        program: options.tools.ffprobe.display().to_string(),
        detail: e.to_string(),
    })?;
    if ended.timed_out {
        return Err(VideoError::TimedOut {
            stage: "probing",
            limit: options.limits.time_limit,
        });
    }
    if !ended.status.success() {
        return Err(VideoError::Unreadable {
            detail: last_lines(&ended.stderr, 3, "ffprobe could not read the file"),
        });
    }
    let info = parse_probe(&output, input.bytes)?;
    check_header(&info, &options.limits)?;
    Ok(info)
}

/// Parses ffprobe's `default` writer output (`[STREAM]` sections, one per stream in file order,
/// and a `[FORMAT]` section, each of `key=value` lines).
fn parse_probe(output: &str, input_bytes: u64) -> Result<VideoInfo, VideoError> {
    let mut streams: Vec<HashMap<&str, &str>> = Vec::new();
    let mut format: HashMap<&str, &str> = HashMap::new();
    let mut current: Option<&str> = None;
    for line in output.lines() {
        let line = line.trim();
        if line.starts_with("[/") {
            current = None;
        } else if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            current = Some(name);
            if name == "STREAM" {
                streams.push(HashMap::new());
            }
        } else if let Some((key, value)) = line.split_once('=') {
            match current {
                Some("STREAM") => {
                    if let Some(stream) = streams.last_mut() {
                        stream.insert(key, value);
                    }
                }
                Some("FORMAT") => {
                    format.insert(key, value);
                }
                _ => {}
            }
        }
    }
    let container = format.get("format_name").copied().unwrap_or("unknown");
    fn kind<'a>(stream: &HashMap<&str, &'a str>) -> Option<&'a str> {
        stream.get("codec_type").copied()
    }
    // ffmpeg's `0:v:0` is the first stream whose type is video; output without types (older
    // callers, the tests' short samples) lists only that stream.
    let Some(stream) = streams
        .iter()
        .find(|stream| matches!(kind(stream), Some("video") | None))
    else {
        return Err(VideoError::NoVideoStream {
            container: container.to_string(),
        });
    };
    let has_audio = streams.iter().any(|stream| kind(stream) == Some("audio"));
    let number = |key: &str| -> Option<u64> { stream.get(key).and_then(|v| v.parse().ok()) };
    let seconds = |map: &HashMap<&str, &str>| -> Option<f64> {
        map.get("duration")
            .and_then(|v| v.parse::<f64>().ok())
            .filter(|d| d.is_finite() && *d >= 0.0)
    };
    let width = number("width").unwrap_or(0);
    let height = number("height").unwrap_or(0);
    if width == 0 || height == 0 || width > u64::from(u32::MAX) || height > u64::from(u32::MAX) {
        return Err(VideoError::BadHeader {
            detail: format!("frame size {width}x{height}"),
        });
    }
    // vPDQ's rule: the average frame rate, falling back to the base rate when it is 0/0.
    let frame_rate = [stream.get("avg_frame_rate"), stream.get("r_frame_rate")]
        .into_iter()
        .flatten()
        .find_map(|text| parse_rate(text))
        .ok_or_else(|| VideoError::BadHeader {
            detail: "no frame rate stated".to_string(),
        })?;
    Ok(VideoInfo {
        container: container.to_string(),
        codec: stream.get("codec_name").unwrap_or(&"unknown").to_string(),
        pixel_format: stream.get("pix_fmt").unwrap_or(&"unknown").to_string(),
        width: width as u32,
        height: height as u32,
        frame_rate,
        duration_seconds: seconds(stream).or_else(|| seconds(&format)),
        stated_frames: number("nb_frames").filter(|n| *n > 0),
        input_bytes,
        has_audio,
    })
}

/// `num/den` as a positive rate; `None` for `0/0`, `N/A` and the like.
fn parse_rate(text: &str) -> Option<f64> {
    let (num, den) = text.split_once('/')?;
    let (num, den): (i64, i64) = (num.parse().ok()?, den.parse().ok()?);
    (num > 0 && den > 0).then(|| num as f64 / den as f64)
}

fn check_header(info: &VideoInfo, limits: &VideoLimits) -> Result<(), VideoError> {
    let pixels = u64::from(info.width) * u64::from(info.height);
    if pixels > limits.max_pixels {
        return Err(VideoError::FramesTooLarge {
            width: info.width,
            height: info.height,
            limit: limits.max_pixels,
        });
    }
    if let Some(seconds) = info.duration_seconds {
        if seconds > limits.max_duration.as_secs_f64() {
            return Err(VideoError::TooLong {
                seconds,
                limit_seconds: limits.max_duration.as_secs(),
            });
        }
    }
    if let Some(frames) = info.estimated_frames() {
        if frames > limits.max_frames {
            return Err(VideoError::TooManyFrames {
                frames,
                limit: limits.max_frames,
            });
        }
    }
    Ok(())
}

/// The last `n` non-empty lines of a process's error output, or `fallback` if there are none.
fn last_lines(stderr: &str, n: usize, fallback: &str) -> String {
    let lines: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    if lines.is_empty() {
        return fallback.to_string();
    }
    lines[lines.len().saturating_sub(n)..].join("; ")
}

/// The range option that makes ffmpeg's scale filter convert like a bare `sws_getContext`:
/// full range for the `yuvj*` formats, limited for other YUV, untouched otherwise.
fn input_range(pixel_format: &str) -> Option<&'static str> {
    if pixel_format.starts_with("yuvj") {
        Some("pc")
    } else if pixel_format.starts_with("yuv") || pixel_format.starts_with("nv") {
        Some("tv")
    } else {
        None
    }
}

/// Decoded frames, streamed from ffmpeg's stdout one at a time.
///
/// An iterator of `Result<RgbFrame, VideoError>`; after the last frame it checks how ffmpeg
/// ended and yields an error if it failed. Dropping it early kills ffmpeg.
pub struct VideoFrames {
    child: Option<Supervised>,
    stdout: Option<ChildStdout>,
    width: u32,
    height: u32,
    every: u64,
    next_index: u64,
    max_frame_number: u64,
    limits: VideoLimits,
    info: VideoInfo,
    allow_truncated: bool,
    truncated: bool,
    warnings: Vec<String>,
    done: bool,
    _input: std::sync::Arc<PreparedInput>,
}

impl std::fmt::Debug for VideoFrames {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VideoFrames")
            .field("width", &self.width)
            .field("height", &self.height)
            .field("every", &self.every)
            .field("next_index", &self.next_index)
            .finish_non_exhaustive()
    }
}

/// Starts ffmpeg on a probed input and returns the selected frames as a stream.
pub fn decode_frames(
    input: std::sync::Arc<PreparedInput>,
    info: &VideoInfo,
    selection: FrameSelection,
    options: &VideoOptions,
) -> Result<VideoFrames, VideoError> {
    let every = selection.every.max(1);
    let (width, height) = selection.size.unwrap_or((info.width, info.height));
    if width == 0 || height == 0 {
        return Err(VideoError::BadHeader {
            detail: format!("requested frame size {width}x{height}"),
        });
    }
    if u64::from(width) * u64::from(height) > options.limits.max_pixels {
        return Err(VideoError::FramesTooLarge {
            width,
            height,
            limit: options.limits.max_pixels,
        });
    }
    let mut filters = Vec::new();
    if every > 1 {
        filters.push(format!("select=not(mod(n\\,{every}))"));
    }
    let mut scale = format!("scale={width}:{height}:flags=area:in_color_matrix=bt601");
    if let Some(range) = input_range(&info.pixel_format) {
        scale.push_str(":in_range=");
        scale.push_str(range);
    }
    filters.push(scale);
    filters.push("format=rgb24".to_string());

    let mut command = Command::new(&options.tools.ffmpeg);
    command.args(["-nostdin", "-hide_banner", "-nostats", "-loglevel", "error"]);
    if let Some(threads) = options.threads {
        command.arg("-threads").arg(threads.to_string());
    }
    command
        .args(["-noautorotate", "-protocol_whitelist", "file"])
        .arg("-format_whitelist")
        .arg(&options.formats)
        .arg("-i")
        .arg(input.url())
        .args([
            "-map",
            "0:v:0",
            "-an",
            "-sn",
            "-dn",
            "-fps_mode",
            "passthrough",
        ])
        .arg("-vf")
        .arg(filters.join(","))
        .args(["-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"]);
    let mut child = Supervised::spawn(command, options.limits.time_limit)
        .map_err(|e| missing(&options.tools.ffmpeg, &e))?;
    let stdout = child.take_stdout();
    // The last frame number allowed: within the frame limit and within the duration limit
    // at the stated rate (headers can understate both).
    let by_duration = (options.limits.max_duration.as_secs_f64() * info.frame_rate).floor();
    let max_frame_number =
        options
            .limits
            .max_frames
            .min(if by_duration.is_finite() && by_duration >= 0.0 {
                by_duration as u64
            } else {
                u64::MAX
            });
    Ok(VideoFrames {
        child: Some(child),
        stdout,
        width,
        height,
        every,
        next_index: 0,
        max_frame_number,
        limits: options.limits.clone(),
        info: info.clone(),
        allow_truncated: options.allow_truncated,
        truncated: false,
        warnings: Vec::new(),
        done: false,
        _input: input,
    })
}

impl VideoFrames {
    /// Whether the file turned out to be truncated (set once the stream has ended, only when
    /// truncated files are allowed).
    pub fn truncated(&self) -> bool {
        self.truncated
    }

    /// ffmpeg's complaints that did not stop decoding (available once the stream has ended).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    fn fail(&mut self, error: VideoError) -> Option<Result<RgbFrame, VideoError>> {
        self.done = true;
        self.stdout = None;
        if let Some(mut child) = self.child.take() {
            child.kill();
        }
        Some(Err(error))
    }

    /// Called at end of stream: how did ffmpeg end, and was the file whole?
    fn finish(&mut self) -> Option<Result<RgbFrame, VideoError>> {
        self.done = true;
        self.stdout = None;
        let child = self.child.take()?;
        let ended = match child.wait() {
            Ok(ended) => ended,
            Err(e) => {
                return Some(Err(VideoError::ToolFailed {
                    program: "ffmpeg".to_string(),
                    detail: e.to_string(),
                }))
            }
        };
        if ended.timed_out {
            return Some(Err(VideoError::TimedOut {
                stage: "decoding",
                limit: self.limits.time_limit,
            }));
        }
        let detail = last_lines(&ended.stderr, 3, "");
        if !ended.status.success() {
            return Some(Err(VideoError::DecodeFailed {
                status: ended.status.to_string(),
                detail: if detail.is_empty() {
                    "no error output".to_string()
                } else {
                    detail
                },
            }));
        }
        let produced = self.next_index;
        if produced == 0 {
            return Some(Err(VideoError::NoFrames { detail }));
        }
        // Truncation: the demuxer says so, or errors came with fewer frames than stated.
        let expected = self
            .info
            .stated_frames
            .map(|frames| frames.div_ceil(self.every));
        let short = expected.is_some_and(|expected| produced < expected);
        let partial = ended.stderr.contains("partial file");
        if partial || (short && !detail.is_empty()) {
            let what = match expected {
                Some(expected) => format!(
                    "{produced} of {expected} sampled frames decoded ({})",
                    if detail.is_empty() {
                        "no error output"
                    } else {
                        &detail
                    }
                ),
                None => detail.clone(),
            };
            if !self.allow_truncated {
                return Some(Err(VideoError::Truncated { detail: what }));
            }
            self.truncated = true;
        }
        self.warnings = ended
            .stderr
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .rev()
            .take(5)
            .map(str::to_string)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        None
    }
}

impl Iterator for VideoFrames {
    type Item = Result<RgbFrame, VideoError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let frame_bytes = self.width as usize * self.height as usize * 3;
        let number = self.next_index.saturating_mul(self.every);
        let stdout = self.stdout.as_mut()?;
        let mut rgb = vec![0u8; frame_bytes];
        let mut filled = 0;
        while filled < frame_bytes {
            match stdout.read(&mut rgb[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    return self.fail(VideoError::ToolFailed {
                        program: "ffmpeg".to_string(),
                        detail: format!("reading frames: {e}"),
                    })
                }
            }
        }
        if filled < frame_bytes {
            // End of stream (a partial frame means ffmpeg was killed or died mid-write).
            return self.finish();
        }
        if number > self.max_frame_number {
            let error = if number > self.limits.max_frames {
                VideoError::TooManyFrames {
                    frames: number,
                    limit: self.limits.max_frames,
                }
            } else {
                VideoError::TooLong {
                    seconds: number as f64 / self.info.frame_rate,
                    limit_seconds: self.limits.max_duration.as_secs(),
                }
            };
            return self.fail(error);
        }
        self.next_index += 1;
        Some(Ok(RgbFrame {
            number,
            width: self.width,
            height: self.height,
            rgb,
        }))
    }
}

/// Probes, decodes and vPDQ-hashes a video: the frames Meta's `vpdq` would hash, hashed as
/// it hashes them. Decoding (ffmpeg, plus reading its output on a helper thread) overlaps
/// with hashing.
pub fn hash_vpdq(
    input: VideoInput<'_>,
    vpdq_options: &VpdqOptions,
    options: &VideoOptions,
) -> Result<VideoHashes, VideoError> {
    let prepared = std::sync::Arc::new(PreparedInput::new(input, &options.limits)?);
    let info = probe(&prepared, options)?;
    let sampler = FrameSampler::new(info.frame_rate, vpdq_options.seconds_per_hash)?;
    let selection = FrameSelection {
        every: sampler.interval(),
        size: vpdq_options.downsample,
    };
    let mut frames = decode_frames(prepared, &info, selection, options)?;
    let (sender, receiver) = std::sync::mpsc::sync_channel::<Result<RgbFrame, VideoError>>(2);
    let (hashed, reader) = std::thread::scope(|scope| {
        let reader = scope.spawn(move || {
            for frame in frames.by_ref() {
                if sender.send(frame).is_err() {
                    break;
                }
            }
            frames
        });
        let mut hashed = HashedFrames::default();
        let mut failure = None;
        let timestamp = |number| sampler.timestamp(number);
        for frame in receiver {
            match frame.and_then(|frame| {
                hashed
                    .push(&frame, vpdq_options.variants, timestamp)
                    .map_err(VideoError::from)
            }) {
                Ok(()) => {}
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
        let reader = reader.join();
        (failure.map_or(Ok(hashed), Err), reader)
    });
    let mut hashed = hashed?;
    let frames = reader.map_err(|_| VideoError::ToolFailed {
        program: "ffmpeg".to_string(),
        detail: "frame reader thread panicked".to_string(),
    })?;
    let variants = hashed.variants();
    Ok(VideoHashes {
        info,
        features: hashed.plain,
        truncated: frames.truncated(),
        warnings: frames.warnings().to_vec(),
        variants,
    })
}

/// Features collected as frames arrive: the plain ones and, when asked, each variant's.
#[derive(Default)]
struct HashedFrames {
    plain: Vec<VpdqFeature>,
    mirrored: Vec<VpdqFeature>,
    bars_removed: Vec<VpdqFeature>,
    frames_with_bars: usize,
}

impl HashedFrames {
    fn push(
        &mut self,
        frame: &RgbFrame,
        variants: bool,
        timestamp: impl Fn(u64) -> f64,
    ) -> Result<(), vpdq::VpdqError> {
        let feature = |hash, quality| VpdqFeature {
            frame_number: frame.number,
            hash,
            quality,
            timestamp: timestamp(frame.number),
        };
        if !variants {
            let pdq = vpdq::hash_rgb_frame(&frame.rgb, frame.width, frame.height)?;
            self.plain.push(feature(pdq.hash, pdq.quality));
            return Ok(());
        }
        let hashes = vpdq::hash_rgb_frame_variants(&frame.rgb, frame.width, frame.height)?;
        let plain = feature(hashes.plain.hash, hashes.plain.quality);
        self.plain.push(plain);
        self.mirrored
            .push(feature(hashes.mirrored, hashes.plain.quality));
        self.bars_removed.push(match hashes.bars_removed {
            Some(inner) => {
                self.frames_with_bars += 1;
                feature(inner.hash, inner.quality)
            }
            None => plain,
        });
        Ok(())
    }

    fn variants(&mut self) -> Vec<(VideoVariant, Vec<VpdqFeature>)> {
        let mut out = Vec::new();
        if !self.mirrored.is_empty() {
            out.push((VideoVariant::Mirrored, std::mem::take(&mut self.mirrored)));
        }
        if self.frames_with_bars > 0 {
            out.push((
                VideoVariant::BarsRemoved,
                std::mem::take(&mut self.bars_removed),
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_output_is_parsed_with_vpdq_frame_rate_rule() {
        let text = "[STREAM]\ncodec_name=h264\nwidth=1280\nheight=720\npix_fmt=yuv420p\n\
                    r_frame_rate=30/1\navg_frame_rate=0/0\nduration=N/A\nnb_frames=N/A\n\
                    [/STREAM]\n[FORMAT]\nformat_name=matroska,webm\nduration=4.5\n[/FORMAT]\n";
        let info = parse_probe(text, 10).unwrap();
        assert_eq!((info.width, info.height), (1280, 720));
        assert_eq!(info.frame_rate, 30.0);
        assert_eq!(info.duration_seconds, Some(4.5));
        assert_eq!(info.stated_frames, None);
        assert_eq!(info.estimated_frames(), Some(135));
        assert_eq!(info.container, "matroska,webm");
        assert!(!info.has_audio);
        // Every stream listed, sound first: the video stream is still found, and the sound
        // noted.
        let typed = format!(
            "[STREAM]\ncodec_type=audio\ncodec_name=aac\n[/STREAM]\n{}",
            text.replace("[STREAM]\n", "[STREAM]\ncodec_type=video\n")
        );
        let info = parse_probe(&typed, 10).unwrap();
        assert_eq!((info.codec.as_str(), info.width), ("h264", 1280));
        assert!(info.has_audio);
        let sound_only = "[STREAM]\ncodec_type=audio\ncodec_name=opus\n[/STREAM]\n\
                          [FORMAT]\nformat_name=matroska,webm\n[/FORMAT]\n";
        assert!(matches!(
            parse_probe(sound_only, 10),
            Err(VideoError::NoVideoStream { .. })
        ));
        let audio_only = "[FORMAT]\nformat_name=wav\nduration=1.0\n[/FORMAT]\n";
        assert!(matches!(
            parse_probe(audio_only, 10),
            Err(VideoError::NoVideoStream { container }) if container == "wav"
        ));
        let no_rate = text.replace("r_frame_rate=30/1", "r_frame_rate=0/0");
        assert!(matches!(
            parse_probe(&no_rate, 10),
            Err(VideoError::BadHeader { .. })
        ));
    }

    #[test]
    fn header_limits_refuse_long_large_and_many() {
        let text = "[STREAM]\ncodec_name=h264\nwidth=1920\nheight=1080\npix_fmt=yuv420p\n\
                    r_frame_rate=25/1\navg_frame_rate=25/1\nduration=36000.0\nnb_frames=900000\n\
                    [/STREAM]\n[FORMAT]\nformat_name=mov\n[/FORMAT]\n";
        let info = parse_probe(text, 10).unwrap();
        let limits = VideoLimits::default();
        let err = check_header(&info, &limits).unwrap_err();
        assert!(matches!(err, VideoError::TooLong { .. }), "{err}");
        assert!(err.to_string().contains("36000 s"), "{err}");
        let mut small = limits.clone();
        small.max_duration = Duration::from_secs(100_000);
        small.max_frames = 1000;
        assert!(matches!(
            check_header(&info, &small),
            Err(VideoError::TooManyFrames { frames: 900000, .. })
        ));
        small.max_pixels = 1000;
        assert!(matches!(
            check_header(&info, &small),
            Err(VideoError::FramesTooLarge { .. })
        ));
    }

    #[test]
    fn range_follows_the_pixel_format() {
        assert_eq!(input_range("yuvj420p"), Some("pc"));
        assert_eq!(input_range("yuv420p10le"), Some("tv"));
        assert_eq!(input_range("nv12"), Some("tv"));
        assert_eq!(input_range("gray"), None);
        assert_eq!(input_range("rgb24"), None);
    }
}
