//! Cryptographic digests of raw bytes (MD5 and SHA-256), computed together in one pass.

use md5::Digest as _;

/// MD5 and SHA-256 of the same bytes, as lowercase hex.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Digests {
    /// MD5, 32 hex digits (what GIFCT, TCAP and HMA's `video_md5` share).
    pub md5: String,
    /// SHA-256, 64 hex digits.
    pub sha256: String,
}

/// Incremental hasher for [`Digests`], fed chunk by chunk while bytes are read or received.
#[derive(Default, Clone)]
pub struct DigestHasher {
    md5: md5::Md5,
    sha256: sha2::Sha256,
}

impl DigestHasher {
    /// A hasher with nothing fed yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds the next chunk of bytes.
    pub fn update(&mut self, bytes: &[u8]) {
        self.md5.update(bytes);
        self.sha256.update(bytes);
    }

    /// Finishes and returns both digests.
    pub fn finish(self) -> Digests {
        Digests {
            md5: to_hex(&self.md5.finalize()),
            sha256: to_hex(&self.sha256.finalize()),
        }
    }
}

impl Digests {
    /// Digests of a complete byte slice.
    pub fn of(bytes: &[u8]) -> Self {
        let mut hasher = DigestHasher::new();
        hasher.update(bytes);
        hasher.finish()
    }
}

fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        text.push(DIGITS[(byte >> 4) as usize] as char);
        text.push(DIGITS[(byte & 15) as usize] as char);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_digests_of_abc() {
        let digests = Digests::of(b"abc");
        assert_eq!(digests.md5, "900150983cd24fb0d6963f7d28e17f72");
        assert_eq!(
            digests.sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let mut hasher = DigestHasher::new();
        hasher.update(b"a");
        hasher.update(b"bc");
        assert_eq!(hasher.finish(), digests);
    }
}
