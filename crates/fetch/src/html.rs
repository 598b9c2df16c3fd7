//! Media embedded in an HTML page: when an analyst submits a page rather than a file, these
//! are the URLs to fetch (each through the same guard) and hash.
//!
//! The page is parsed by html5ever (through `scraper`), the same tree-building a browser does,
//! so comments, scripts, odd quoting and unclosed tags do not fool it the way regexes are
//! fooled.

use std::collections::HashSet;

use scraper::{ElementRef, Html};
use url::Url;

use crate::outcome::Live;

/// Where in the page a media URL was found (part of the evidence of its exact location).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MediaSource {
    /// `<img src>` (or the lazy-loading `data-src`).
    ImgSrc,
    /// The largest candidate of an `<img srcset>`.
    ImgSrcset,
    /// `<video src>`.
    VideoSrc,
    /// `<video poster>`: often a frame of the video.
    VideoPoster,
    /// `<source src>` inside `<video>` or `<audio>`, or the largest `<source srcset>` inside
    /// `<picture>`.
    Source,
    /// `<meta property="og:image">` and its `:url` / `:secure_url` forms, or `twitter:image`.
    OgImage,
    /// `<meta property="og:video">` and its `:url` / `:secure_url` forms.
    OgVideo,
    /// `<link rel="image_src" href>`.
    LinkImageSrc,
}

/// One media URL found in a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaLink {
    /// The absolute URL (resolved against the page, or its `<base href>`).
    pub url: Url,
    /// Where it was found.
    pub found_in: MediaSource,
}

/// The media embedded in a fetched page, or nothing when the page is not HTML.
///
/// The body is decoded as UTF-8 with invalid bytes replaced: URLs in attributes are ASCII (or
/// percent-encoded) in practice, whatever the page's text encoding.
pub fn media_in_page(page: &Live, limit: usize) -> Vec<MediaLink> {
    let is_html = page.content_type.as_deref().is_some_and(|content_type| {
        let essence = content_type.split(';').next().unwrap_or("").trim();
        essence.eq_ignore_ascii_case("text/html")
            || essence.eq_ignore_ascii_case("application/xhtml+xml")
    });
    let Ok(page_url) = Url::parse(&page.final_url) else {
        return Vec::new();
    };
    if !is_html {
        return Vec::new();
    }
    extract_media_urls(&String::from_utf8_lossy(&page.body), &page_url, limit)
}

/// The media URLs embedded in `html`, in page order, without repeats, at most `limit`.
///
/// Parsing is CPU work proportional to the page: for pages of megabytes, call it from
/// `spawn_blocking` rather than on the async runtime.
///
/// Relative URLs are resolved against `<base href>` when the page has one, else `page_url`.
/// Only `http` and `https` URLs are returned (`data:` and `blob:` have nothing to fetch).
pub fn extract_media_urls(html: &str, page_url: &Url, limit: usize) -> Vec<MediaLink> {
    let document = Html::parse_document(html);
    let elements: Vec<ElementRef<'_>> = document.root_element().descendent_elements().collect();
    // Like a browser, the first <base href> decides for the whole page.
    let base = elements
        .iter()
        .filter(|element| element.value().name() == "base")
        .find_map(|element| element.attr("href"))
        .and_then(|href| page_url.join(href.trim()).ok())
        .unwrap_or_else(|| page_url.clone());

    let mut seen = HashSet::new();
    let mut found = Vec::new();
    for element in elements {
        for (raw, source) in candidates(element) {
            if found.len() >= limit {
                return found;
            }
            let Ok(url) = base.join(raw.trim()) else {
                continue;
            };
            if !matches!(url.scheme(), "http" | "https") {
                continue;
            }
            if seen.insert(url.as_str().to_owned()) {
                found.push(MediaLink {
                    url,
                    found_in: source,
                });
            }
        }
    }
    found
}

