//! vPDQ, Meta's video fingerprint: the PDQ hash of frames sampled at a fixed rate, each with
//! its quality and timestamp, and the two-percentage match rule.
//!
//! This module is the pure half: which frames are sampled, how one decoded frame is hashed,
//! the text format of a hash, and the match rule. Decoding (ffmpeg in a separate process)
//! lives in `takedown_media::video`; the index over many banked videos in
//! `takedown_index::video`.
//!
//! # Same frames, same hashes as Meta's `vpdq`
//!
//! Everything here follows Meta's C++ (`vpdq/cpp/vpdq/cpp/hashing/` in
//! facebook/ThreatExchange, the code inside the PyPI `vpdq` package):
//!
//! * **Which frames.** The decoder's output frames are numbered from 0 in the order it
//!   returns them (the codec's `frame_number - 1`). With `seconds_per_hash` `s` and the
//!   stream's frame rate `f` (`avg_frame_rate`, or `r_frame_rate` when that is 0/0), every
//!   `k`-th frame is hashed where `k = (int)(s * f)` in double precision, truncated, and 1 when
//!   that is 0 (so `s = 0` hashes every frame). See [`FrameSampler`].
//! * **Timestamp** of frame `n`: `(float)n / (float)f` in single precision, printed with three
//!   decimals. Not the frame's presentation time: a video with a variable frame rate gets the
//!   same nominal timestamps as the reference gives it.
//! * **Pixels.** The frame is converted to RGB24 by libswscale with `SWS_AREA` at the
//!   stream's own width and height (or a requested downsample size such as the 128x128 of the
//!   sample hashes); see `takedown_media::video` for how the ffmpeg command line reproduces
//!   that conversion.
//! * **Hash.** Luma `0.299 R + 0.587 G + 0.114 B` in `f32`, then PDQ's float-luma path
//!   (`pdqHash256FromFloatLuma`) on the **full** frame: unlike the still-image hasher there is
//!   no 512x512 nearest-neighbour step, and a 64x64 frame is taken as the 64x64 block without
//!   filtering. [`hash_rgb_frame`] does exactly that with takedown's bit-exact PDQ.
//!
//! # Text format
//!
//! One line per hashed frame, `frame_number,quality,pdq_hex,timestamp` with the timestamp to
//! three decimals, each line ending in `\n`: byte for byte what `vpdq-hash-video` writes and
//! what Meta's sample hashes contain, so hashes made by other tools import
//! ([`parse_lines`]) and ours export ([`format_lines`]). That text is also the canonical
//! stored form of a vPDQ signal.
//!
//! # Match rule
//!
//! As python-threatexchange (HMA) does it: frames of quality below 50 are dropped from both
//! videos, then frames with an identical hash are counted once (static scenes produce runs of
//! identical hashes which would otherwise dominate the percentages). A query frame "matches"
//! when some frame of the other video is within Hamming distance 31 (inclusive); the same in
//! the other direction. The videos match when at least 80% of the query's frames and at
//! least 80% of the compared video's frames match. All four numbers are configurable
//! ([`VpdqMatchConfig`]). Meta's C++ brute matcher uses `distance < 31`; HMA and the shared
//! domain rule use `<= 31`, which is what we do. A video with no frame of sufficient quality
//! matches nothing (the reference would divide by zero).

use crate::hash256::{Hash256, ParseHashError};
use crate::pdq::{self, Pdq};
use crate::SignalAlgorithm;
use std::collections::HashSet;
use std::fmt::Write as _;

/// The algorithm tag stored with every vPDQ signal.
pub const ALGORITHM: SignalAlgorithm = SignalAlgorithm {
    signal_type: "vpdq",
    version: 1,
};

/// Default sampling interval: one hashed frame per second of video.
pub const DEFAULT_SECONDS_PER_HASH: f64 = 1.0;

/// Default frame match threshold: Hamming distance at most 31.
pub const DEFAULT_DISTANCE_THRESHOLD: u32 = 31;

/// Default quality floor: frames below it are ignored when matching.
pub const DEFAULT_QUALITY_THRESHOLD: u8 = pdq::QUALITY_THRESHOLD;

/// Default percentage of frames that must match, on each side.
pub const DEFAULT_MATCH_PERCENT: f64 = 80.0;

