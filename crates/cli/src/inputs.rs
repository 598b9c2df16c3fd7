//! Turning command-line arguments into work: files (directories walked) and raw hashes.

use std::path::{Path, PathBuf};

use anyhow::Context;
use takedown_hasher::{fingerprint_bytes, Fingerprints, HashOptions};
use takedown_signals::Hash256;

/// One thing to fingerprint or match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A file to read and fingerprint.
    File(PathBuf),
    /// A hash given on the command line.
    Hash(RawHash),
}

/// A hash typed on the command line. 64 hex digits may be a PDQ hash or a SHA-256 digest; both
/// readings are kept and matched, since the text alone cannot tell them apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RawHash {
    /// 64 hex digits: PDQ or SHA-256.
    Bits256(Hash256),
    /// 32 hex digits: MD5.
    Md5(String),
}

impl RawHash {
    /// The canonical text.
    pub fn text(&self) -> String {
        match self {
            RawHash::Bits256(hash) => hash.to_hex(),
            RawHash::Md5(text) => text.clone(),
        }
    }
}

/// A problem with one argument or file; the rest of the work goes on.
#[derive(Debug)]
pub struct InputError {
    /// The argument or file path.
    pub subject: String,
    /// What went wrong.
    pub error: anyhow::Error,
}

impl InputError {
    /// Prints `takedown: SUBJECT: message` on stderr.
    pub fn report(&self) {
        eprintln!("takedown: {}: {:#}", self.subject, self.error);
    }
}

/// Whether `text` is all hex digits.
fn is_hex(text: &str) -> bool {
    !text.is_empty() && text.chars().all(|c| c.is_ascii_hexdigit())
}

/// Expands arguments into inputs: existing paths are files or walked directories (in sorted
/// order, so output is stable); other arguments must be hashes.
pub fn expand(arguments: &[String], allow_hashes: bool) -> (Vec<Input>, Vec<InputError>) {
    let mut inputs = Vec::new();
    let mut errors = Vec::new();
    for argument in arguments {
        let path = Path::new(argument);
        if path.is_dir() {
            let mut files = Vec::new();
            for entry in walkdir::WalkDir::new(path).sort_by_file_name() {
                match entry {
                    Ok(entry) if entry.file_type().is_file() => files.push(entry.into_path()),
                    Ok(_) => {}
                    Err(error) => errors.push(InputError {
                        subject: error
                            .path()
                            .map_or(argument.clone(), |p| p.display().to_string()),
                        error: anyhow::anyhow!("cannot read directory entry: {error}"),
                    }),
                }
            }
            inputs.extend(files.into_iter().map(Input::File));
        } else if path.exists() {
            inputs.push(Input::File(path.to_path_buf()));
        } else if allow_hashes && is_hex(argument) {
            match argument.len() {
                64 => match Hash256::from_hex(argument) {
                    Ok(hash) => inputs.push(Input::Hash(RawHash::Bits256(hash))),
                    Err(error) => errors.push(InputError {
                        subject: argument.clone(),
                        error: error.into(),
                    }),
                },
                32 => inputs.push(Input::Hash(RawHash::Md5(argument.to_ascii_lowercase()))),
                other => errors.push(InputError {
                    subject: argument.clone(),
                    error: anyhow::anyhow!(
                        "not a file, and {other} hex digits is not a hash (PDQ and SHA-256 have 64, MD5 has 32)"
                    ),
                }),
            }
        } else {
            errors.push(InputError {
                subject: argument.clone(),
                error: anyhow::anyhow!(if allow_hashes {
                    "no such file or directory, and not a hash"
                } else {
                    "no such file or directory"
                }),
            });
        }
    }
    (inputs, errors)
}

/// Reads and fingerprints one file.
pub fn fingerprint_file(path: &Path, options: &HashOptions) -> anyhow::Result<Fingerprints> {
    // The largest any kind of media may be; the hasher applies each kind's own limit.
    let limit = (options.image_limits.max_input_bytes as u64)
        .max(options.video.limits.max_input_bytes)
        .max(options.audio.limits.max_input_bytes as u64);
    let size = std::fs::metadata(path)
        .with_context(|| "cannot read file".to_string())?
        .len();
    if size > limit {
        anyhow::bail!("file is {size} bytes, over the limit of {limit} bytes");
    }
    let bytes = std::fs::read(path).context("cannot read file")?;
    Ok(fingerprint_bytes(&bytes, options)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_and_missing_paths() {
        let pdq = "d8f8f0cee0f4a84f0637022a078f67f0b36e2ed596621e1d33e6339c4e9c9b22";
        let args = vec![
            pdq.to_string(),
            "900150983CD24FB0D6963F7D28E17F72".to_string(),
            "abc".to_string(),
            "/no/such/file.jpg".to_string(),
        ];
        let (inputs, errors) = expand(&args, true);
        assert_eq!(inputs.len(), 2);
        assert_eq!(
            inputs[1],
            Input::Hash(RawHash::Md5("900150983cd24fb0d6963f7d28e17f72".into()))
        );
        assert_eq!(errors.len(), 2);
        assert!(errors[0].error.to_string().contains("3 hex digits"));
        let (_, errors) = expand(&[pdq.to_string()], false);
        assert_eq!(errors.len(), 1);
    }
}