/// The raw URLs one element contributes, in attribute order.
fn candidates<'a>(element: ElementRef<'a>) -> Vec<(&'a str, MediaSource)> {
    let value = element.value();
    let attr = |name: &str| value.attr(name).filter(|text| !text.trim().is_empty());
    let mut out = Vec::new();
    match value.name() {
        "img" => {
            if let Some(src) = attr("src").or_else(|| attr("data-src")) {
                out.push((src, MediaSource::ImgSrc));
            }
            if let Some(largest) = attr("srcset").and_then(largest_srcset_candidate) {
                out.push((largest, MediaSource::ImgSrcset));
            }
        }
        "video" => {
            if let Some(src) = attr("src") {
                out.push((src, MediaSource::VideoSrc));
            }
            if let Some(poster) = attr("poster") {
                out.push((poster, MediaSource::VideoPoster));
            }
        }
        "source" => {
            if let Some(src) = attr("src") {
                out.push((src, MediaSource::Source));
            } else if let Some(largest) = attr("srcset").and_then(largest_srcset_candidate) {
                out.push((largest, MediaSource::Source));
            }
        }
        "meta" => {
            let key = attr("property").or_else(|| attr("name")).unwrap_or("");
            let source = match key.trim().to_ascii_lowercase().as_str() {
                "og:image" | "og:image:url" | "og:image:secure_url" | "twitter:image" => {
                    Some(MediaSource::OgImage)
                }
                "og:video" | "og:video:url" | "og:video:secure_url" => Some(MediaSource::OgVideo),
                _ => None,
            };
            if let (Some(source), Some(content)) = (source, attr("content")) {
                out.push((content, source));
            }
        }
        "link" => {
            let is_image_src = attr("rel").is_some_and(|rel| {
                rel.split_ascii_whitespace()
                    .any(|token| token.eq_ignore_ascii_case("image_src"))
            });
            if let (true, Some(href)) = (is_image_src, attr("href")) {
                out.push((href, MediaSource::LinkImageSrc));
            }
        }
        _ => {}
    }
    out
}

/// The URL of the largest candidate in a `srcset`: by width descriptor (`640w`) when any
/// candidate has one, else by pixel density (`2x`, default `1x`). Follows the HTML parsing
/// rules closely enough for commas inside URLs (`/img/w_100,h_80/a.jpg 2x`).
fn largest_srcset_candidate(srcset: &str) -> Option<&str> {
    let mut best: Option<(&str, bool, f64)> = None; // (url, is_width, size)
    for (url, descriptor) in parse_srcset(srcset) {
        let (is_width, size) = match descriptor {
            Some(text) if text.ends_with('w') => (true, text[..text.len() - 1].parse().ok()),
            Some(text) if text.ends_with('x') => (false, text[..text.len() - 1].parse().ok()),
            Some(_) => continue,
            None => (false, Some(1.0)),
        };
        let Some(size) = size else { continue };
        let better = match best {
            None => true,
            // A width-described candidate beats any density-described one.
            Some((_, best_is_width, best_size)) => {
                (is_width && !best_is_width) || (is_width == best_is_width && size > best_size)
            }
        };
        if better {
            best = Some((url, is_width, size));
        }
    }
    best.map(|(url, _, _)| url)
}