/// One hashed frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VpdqFeature {
    /// Index of the frame in the decoder's output order, from 0.
    pub frame_number: u64,
    /// PDQ hash of the frame.
    pub hash: Hash256,
    /// PDQ quality, 0..=100.
    pub quality: u8,
    /// Nominal time of the frame in seconds (`frame_number / frame_rate` in `f32`).
    pub timestamp: f64,
}

/// Which frames the reference hashes, and their timestamps.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FrameSampler {
    interval: u64,
    frame_rate: f32,
}

/// Why sampling parameters or a vPDQ text could not be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum VpdqError {
    /// The frame rate is zero, negative or not a number.
    #[error("frame rate {0} is not a positive number")]
    BadFrameRate(f64),
    /// `seconds_per_hash` is negative or not a number.
    #[error("seconds per hash {0} is not a number >= 0")]
    BadSecondsPerHash(f64),
    /// The RGB buffer does not have `width * height * 3` bytes.
    #[error("a {width}x{height} RGB frame needs {expected} bytes, got {actual}")]
    FrameSize {
        /// Stated width.
        width: u32,
        /// Stated height.
        height: u32,
        /// Bytes the size implies.
        expected: usize,
        /// Bytes supplied.
        actual: usize,
    },
    /// A line of vPDQ text is malformed.
    #[error("vPDQ line {line}: {reason}")]
    Parse {
        /// 1-based line number as an editor shows it.
        line: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// The text holds no frame at all.
    #[error("vPDQ text holds no frames")]
    Empty,
}

impl FrameSampler {
    /// The sampler for a stream with `frame_rate` frames per second hashing one frame every
    /// `seconds_per_hash` seconds (0 hashes every frame).
    pub fn new(frame_rate: f64, seconds_per_hash: f64) -> Result<Self, VpdqError> {
        if !(frame_rate.is_finite() && frame_rate > 0.0) {
            return Err(VpdqError::BadFrameRate(frame_rate));
        }
        if !(seconds_per_hash.is_finite() && seconds_per_hash >= 0.0) {
            return Err(VpdqError::BadSecondsPerHash(seconds_per_hash));
        }
        // C++: `static_cast<int>(secondsPerHash * frameRate)`, then 1 if that is 0. The cast
        // truncates toward zero; values beyond `int` are undefined there, clamped here.
        let product = seconds_per_hash * frame_rate;
        let interval = if product >= f64::from(i32::MAX) {
            i32::MAX as u64
        } else {
            (product as i64).max(1) as u64
        };
        Ok(FrameSampler {
            interval,
            frame_rate: frame_rate as f32,
        })
    }

    /// Every `interval()`-th frame is hashed (frames 0, k, 2k, ...).
    pub fn interval(&self) -> u64 {
        self.interval
    }

    /// Whether frame `frame_number` is hashed.
    pub fn is_sampled(&self, frame_number: u64) -> bool {
        frame_number.is_multiple_of(self.interval)
    }

    /// The reference's timestamp of a frame: `(float)n / (float)frame_rate`.
    pub fn timestamp(&self, frame_number: u64) -> f64 {
        f64::from(frame_number as f32 / self.frame_rate)
    }
}

/// PDQ of one decoded RGB24 frame (row-major, no padding), as vPDQ computes it: full-size
/// float luma, no 512x512 step, the 64x64 block taken as is. Frames with a side below 5
/// pixels give the zero hash with quality 0 (the reference refuses them).
pub fn hash_rgb_frame(rgb: &[u8], width: u32, height: u32) -> Result<Pdq, VpdqError> {
    let mut luma = frame_luma(rgb, width, height)?;
    Ok(pdq::hash_luma(&mut luma, height as usize, width as usize))
}

/// The float luma of an RGB24 frame, after checking its size.
fn frame_luma(rgb: &[u8], width: u32, height: u32) -> Result<Vec<f32>, VpdqError> {
    let expected = (width as usize)
        .checked_mul(height as usize)
        .and_then(|n| n.checked_mul(3));
    if expected != Some(rgb.len()) {
        return Err(VpdqError::FrameSize {
            width,
            height,
            expected: expected.unwrap_or(usize::MAX),
            actual: rgb.len(),
        });
    }
    Ok(rgb
        .chunks_exact(3)
        .map(|p| luma_from_rgb(p[0], p[1], p[2]))
        .collect())
}

