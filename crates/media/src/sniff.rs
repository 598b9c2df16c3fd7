//! Format detection from the first bytes of a file. File names and MIME types supplied by
//! uploaders are never trusted: a `.jpg` that is really a PNG is decoded as a PNG (as
//! ImageMagick, the reference's decoder, does), and an HTML error page saved as `.jpg` is
//! reported as an HTML document.

use crate::ImageFormat;

/// What the leading bytes say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sniffed {
    /// A format this crate decodes.
    Image(ImageFormat),
    /// Something else, with a short human description ("PDF document", "unknown format").
    Other(&'static str),
}

/// Identifies `bytes` by magic numbers.
pub fn sniff(bytes: &[u8]) -> Sniffed {
    if let Some(format) = image_format(bytes) {
        return Sniffed::Image(format);
    }
    Sniffed::Other(describe_other(bytes))
}

fn image_format(b: &[u8]) -> Option<ImageFormat> {
    if b.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(ImageFormat::Jpeg)
    } else if b.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(ImageFormat::Png)
    } else if b.starts_with(b"GIF87a") || b.starts_with(b"GIF89a") {
        Some(ImageFormat::Gif)
    } else if b.len() >= 12 && &b[0..4] == b"RIFF" && &b[8..12] == b"WEBP" {
        Some(ImageFormat::WebP)
    } else if b.starts_with(b"BM") && b.len() >= 14 {
        // "BM" alone is two printable letters; demand the 14-byte file header too so a text
        // file that starts with "BM" is not called a bitmap.
        Some(ImageFormat::Bmp)
    } else {
        None
    }
}

fn describe_other(b: &[u8]) -> &'static str {
    // Binary signatures first: they are unambiguous.
    const SIGNATURES: &[(&[u8], &str)] = &[
        (b"%PDF", "PDF document"),
        (b"PK\x03\x04", "ZIP archive (or an Office/EPUB document)"),
        (b"PK\x05\x06", "empty ZIP archive"),
        (b"\x1f\x8b", "gzip-compressed data"),
        (b"BZh", "bzip2-compressed data"),
        (b"\xfd7zXZ\x00", "xz-compressed data"),
        (b"7z\xbc\xaf\x27\x1c", "7-Zip archive"),
        (b"Rar!\x1a\x07", "RAR archive"),
        (b"II*\x00", "TIFF image (not supported)"),
        (b"MM\x00*", "TIFF image (not supported)"),
        (b"8BPS", "Photoshop PSD image (not supported)"),
        (b"\x00\x00\x01\x00", "Windows icon (not supported)"),
        (
            b"\x00\x00\x00\x0cjP  \r\n\x87\n",
            "JPEG 2000 image (not supported)",
        ),
        (b"\xff\x4f\xff\x51", "JPEG 2000 codestream (not supported)"),
        (b"\xff\x0a", "JPEG XL image (not supported)"),
        (
            b"\x00\x00\x00\x0cJXL \r\n\x87\n",
            "JPEG XL image (not supported)",
        ),
        (b"\x1aE\xdf\xa3", "Matroska/WebM video"),
        (b"OggS", "Ogg audio/video"),
        (b"fLaC", "FLAC audio"),
        (b"ID3", "MP3 audio"),
        (b"\x7fELF", "ELF executable"),
        (b"MZ", "Windows executable"),
        (b"\xca\xfe\xba\xbe", "Mach-O or Java class file"),
        (b"SQLite format 3\x00", "SQLite database"),
        (b"\xff\xd8", "damaged JPEG (no marker after SOI)"),
        (b"\x89PNG", "damaged PNG signature"),
        (b"GIF8", "GIF with an unknown version"),
    ];
    for (magic, what) in SIGNATURES {
        if b.starts_with(magic) {
            return what;
        }
    }
    if b.len() >= 12 && &b[0..4] == b"RIFF" {
        return match &b[8..12] {
            b"AVI " => "AVI video",
            b"WAVE" => "WAV audio",
            _ => "RIFF container (not WebP)",
        };
    }
    if b.len() >= 12 && &b[4..8] == b"ftyp" {
        return match &b[8..12] {
            b"avif" | b"avis" => "AVIF image (not supported)",
            b"heic" | b"heix" | b"hevc" | b"heim" | b"heis" | b"mif1" | b"msf1" => {
                "HEIF/HEIC image (not supported)"
            }
            b"qt  " => "QuickTime video",
            _ => "MP4/ISO media file",
        };
    }
    describe_text(b)
}

/// Text-like inputs: markup is the common case (an error page or a redirect saved in place of
/// the image), so look at the first tag.
fn describe_text(b: &[u8]) -> &'static str {
    let head = &b[..b.len().min(1024)];
    let head = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(head);
    let start = head
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(head.len());
    let head = &head[start..];
    let lower: Vec<u8> = head.iter().take(256).map(u8::to_ascii_lowercase).collect();
    let contains = |needle: &[u8]| lower.windows(needle.len()).any(|w| w == needle);
    if lower.starts_with(b"<!doctype html") || lower.starts_with(b"<html") || contains(b"<head") {
        return "HTML document";
    }
    if contains(b"<svg") {
        return "SVG image (not supported)";
    }
    if lower.starts_with(b"<?xml") {
        return "XML document";
    }
    if lower.starts_with(b"{") || lower.starts_with(b"[") {
        return "JSON or other text";
    }
    if !head.is_empty() && std::str::from_utf8(head).is_ok_and(|s| !s.contains('\0')) {
        return "plain text";
    }
    "unknown format"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_common_non_images() {
        assert_eq!(
            sniff(b"<!DOCTYPE html><html>"),
            Sniffed::Other("HTML document")
        );
        assert_eq!(
            sniff(b"\n  <html lang=en>"),
            Sniffed::Other("HTML document")
        );
        assert_eq!(sniff(b"%PDF-1.7\n"), Sniffed::Other("PDF document"));
        assert_eq!(sniff(b"hello world"), Sniffed::Other("plain text"));
        assert_eq!(
            sniff(&[0u8, 1, 2, 3, 0xfe]),
            Sniffed::Other("unknown format")
        );
    }

    #[test]
    fn finds_images_by_magic_only() {
        assert_eq!(
            sniff(b"\xff\xd8\xff\xe0"),
            Sniffed::Image(ImageFormat::Jpeg)
        );
        assert_eq!(
            sniff(b"RIFF\0\0\0\0WEBPVP8 "),
            Sniffed::Image(ImageFormat::WebP)
        );
        assert_eq!(sniff(b"BM"), Sniffed::Other("plain text"));
    }
}