/// Splits a `srcset` into (url, first descriptor) pairs.
fn parse_srcset(srcset: &str) -> Vec<(&str, Option<&str>)> {
    let mut out = Vec::new();
    let mut rest = srcset;
    loop {
        rest = rest.trim_start_matches(|c: char| c.is_ascii_whitespace() || c == ',');
        if rest.is_empty() {
            return out;
        }
        let url_end = rest
            .find(|c: char| c.is_ascii_whitespace())
            .unwrap_or(rest.len());
        let raw_url = &rest[..url_end];
        rest = &rest[url_end..];
        // A URL ending in commas has no descriptors; the commas separate candidates.
        let url = raw_url.trim_end_matches(',');
        if url.len() != raw_url.len() {
            out.push((url, None));
            continue;
        }
        let descriptors_end = rest.find(',').unwrap_or(rest.len());
        let descriptor = rest[..descriptors_end].split_ascii_whitespace().next();
        rest = &rest[descriptors_end..];
        out.push((url, descriptor));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page() -> Url {
        Url::parse("https://host.example/articles/post.html").unwrap()
    }

    fn urls(html: &str, limit: usize) -> Vec<(String, MediaSource)> {
        extract_media_urls(html, &page(), limit)
            .into_iter()
            .map(|link| (link.url.to_string(), link.found_in))
            .collect()
    }

    #[test]
    fn finds_every_kind_of_embed_in_page_order() {
        let html = r#"<!doctype html><html><head>
            <meta property="og:image" content="/og.jpg">
            <meta property="og:video:secure_url" content="https://cdn.example/v.mp4">
            <link rel="preload image_src" href="thumb.png">
            </head><body>
            <img src="a.jpg" srcset="a-small.jpg 320w, a-large.jpg 1280w, a-mid.jpg 640w">
            <video src="/media/clip.mp4" poster="poster.jpg">
              <source src="clip.webm" type="video/webm">
            </video>
            <picture><source srcset="p1.webp 1x, p2.webp 2x"><img src="p.jpg"></picture>
            <img data-src="lazy.jpg">
            </body></html>"#;
        let expected = vec![
            ("https://host.example/og.jpg", MediaSource::OgImage),
            ("https://cdn.example/v.mp4", MediaSource::OgVideo),
            (
                "https://host.example/articles/thumb.png",
                MediaSource::LinkImageSrc,
            ),
            ("https://host.example/articles/a.jpg", MediaSource::ImgSrc),
            (
                "https://host.example/articles/a-large.jpg",
                MediaSource::ImgSrcset,
            ),
            ("https://host.example/media/clip.mp4", MediaSource::VideoSrc),
            (
                "https://host.example/articles/poster.jpg",
                MediaSource::VideoPoster,
            ),
            (
                "https://host.example/articles/clip.webm",
                MediaSource::Source,
            ),
            ("https://host.example/articles/p2.webp", MediaSource::Source),
            ("https://host.example/articles/p.jpg", MediaSource::ImgSrc),
            (
                "https://host.example/articles/lazy.jpg",
                MediaSource::ImgSrc,
            ),
        ];
        let expected: Vec<(String, MediaSource)> = expected
            .into_iter()
            .map(|(url, source)| (url.to_owned(), source))
            .collect();
        assert_eq!(urls(html, 100), expected);
    }

    #[test]
    fn deduplicates_limits_and_skips_unfetchable_urls() {
        let html = r#"<img src="x.jpg"><img src="./x.jpg"><img src="data:image/png;base64,AAAA">
            <img src="javascript:alert(1)"><img src="y.jpg"><img src="z.jpg"><img src="">"#;
        let found = urls(html, 2);
        assert_eq!(
            found,
            vec![
                (
                    "https://host.example/articles/x.jpg".to_owned(),
                    MediaSource::ImgSrc
                ),
                (
                    "https://host.example/articles/y.jpg".to_owned(),
                    MediaSource::ImgSrc
                ),
            ]
        );
        assert!(urls(html, 0).is_empty());
    }

    #[test]
    fn base_href_changes_resolution_and_markup_tricks_do_not_fool_the_parser() {
        let html = r#"<head><base href="https://static.example/m/"></head>
            <!-- <img src="commented.jpg"> -->
            <script>var s = '<img src="scripted.jpg">';</script>
            <IMG SRC = 'upper.jpg' >
            <textarea><img src="in-text.jpg"></textarea>"#;
        assert_eq!(
            urls(html, 10),
            vec![(
                "https://static.example/m/upper.jpg".to_owned(),
                MediaSource::ImgSrc
            )]
        );
    }

    #[test]
    fn srcset_picks_the_largest_candidate() {
        assert_eq!(
            largest_srcset_candidate("a.jpg 1x, b.jpg 3x, c.jpg 2x"),
            Some("b.jpg")
        );
        assert_eq!(largest_srcset_candidate("a.jpg, b.jpg 2x"), Some("b.jpg"));
        assert_eq!(
            largest_srcset_candidate("a.jpg 2x, b.jpg 100w"),
            Some("b.jpg")
        );
        assert_eq!(
            largest_srcset_candidate("/i/w_100,h_80/a.jpg 100w, /i/w_900,h_720/a.jpg 900w"),
            Some("/i/w_900,h_720/a.jpg")
        );
        assert_eq!(largest_srcset_candidate("only.jpg"), Some("only.jpg"));
        assert_eq!(largest_srcset_candidate("a.jpg bogus"), None);
        assert_eq!(largest_srcset_candidate("  ,  "), None);
    }
}