/// A change a re-uploader makes to every frame that plain vPDQ does not survive, undone on
/// the query side: the banked hashes stay Meta's, the query is also tried as it would look
/// without the change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VideoVariant {
    /// The video was flipped left to right: the query's frames are hashed mirrored back.
    Mirrored,
    /// The video was letterboxed or pillarboxed into another shape: the query's frames are
    /// hashed with the uniform dark bars cut away.
    BarsRemoved,
}

impl VideoVariant {
    /// Every variant, in the order they are tried.
    pub const ALL: [VideoVariant; 2] = [VideoVariant::Mirrored, VideoVariant::BarsRemoved];

    /// How a match report names the change undone.
    pub fn label(self) -> &'static str {
        match self {
            VideoVariant::Mirrored => "mirrored",
            VideoVariant::BarsRemoved => "bars removed",
        }
    }
}

impl std::fmt::Display for VideoVariant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

/// A frame's plain vPDQ hash and the hashes of its query-side variants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameVariants {
    /// Exactly [`hash_rgb_frame`]'s result.
    pub plain: Pdq,
    /// The hash of the frame flipped left to right (its quality is `plain`'s).
    pub mirrored: Hash256,
    /// The hash of the frame inside its dark bars, when it has bars ([`content_box`]).
    pub bars_removed: Option<Pdq>,
}

/// Where a frame's picture sits inside uniform dark bars: `(left, top, width, height)` in
/// pixels of a `rows x cols` luma buffer, or `None` when the frame has no bars worth cutting.
///
/// A row or column is a bar when at least 97% of its pixels are darker than luma 32 (black
/// bars come back from lossy codecs near 16 with ringing at the picture's edge). Bars count
/// only when they take at least 4% of the height or width, and the picture left must keep a
/// quarter of each side (a 16:9 video in a 9:16 frame keeps 32% of the height): a frame
/// that fades to black or a dark scene is not cut to a sliver.
pub fn content_box(luma: &[f32], rows: usize, cols: usize) -> Option<(usize, usize, usize, usize)> {
    const DARK: f32 = 32.0;
    if luma.len() != rows * cols || rows < 16 || cols < 16 {
        return None;
    }
    let is_bar = |count: usize, dark: usize| dark * 100 >= count * 97;
    let row_is_bar = |row: usize| {
        let line = &luma[row * cols..(row + 1) * cols];
        is_bar(cols, line.iter().filter(|&&v| v < DARK).count())
    };
    let col_is_bar = |col: usize, top: usize, bottom: usize| {
        let dark = (top..bottom)
            .filter(|&row| luma[row * cols + col] < DARK)
            .count();
        is_bar(bottom - top, dark)
    };
    let mut top = 0;
    while top < rows && row_is_bar(top) {
        top += 1;
    }
    let mut bottom = rows;
    while bottom > top && row_is_bar(bottom - 1) {
        bottom -= 1;
    }
    if bottom - top < rows / 4 || bottom - top < MIN_CONTENT_SIDE {
        return None;
    }
    let mut left = 0;
    while left < cols && col_is_bar(left, top, bottom) {
        left += 1;
    }
    let mut right = cols;
    while right > left && col_is_bar(right - 1, top, bottom) {
        right -= 1;
    }
    if right - left < cols / 4 || right - left < MIN_CONTENT_SIDE {
        return None;
    }
    let vertical = rows - (bottom - top);
    let horizontal = cols - (right - left);
    if vertical * 25 < rows && horizontal * 25 < cols {
        return None;
    }
    Some((left, top, right - left, bottom - top))
}

/// The smallest picture [`content_box`] will cut a frame down to, in pixels per side.
const MIN_CONTENT_SIDE: usize = 16;

