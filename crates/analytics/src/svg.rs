//! Deterministic, self-contained SVG charts (no scripts, no external fonts or images).
//! Numbers are printed with fixed precision so the same input gives the same bytes.

use std::fmt::Write;

use crate::survival::KmCurve;

const W: f64 = 720.0;
const H: f64 = 360.0;
const ML: f64 = 60.0;
const MR: f64 = 20.0;
const MT: f64 = 40.0;
const MB: f64 = 50.0;
const FONT: &str = "font-family=\"sans-serif\" font-size=\"13\" fill=\"#1a1a1a\"";

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn header(out: &mut String, title: &str, desc: &str) {
    let _ = write!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {W} {H}\" width=\"{W}\" height=\"{H}\" role=\"img\" aria-labelledby=\"t d\">\
<title id=\"t\">{}</title><desc id=\"d\">{}</desc>\
<rect width=\"{W}\" height=\"{H}\" fill=\"#ffffff\"/>\
<text x=\"{ML}\" y=\"24\" {FONT} font-size=\"15\" font-weight=\"bold\">{}</text>",
        esc(title),
        esc(desc),
        esc(title)
    );
}

/// A "nice" axis maximum and tick step for data up to `max`.
fn nice(max: f64) -> (f64, f64) {
    let max = if max > 0.0 && max.is_finite() {
        max
    } else {
        1.0
    };
    let raw = max / 5.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    ((max / step).ceil() * step, step)
}

fn y_axis(out: &mut String, ymax: f64, step: f64, label: &str, fmt_pct: bool) {
    let ph = H - MT - MB;
    let mut v = 0.0;
    while v <= ymax + step * 1e-9 {
        let y = MT + ph * (1.0 - v / ymax);
        let text = if fmt_pct {
            format!("{:.0}%", v * 100.0)
        } else {
            trim(v)
        };
        let _ = write!(
            out,
            "<line x1=\"{ML}\" x2=\"{:.2}\" y1=\"{y:.2}\" y2=\"{y:.2}\" stroke=\"#d0d0d0\"/>\
<text x=\"{:.2}\" y=\"{:.2}\" {FONT} text-anchor=\"end\">{text}</text>",
            W - MR,
            ML - 6.0,
            y + 4.0
        );
        v += step;
    }
    let _ = write!(
        out,
        "<text transform=\"translate(16 {:.2}) rotate(-90)\" {FONT} text-anchor=\"middle\">{}</text>",
        MT + ph / 2.0,
        esc(label)
    );
}

fn trim(v: f64) -> String {
    let s = format!("{v:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_string()
}

/// A marked day on a daily series chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Marker {
    /// Bucket index.
    pub index: usize,
    /// Label.
    pub label: String,
}

