//! A small HTML writer for the reports: escaping, headings, tables with captions, figures.
//!
//! Reports are one self-contained file: CSS inline, charts as inline SVG with a title and
//! description, no script, no external font, image or style sheet, so that a page saved
//! today opens the same offline in ten years, prints cleanly, and leaks no reader's visit to a
//! third party.

use std::fmt::Write;

/// Escapes text for HTML content and attribute values.
pub(crate) fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

const CSS: &str = "\
:root{color-scheme:light}\
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,'Noto Sans',sans-serif;color:#1a1a1a;background:#fff;max-width:62rem;margin:0 auto;padding:1.5rem;line-height:1.45}\
h1{font-size:1.7rem;margin-bottom:.2rem}h2{font-size:1.35rem;border-bottom:2px solid #1f4e79;padding-bottom:.2rem;margin-top:2.2rem}\
h3{font-size:1.1rem;margin-top:1.6rem}\
table{border-collapse:collapse;margin:.6rem 0 1rem;font-size:.92rem}\
caption{text-align:left;font-weight:600;padding:.3rem 0;caption-side:top}\
th,td{border:1px solid #bbb;padding:.25rem .5rem;vertical-align:top}\
th{background:#eef2f7;text-align:left}td.num{text-align:right;font-variant-numeric:tabular-nums}\
figure{margin:1rem 0}figcaption{font-size:.9rem;color:#333}\
svg{max-width:100%;height:auto}\
.headline{font-size:1.05rem;background:#f6f8fb;border-left:4px solid #1f4e79;padding:.5rem .8rem}\
.flag{font-weight:700;border:2px solid #b00020;color:#b00020;padding:0 .3rem;border-radius:3px;white-space:nowrap}\
.muted{color:#555}dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}dt{font-weight:600}dd{margin:0}\
code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.92em}\
@media print{body{max-width:none;padding:0;font-size:10.5pt}h2{break-after:avoid}figure,table{break-inside:avoid}a{color:inherit;text-decoration:none}}";

/// A report page being written.
pub(crate) struct Page {
    out: String,
}

impl Page {
    /// Starts a page: doctype, language, title, inline style.
    pub(crate) fn new(title: &str) -> Page {
        let mut out = String::with_capacity(256 * 1024);
        let _ = write!(
            out,
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
<meta name=\"generator\" content=\"takedown\">\n<title>{}</title>\n<style>{CSS}</style>\n</head>\n<body>\n",
            esc(title)
        );
        Page { out }
    }

    /// Raw HTML (already escaped).
    pub(crate) fn raw(&mut self, html: &str) {
        self.out.push_str(html);
    }

    /// A heading with an id for links from the contents.
    pub(crate) fn heading(&mut self, level: u8, id: &str, text: &str) {
        let _ = writeln!(
            self.out,
            "<h{level} id=\"{}\">{}</h{level}>",
            esc(id),
            esc(text)
        );
    }

    /// A paragraph of HTML.
    pub(crate) fn para(&mut self, html: &str) {
        let _ = writeln!(self.out, "<p>{html}</p>");
    }

    /// A paragraph of plain text.
    pub(crate) fn text(&mut self, text: &str) {
        self.para(&esc(text));
    }

    /// A table with a caption, a header row and rows of HTML cells; columns in `numeric` are
    /// right-aligned. The first cell of each row is a row header.
    pub(crate) fn table(
        &mut self,
        caption: &str,
        header: &[&str],
        rows: &[Vec<String>],
        numeric: &[usize],
    ) {
        let _ = write!(
            self.out,
            "<table>\n<caption>{}</caption>\n<thead><tr>",
            esc(caption)
        );
        for h in header {
            let _ = write!(self.out, "<th scope=\"col\">{}</th>", esc(h));
        }
        self.out.push_str("</tr></thead>\n<tbody>\n");
        for row in rows {
            self.out.push_str("<tr>");
            for (i, cell) in row.iter().enumerate() {
                if i == 0 {
                    let _ = write!(self.out, "<th scope=\"row\">{cell}</th>");
                } else if numeric.contains(&i) {
                    let _ = write!(self.out, "<td class=\"num\">{cell}</td>");
                } else {
                    let _ = write!(self.out, "<td>{cell}</td>");
                }
            }
            self.out.push_str("</tr>\n");
        }
        self.out.push_str("</tbody>\n</table>\n");
    }

    /// A chart with a visible caption. The SVG carries its own `<title>` and `<desc>` (read by
    /// screen readers through `role="img"`).
    pub(crate) fn figure(&mut self, svg: &str, caption: &str) {
        let _ = writeln!(
            self.out,
            "<figure>\n{svg}\n<figcaption>{}</figcaption>\n</figure>",
            esc(caption)
        );
    }

    /// Ends the page.
    pub(crate) fn finish(mut self) -> String {
        self.out.push_str("</body>\n</html>\n");
        self.out
    }
}

/// A number with `digits` decimals; infinite as "unbounded", NaN as "n/a".
pub(crate) fn num(x: f64, digits: usize) -> String {
    if x.is_nan() {
        "n/a".into()
    } else if x.is_infinite() {
        if x > 0.0 { "unbounded" } else { "-unbounded" }.into()
    } else {
        format!("{x:.digits$}")
    }
}

/// A rate ratio: three decimals below 0.1, else two.
pub(crate) fn ratio(x: f64) -> String {
    if x.is_finite() && x.abs() < 0.1 {
        num(x, 3)
    } else {
        num(x, 2)
    }
}

/// A p-value as written in prose: `p < 0.001` or `p = 0.023`.
pub(crate) fn p_value(p: f64) -> String {
    if p.is_nan() {
        "p n/a".into()
    } else if p < 0.001 {
        "p &lt; 0.001".into()
    } else {
        format!("p = {p:.3}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_and_numbers() {
        assert_eq!(
            esc("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
        assert_eq!(ratio(0.0512), "0.051");
        assert_eq!(ratio(0.256), "0.26");
        assert_eq!(num(f64::INFINITY, 2), "unbounded");
        assert_eq!(p_value(0.0001), "p &lt; 0.001");
        assert_eq!(p_value(0.0234), "p = 0.023");
    }
}