/// [`hash_rgb_frame`] plus the query-side variants of the frame: the PDQ of its mirror image
/// and, when it has dark bars, of the picture inside them. The mirror is hashed from flipped
/// pixels rather than by flipping DCT signs (PDQ's dihedral shortcut): the box filter's
/// windows are not mirror-symmetric, so on small frames the shortcut lands tens of bits
/// away from what the flipped frame hashes to.
pub fn hash_rgb_frame_variants(
    rgb: &[u8],
    width: u32,
    height: u32,
) -> Result<FrameVariants, VpdqError> {
    let mut luma = frame_luma(rgb, width, height)?;
    let (rows, cols) = (height as usize, width as usize);
    // `frame_luma` checked the size; `max(1)` only keeps a zero-width frame from panicking.
    let lines = || luma.chunks_exact(cols.max(1));
    let bars_removed = content_box(&luma, rows, cols).map(|(left, top, w, h)| {
        let mut inner: Vec<f32> = (lines().skip(top).take(h))
            .flat_map(|line| line[left..left + w].iter().copied())
            .collect();
        pdq::hash_luma(&mut inner, h, w)
    });
    let mut mirrored: Vec<f32> = lines()
        .flat_map(|line| line.iter().rev().copied())
        .collect();
    let mirrored = pdq::hash_luma(&mut mirrored, rows, cols).hash;
    let plain = pdq::hash_luma(&mut luma, rows, cols);
    Ok(FrameVariants {
        plain,
        mirrored,
        bars_removed,
    })
}

/// The reference's `fillFloatLumaFromRGB`: `f32` coefficients, products summed left to right
/// (Rust never fuses these into multiply-adds, so the rounding is the reference's).
#[inline]
fn luma_from_rgb(red: u8, green: u8, blue: u8) -> f32 {
    const RED: f32 = 0.299;
    const GREEN: f32 = 0.587;
    const BLUE: f32 = 0.114;
    RED * f32::from(red) + GREEN * f32::from(green) + BLUE * f32::from(blue)
}

/// Writes features in Meta's line format (`frame,quality,hex,timestamp\n` per frame).
pub fn format_lines(features: &[VpdqFeature]) -> String {
    let mut out = String::with_capacity(features.len() * 90);
    for feature in features {
        // `{:.3}` rounds the exact binary value like C++'s `std::fixed << setprecision(3)`.
        let _ = writeln!(
            out,
            "{},{},{},{:.3}",
            feature.frame_number,
            feature.quality,
            feature.hash.to_hex(),
            feature.timestamp
        );
    }
    out
}

/// Reads Meta's line format. Accepts `\n` or `\r\n` line ends and a missing final line end;
/// blank lines are refused (the reference refuses them too), as is text without any frame.
pub fn parse_lines(text: &str) -> Result<Vec<VpdqFeature>, VpdqError> {
    let body = text.strip_suffix('\n').unwrap_or(text);
    if body.is_empty() {
        return Err(VpdqError::Empty);
    }
    body.split('\n')
        .enumerate()
        .map(|(index, line)| {
            let line = line.strip_suffix('\r').unwrap_or(line);
            parse_line(line).map_err(|reason| VpdqError::Parse {
                line: index + 1,
                reason,
            })
        })
        .collect()
}

fn parse_line(line: &str) -> Result<VpdqFeature, String> {
    let fields: Vec<&str> = line.split(',').collect();
    if fields.len() != 4 {
        return Err(format!(
            "expected 4 comma-separated fields (frame,quality,hash,timestamp), found {}",
            fields.len()
        ));
    }
    let frame_number: u64 = fields[0]
        .trim()
        .parse()
        .map_err(|_| format!("frame number {:?} is not a whole number", fields[0]))?;
    let quality: u8 = fields[1]
        .trim()
        .parse()
        .ok()
        .filter(|q| *q <= 100)
        .ok_or_else(|| format!("quality {:?} is not a number 0..=100", fields[1]))?;
    let hash = Hash256::from_hex(fields[2].trim())
        .map_err(|e: ParseHashError| format!("hash {:?}: {e}", fields[2]))?;
    let timestamp: f64 = fields[3]
        .trim()
        .parse()
        .ok()
        .filter(|t: &f64| t.is_finite() && *t >= 0.0)
        .ok_or_else(|| format!("timestamp {:?} is not a number >= 0", fields[3]))?;
    Ok(VpdqFeature {
        frame_number,
        hash,
        quality,
        timestamp,
    })
}

/// Parameters of the match rule.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VpdqMatchConfig {
    /// Two frames match when their Hamming distance is at most this.
    pub distance_threshold: u32,
    /// Frames with a quality below this are ignored on both sides.
    pub quality_threshold: u8,
    /// Percentage of the query's (kept, distinct) frames that must match.
    pub query_match_percent: f64,
    /// Percentage of the compared video's (kept, distinct) frames that must match.
    pub compared_match_percent: f64,
}