/// Daily series as bars, the operation's days shaded and labelled, changepoints as dashed
/// lines. `labels[i]` names bucket `i` (e.g. a date); every seventh is printed.
pub fn daily_series_chart(
    title: &str,
    counts: &[u64],
    labels: &[String],
    operation: Option<(usize, usize, &str)>,
    changepoints: &[Marker],
) -> String {
    let mut out = String::new();
    let total: u64 = counts.iter().sum();
    let desc = format!(
        "Daily counts over {} days, {} in total{}{}.",
        counts.len(),
        total,
        operation
            .map(|(a, b, n)| format!("; operation {n} on days {a} to {b}"))
            .unwrap_or_default(),
        if changepoints.is_empty() {
            String::new()
        } else {
            format!(
                "; changepoints: {}",
                changepoints
                    .iter()
                    .map(|m| m.label.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
    );
    header(&mut out, title, &desc);
    let max = counts.iter().copied().max().unwrap_or(0) as f64;
    let (ymax, step) = nice(max);
    y_axis(&mut out, ymax, step, "releases per day", false);
    let pw = W - ML - MR;
    let ph = H - MT - MB;
    let n = counts.len().max(1) as f64;
    let bw = pw / n;
    if let Some((a, b, name)) = operation {
        let x = ML + bw * a as f64;
        let w = bw * (b.saturating_sub(a) + 1) as f64;
        let _ = write!(
            out,
            "<rect x=\"{x:.2}\" y=\"{MT}\" width=\"{w:.2}\" height=\"{ph:.2}\" fill=\"#f4c7a1\"/>\
<text x=\"{:.2}\" y=\"{:.2}\" {FONT} text-anchor=\"middle\">{}</text>",
            x + w / 2.0,
            MT - 4.0,
            esc(name)
        );
    }
    for (i, &c) in counts.iter().enumerate() {
        let h = ph * c as f64 / ymax;
        let _ = write!(
            out,
            "<rect x=\"{:.2}\" y=\"{:.2}\" width=\"{:.2}\" height=\"{h:.2}\" fill=\"#1f4e79\"><title>{}: {c}</title></rect>",
            ML + bw * i as f64 + bw * 0.1,
            MT + ph - h,
            bw * 0.8,
            esc(labels.get(i).map_or("", |s| s.as_str()))
        );
    }
    for m in changepoints {
        let x = ML + bw * m.index as f64;
        let _ = write!(
            out,
            "<line x1=\"{x:.2}\" x2=\"{x:.2}\" y1=\"{MT}\" y2=\"{:.2}\" stroke=\"#b00020\" stroke-width=\"2\" stroke-dasharray=\"6 4\"><title>change: {}</title></line>",
            MT + ph,
            esc(&m.label)
        );
    }
    for (i, l) in labels.iter().enumerate().step_by(7) {
        let _ = write!(
            out,
            "<text x=\"{:.2}\" y=\"{:.2}\" {FONT} text-anchor=\"middle\">{}</text>",
            ML + bw * (i as f64 + 0.5),
            H - MB + 18.0,
            esc(l)
        );
    }
    out.push_str("</svg>");
    out
}

/// One bar of a before/after chart.
#[derive(Debug, Clone, PartialEq)]
pub struct RateBar {
    /// Label ("before", "after").
    pub label: String,
    /// Rate (per day).
    pub rate: f64,
    /// Interval, if any.
    pub ci: Option<(f64, f64)>,
}

/// Bars with confidence-interval whiskers (e.g. daily rate before and after).
pub fn before_after_chart(title: &str, bars: &[RateBar], unit: &str) -> String {
    let mut out = String::new();
    let desc = bars
        .iter()
        .map(|b| match b.ci {
            Some((l, h)) => format!(
                "{}: {:.2} {unit} (interval {:.2} to {:.2})",
                b.label, b.rate, l, h
            ),
            None => format!("{}: {:.2} {unit}", b.label, b.rate),
        })
        .collect::<Vec<_>>()
        .join("; ");
    header(&mut out, title, &desc);
    let max = bars
        .iter()
        .map(|b| b.ci.map_or(b.rate, |c| c.1.max(b.rate)))
        .filter(|v| v.is_finite())
        .fold(0.0, f64::max);
    let (ymax, step) = nice(max);
    y_axis(&mut out, ymax, step, unit, false);
    let pw = W - ML - MR;
    let ph = H - MT - MB;
    let slot = pw / bars.len().max(1) as f64;
    let colors = ["#1f4e79", "#c55a11", "#548235", "#7030a0"];
    let ypos = |v: f64| MT + ph * (1.0 - (v / ymax).clamp(0.0, 1.0));
    for (i, b) in bars.iter().enumerate() {
        let x = ML + slot * i as f64 + slot * 0.25;
        let w = slot * 0.5;
        let y = ypos(b.rate);
        let _ = write!(
            out,
            "<rect x=\"{x:.2}\" y=\"{y:.2}\" width=\"{w:.2}\" height=\"{:.2}\" fill=\"{}\"/>",
            MT + ph - y,
            colors[i % colors.len()]
        );
        if let Some((l, h)) = b.ci {
            let cx = x + w / 2.0;
            let (yl, yh) = (ypos(l), ypos(h));
            let _ = write!(
                out,
                "<g stroke=\"#000000\" stroke-width=\"2\"><line x1=\"{cx:.2}\" x2=\"{cx:.2}\" y1=\"{yl:.2}\" y2=\"{yh:.2}\"/>\
<line x1=\"{:.2}\" x2=\"{:.2}\" y1=\"{yl:.2}\" y2=\"{yl:.2}\"/><line x1=\"{:.2}\" x2=\"{:.2}\" y1=\"{yh:.2}\" y2=\"{yh:.2}\"/></g>",
                cx - 8.0,
                cx + 8.0,
                cx - 8.0,
                cx + 8.0
            );
        }
        let _ = write!(
            out,
            "<text x=\"{:.2}\" y=\"{:.2}\" {FONT} text-anchor=\"middle\">{} ({:.2})</text>",
            x + w / 2.0,
            H - MB + 18.0,
            esc(&b.label),
            b.rate
        );
    }
    out.push_str("</svg>");
    out
}

/// Kaplan-Meier step curves (share still up) with shaded bands, one per `(label, curve)`,
/// over `0..=max_hours`.
pub fn km_chart(title: &str, curves: &[(&str, &KmCurve)], max_hours: f64) -> String {
    let mut out = String::new();
    let desc = curves
        .iter()
        .map(|(l, c)| {
            let med = c
                .median()
                .and_then(|m| m.time)
                .map_or("not reached".to_string(), |t| format!("{t:.1} h"));
            format!(
                "{l}: {} URLs, {} removed, median time to removal {med}",
                c.n, c.events
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    header(&mut out, title, &desc);
    y_axis(&mut out, 1.0, 0.25, "share still up", true);
    let pw = W - ML - MR;
    let ph = H - MT - MB;
    let tmax = if max_hours > 0.0 && max_hours.is_finite() {
        max_hours
    } else {
        1.0
    };
    let (xmax, xstep) = nice(tmax);
    let xp = |t: f64| ML + pw * (t / xmax).clamp(0.0, 1.0);
    let yp = |s: f64| MT + ph * (1.0 - s.clamp(0.0, 1.0));
    let mut v = 0.0;
    while v <= xmax + xstep * 1e-9 {
        let _ = write!(
            out,
            "<text x=\"{:.2}\" y=\"{:.2}\" {FONT} text-anchor=\"middle\">{}</text>",
            xp(v),
            H - MB + 18.0,
            trim(v)
        );
        v += xstep;
    }
    let _ = write!(
        out,
        "<text x=\"{:.2}\" y=\"{:.2}\" {FONT} text-anchor=\"middle\">hours since referral</text>",
        ML + pw / 2.0,
        H - 8.0
    );
    let colors = ["#1f4e79", "#c55a11", "#548235", "#7030a0", "#806000"];
    for (ci, (label, c)) in curves.iter().enumerate() {
        let color = colors[ci % colors.len()];
        // Step path and band polygon.
        let mut line = format!("M{:.2} {:.2}", xp(0.0), yp(1.0));
        let mut upper = vec![(0.0, 1.0)];
        let mut lower = vec![(0.0, 1.0)];
        let (mut s_prev, mut lo_prev, mut hi_prev) = (1.0, 1.0, 1.0);
        for s in c.steps.iter().filter(|s| s.time <= xmax) {
            let _ = write!(line, " H{:.2} V{:.2}", xp(s.time), yp(s.survival));
            upper.push((s.time, hi_prev));
            upper.push((s.time, s.ci_high));
            lower.push((s.time, lo_prev));
            lower.push((s.time, s.ci_low));
            s_prev = s.survival;
            lo_prev = s.ci_low;
            hi_prev = s.ci_high;
        }
        let _ = write!(line, " H{:.2}", xp(xmax));
        upper.push((xmax, hi_prev));
        lower.push((xmax, lo_prev));
        let mut band = String::new();
        for (i, (t, v)) in upper.iter().chain(lower.iter().rev()).enumerate() {
            let _ = write!(
                band,
                "{}{:.2} {:.2}",
                if i == 0 { "M" } else { " L" },
                xp(*t),
                yp(*v)
            );
        }
        let _ = write!(
            out,
            "<path d=\"{band} Z\" fill=\"{color}\" fill-opacity=\"0.18\" stroke=\"none\"/>\
<path d=\"{line}\" fill=\"none\" stroke=\"{color}\" stroke-width=\"2.5\"><title>{}: {:.0}% still up at {} h</title></path>",
            esc(label),
            s_prev * 100.0,
            trim(xmax)
        );
        let ly = MT + 16.0 + 18.0 * ci as f64;
        let _ = write!(
            out,
            "<rect x=\"{:.2}\" y=\"{:.2}\" width=\"14\" height=\"4\" fill=\"{color}\"/><text x=\"{:.2}\" y=\"{:.2}\" {FONT}>{}</text>",
            W - MR - 180.0,
            ly - 6.0,
            W - MR - 160.0,
            ly,
            esc(label)
        );
    }
    out.push_str("</svg>");
    out
}
