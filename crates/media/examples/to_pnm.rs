//! Decodes an image file and writes the pixels as a binary PGM/PPM to stdout, the same form
//! as `convert FILE pnm:-` gives the PDQ reference. Handy for comparing with ImageMagick:
//! `cargo run --example to_pnm -- FILE | cmp - <(convert FILE pnm:-)` (8-bit files).

use std::io::Write;

use takedown_media::{decode_image_with, DecodeOptions};
use takedown_signals::Channels;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .ok_or("usage: to_pnm FILE [--allow-truncated]")?;
    let options = DecodeOptions {
        allow_truncated: args.next().as_deref() == Some("--allow-truncated"),
        ..DecodeOptions::default()
    };
    let bytes = std::fs::read(&path)?;
    let decoded = decode_image_with(&bytes, &options)?;
    let image = &decoded.image;
    let magic = match image.channels() {
        Channels::Grey => "P5",
        Channels::Rgb => "P6",
    };
    let mut out = std::io::stdout().lock();
    write!(out, "{magic}\n{} {}\n255\n", image.width(), image.height())?;
    out.write_all(image.pixels())?;
    Ok(())
}