impl Default for VpdqMatchConfig {
    fn default() -> Self {
        VpdqMatchConfig {
            distance_threshold: DEFAULT_DISTANCE_THRESHOLD,
            quality_threshold: DEFAULT_QUALITY_THRESHOLD,
            query_match_percent: DEFAULT_MATCH_PERCENT,
            compared_match_percent: DEFAULT_MATCH_PERCENT,
        }
    }
}

/// Frame counts behind the two percentages of one comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct VpdqComparison {
    /// Distinct kept frames of the query.
    pub query_frames: usize,
    /// How many of them have a match in the compared video.
    pub query_matched: usize,
    /// Distinct kept frames of the compared video.
    pub compared_frames: usize,
    /// How many of them have a match in the query.
    pub compared_matched: usize,
}

impl VpdqComparison {
    /// Percentage of the query's frames that match (0 when the query has none).
    pub fn query_percent(&self) -> f64 {
        percent(self.query_matched, self.query_frames)
    }

    /// Percentage of the compared video's frames that match (0 when it has none).
    pub fn compared_percent(&self) -> f64 {
        percent(self.compared_matched, self.compared_frames)
    }

    /// Whether both percentages reach the configured thresholds. Videos without kept frames
    /// never match.
    pub fn is_match(&self, config: &VpdqMatchConfig) -> bool {
        self.query_frames > 0
            && self.compared_frames > 0
            && self.query_percent() >= config.query_match_percent
            && self.compared_percent() >= config.compared_match_percent
    }
}

fn percent(matched: usize, total: usize) -> f64 {
    if total == 0 {
        0.0
    } else {
        matched as f64 * 100.0 / total as f64
    }
}

/// The frames that take part in matching: quality at least `quality_threshold`, then each
/// distinct hash once (first occurrence kept, order preserved), as HMA's VPDQ index does.
pub fn matching_frames(features: &[VpdqFeature], quality_threshold: u8) -> Vec<Hash256> {
    let mut seen = HashSet::with_capacity(features.len());
    features
        .iter()
        .filter(|f| f.quality >= quality_threshold)
        .filter(|f| seen.insert(f.hash))
        .map(|f| f.hash)
        .collect()
}

/// Compares two videos pairwise, every frame against every frame (the definition of the
/// rule; `takedown_index::video` gives the same answer without the quadratic cost).
pub fn compare(
    query: &[VpdqFeature],
    compared: &[VpdqFeature],
    config: &VpdqMatchConfig,
) -> VpdqComparison {
    compare_frames(
        &matching_frames(query, config.quality_threshold),
        &matching_frames(compared, config.quality_threshold),
        config.distance_threshold,
    )
}

