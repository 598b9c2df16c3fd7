//! Fingerprints ("signals") computed from already-decoded data.
//!
//! This crate is pure: functions take pixels, samples or bytes that are already in memory and
//! return fingerprints. Nothing here opens files, spawns processes or talks to the network;
//! decoding lives in `takedown-media`, storage in `takedown-store`.
//!
//! Every signal type carries an algorithm name and version ([`SignalAlgorithm`]) so that a change
//! of algorithm can never silently mix incompatible fingerprints in one bank.

pub mod audio;
pub mod digest;
pub mod hash256;
pub mod image;
pub mod pdq;
pub mod text;
pub mod vpdq;

pub use audio::AudioFingerprint;
pub use digest::Digests;
pub use hash256::{Hash256, ParseHashError};
pub use image::{Channels, Image};

/// The name and version of the algorithm that produced a stored signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SignalAlgorithm {
    /// Signal type as it appears on the wire and in banks (`pdq`, `md5`, ...).
    pub signal_type: &'static str,
    /// Version of takedown's implementation; bumped whenever output could change.
    pub version: u32,
}