/// [`compare`] on frames already passed through [`matching_frames`].
pub fn compare_frames(query: &[Hash256], compared: &[Hash256], distance: u32) -> VpdqComparison {
    let matched_in = |from: &[Hash256], to: &[Hash256]| {
        from.iter()
            .filter(|a| to.iter().any(|b| a.distance(b) <= distance))
            .count()
    };
    VpdqComparison {
        query_frames: query.len(),
        query_matched: matched_in(query, compared),
        compared_frames: compared.len(),
        compared_matched: matched_in(compared, query),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(seed: u64) -> Hash256 {
        let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let mut limbs = [0u64; 4];
        for limb in &mut limbs {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            *limb = x;
        }
        Hash256::from_limbs(limbs)
    }

    fn feature(n: u64, h: Hash256, quality: u8) -> VpdqFeature {
        VpdqFeature {
            frame_number: n,
            hash: h,
            quality,
            timestamp: n as f64,
        }
    }

    #[test]
    fn sampler_follows_the_reference_arithmetic() {
        let s = FrameSampler::new(30.0, 1.0).unwrap();
        assert_eq!(s.interval(), 30);
        assert!(s.is_sampled(0) && s.is_sampled(60) && !s.is_sampled(31));
        // 29.97 fps: (int)(1.0 * 29.97) = 29.
        assert_eq!(
            FrameSampler::new(30000.0 / 1001.0, 1.0).unwrap().interval(),
            29
        );
        // 0 seconds per hash and frame rates below 1 hash every frame.
        assert_eq!(FrameSampler::new(30.0, 0.0).unwrap().interval(), 1);
        assert_eq!(FrameSampler::new(0.5, 1.0).unwrap().interval(), 1);
        assert_eq!(format!("{:.3}", s.timestamp(1)), "0.033");
        assert_eq!(format!("{:.3}", s.timestamp(2)), "0.067");
        assert!(FrameSampler::new(0.0, 1.0).is_err());
        assert!(FrameSampler::new(f64::NAN, 1.0).is_err());
        assert!(FrameSampler::new(30.0, -1.0).is_err());
    }

    #[test]
    fn lines_round_trip_byte_for_byte() {
        let text = "0,100,e6cf059c4c6696362cc9d6663cd9c263714169d98327399993363d9c3d9cc666,0.000\n\
                    1,42,e6cf059c4c6696362cc9d66638d9c263716169d98327399993363d9c3d9cc666,0.033\n";
        let features = parse_lines(text).unwrap();
        assert_eq!(features.len(), 2);
        assert_eq!(features[1].quality, 42);
        assert_eq!(format_lines(&features), text);
        // CRLF and a missing final newline are accepted.
        let crlf = text.replace('\n', "\r\n");
        assert_eq!(parse_lines(&crlf).unwrap(), features);
        assert_eq!(parse_lines(text.trim_end()).unwrap(), features);
    }

    #[test]
    fn bad_lines_name_the_line_and_the_field() {
        let good = "0,100,e6cf059c4c6696362cc9d6663cd9c263714169d98327399993363d9c3d9cc666,0.000";
        let err = parse_lines(&format!("{good}\n1,101,{},0.1\n", &good[6..70])).unwrap_err();
        assert!(
            matches!(&err, VpdqError::Parse { line: 2, reason } if reason.contains("quality")),
            "{err}"
        );
        let err = parse_lines(&format!("{good}\n\n")).unwrap_err();
        assert!(matches!(err, VpdqError::Parse { line: 2, .. }), "{err}");
        assert!(matches!(parse_lines(""), Err(VpdqError::Empty)));
        assert!(parse_lines("0,100,abc,0.0").is_err());
        assert!(parse_lines(&format!("{good},extra")).is_err());
        assert!(parse_lines(&good.replace("0.000", "-1")).is_err());
    }

    #[test]
    fn rgb_frame_size_is_checked() {
        assert!(matches!(
            hash_rgb_frame(&[0; 10], 2, 2),
            Err(VpdqError::FrameSize { expected: 12, .. })
        ));
        let flat = hash_rgb_frame(&[7; 4 * 4 * 3], 4, 4).unwrap();
        assert_eq!(flat.quality, 0);
    }

    #[test]
    fn match_rule_filters_quality_and_counts_distinct_hashes() {
        let config = VpdqMatchConfig::default();
        let (a, b, c) = (hash(1), hash(2), hash(3));
        let near_a = {
            let mut limbs = a.limbs();
            limbs[0] ^= 0x7fff_ffff; // 31 bits away: still a match
            Hash256::from_limbs(limbs)
        };
        let query = vec![
            feature(0, a, 100),
            feature(1, a, 100),
            feature(2, a, 100),
            feature(3, b, 100),
            feature(4, c, 10),
        ];
        let compared = vec![feature(0, near_a, 90), feature(1, b, 60)];
        let result = compare(&query, &compared, &config);
        assert_eq!(
            result,
            VpdqComparison {
                query_frames: 2,
                query_matched: 2,
                compared_frames: 2,
                compared_matched: 2
            }
        );
        assert!(result.is_match(&config));
        let far = {
            let mut limbs = a.limbs();
            limbs[0] ^= 0xffff_ffff; // 32 bits away
            Hash256::from_limbs(limbs)
        };
        let result = compare(&query, &[feature(0, far, 90), feature(1, b, 60)], &config);
        assert_eq!(result.query_matched, 1);
        assert_eq!(result.query_percent(), 50.0);
        assert!(!result.is_match(&config));
        // Only low-quality frames: never a match.
        let dark = [feature(0, a, 3)];
        assert!(!compare(&dark, &dark, &config).is_match(&config));
    }

    /// A textured RGB picture (smooth waves, so that PDQ has something to see).
    fn picture(width: usize, height: usize, phase: f32) -> Vec<u8> {
        let mut rgb = Vec::with_capacity(width * height * 3);
        for y in 0..height {
            for x in 0..width {
                let (fx, fy) = (x as f32 / width as f32, y as f32 / height as f32);
                let v = 128.0
                    + 60.0 * (fx * 7.0 + phase).sin() * (fy * 5.0).cos()
                    + 50.0 * (fx * 3.0 - fy * 11.0 + phase).sin();
                let v = v.clamp(40.0, 255.0) as u8;
                rgb.extend_from_slice(&[v, v.wrapping_add(17), 255 - v]);
            }
        }
        rgb
    }

    /// `inner` (inner_w x inner_h) centred in a black width x height frame.
    fn boxed(inner: &[u8], inner_w: usize, inner_h: usize, width: usize, height: usize) -> Vec<u8> {
        let mut rgb = vec![0u8; width * height * 3];
        let (left, top) = ((width - inner_w) / 2, (height - inner_h) / 2);
        for row in 0..inner_h {
            let from = &inner[row * inner_w * 3..(row + 1) * inner_w * 3];
            let at = ((top + row) * width + left) * 3;
            rgb[at..at + inner_w * 3].copy_from_slice(from);
        }
        rgb
    }

    #[test]
    fn variants_keep_the_plain_hash_and_undo_a_mirror() {
        let (w, h) = (160, 90);
        let rgb = picture(w, h, 0.3);
        let variants = hash_rgb_frame_variants(&rgb, w as u32, h as u32).unwrap();
        assert_eq!(
            variants.plain,
            hash_rgb_frame(&rgb, w as u32, h as u32).unwrap()
        );
        assert_eq!(
            variants.bars_removed, None,
            "a picture without bars is not cut"
        );

        let flipped: Vec<u8> = (rgb.chunks_exact(w * 3))
            .flat_map(|line| line.chunks_exact(3).rev().flatten().copied())
            .collect();
        let flipped_hash = hash_rgb_frame(&flipped, w as u32, h as u32).unwrap().hash;
        assert!(
            variants.plain.hash.distance(&flipped_hash) > 64,
            "a mirror defeats plain PDQ"
        );
        let undone = hash_rgb_frame_variants(&flipped, w as u32, h as u32).unwrap();
        // Exact: the mirror of the mirror is the picture, hashed as it is.
        assert!(
            undone.mirrored.distance(&variants.plain.hash) == 0,
            "mirrored back: distance {}",
            undone.mirrored.distance(&variants.plain.hash)
        );
    }

    #[test]
    fn bars_are_cut_away_on_either_axis() {
        let (w, h) = (160, 90);
        let inner = picture(w, h, 1.1);
        let expected = hash_rgb_frame(&inner, w as u32, h as u32).unwrap();
        // Letterbox (16:9 in a square) and pillarbox (16:9 in 21:9 width).
        for (width, height) in [(160, 160), (212, 90), (200, 120)] {
            let framed = boxed(&inner, w, h, width, height);
            let plain = hash_rgb_frame(&framed, width as u32, height as u32).unwrap();
            let variants = hash_rgb_frame_variants(&framed, width as u32, height as u32).unwrap();
            assert_eq!(variants.bars_removed, Some(expected), "{width}x{height}");
            assert!(
                plain.hash.distance(&expected.hash) > 31,
                "bars defeat plain PDQ"
            );
        }
    }

    #[test]
    fn dark_frames_and_thin_bars_are_left_alone() {
        let (w, h) = (160, 90);
        let black = vec![0u8; w * h * 3];
        assert_eq!(content_box(&luma_of(&black), h, w), None, "all black");
        // A dark scene with one small lit patch is not a letterbox.
        let spot = boxed(&picture(20, 10, 0.0), 20, 10, w, h);
        assert_eq!(content_box(&luma_of(&spot), h, w), None, "small lit patch");
        // Two black rows (2%) are a crop artefact, not bars.
        let inner = picture(w, h - 2, 0.5);
        let thin = boxed(&inner, w, h - 2, w, h);
        assert_eq!(content_box(&luma_of(&thin), h, w), None, "thin bars");
        // Wrong-size buffers give no box rather than a panic.
        assert_eq!(content_box(&[0.0; 10], h, w), None);
    }

    fn luma_of(rgb: &[u8]) -> Vec<f32> {
        rgb.chunks_exact(3)
            .map(|p| luma_from_rgb(p[0], p[1], p[2]))
            .collect()
    }
}
