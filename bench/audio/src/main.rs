//! Driver for the audio benchmark (bench/audio/run.sh): fingerprints a generated corpus with
//! takedown and reads `fpcalc -raw` output for the same files, calibrates one BER threshold
//! per method on unrelated-audio pairs, and prints per-transform recall and speed.
//!
//! Manifest lines (tab-separated): `role id source transform path fpcalc_raw_path`, where role
//! is `original` (banked), `distractor` (never banked; its non-overlapping 10 s windows are the
//! negative queries) or `query` (a transformed copy of original `source`).
//!
//! Negatives are scored by exact brute force: every window against every banked original at
//! every offset whose overlap holds at least `min(40, |q|, |b|)` pairs (the rule of
//! `takedown_index::audio`), keeping the lowest BER. The kernel here is a tight XOR/popcount
//! loop with no early exit; the driver checks it against `brute_force_search` on a sample.

use rayon::prelude::*;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;
use takedown_index::audio::{brute_force_search, AudioIndex, AudioIndexConfig, Candidates};
use takedown_media::{decode_audio, AudioOptions};
use takedown_signals::audio::{
    fingerprint, fingerprint_variants, StretchSet, SAMPLE_RATE, SECONDS_PER_SUB_FINGERPRINT,
};

const MIN_OVERLAP: usize = 40;
const WINDOW_SECONDS: usize = 10;
const RATE: f64 = 1e-6;

struct Entry {
    role: String,
    id: u64,
    source: u64,
    transform: String,
    path: String,
    fpcalc: String,
}

/// What the driver keeps of one file.
#[derive(Default)]
struct Prints {
    plain: Vec<u32>,
    /// Queries only: every `StretchSet::speed_and_tempo` variant, the plain one first.
    variants: Vec<Vec<u32>>,
    fpcalc: Vec<u32>,
    /// Distractors only: each non-overlapping 10 s window's variants (plain first).
    windows: Vec<Vec<Vec<u32>>>,
}

fn read_fpcalc(path: &str) -> Vec<u32> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .find_map(|l| l.strip_prefix("FINGERPRINT="))
        .map(|v| v.split(',').filter_map(|x| x.trim().parse().ok()).collect())
        .unwrap_or_default()
}

fn config(max_ber: f64) -> AudioIndexConfig {
    AudioIndexConfig {
        max_ber,
        min_overlap: MIN_OVERLAP,
        probe_radius: 1,
    }
}

/// Lowest BER of `q` against `b` over every offset with at least `min(40, |q|, |b|)` aligned
/// pairs (1.0 when no offset qualifies): the match rule, computed literally.
#[inline(always)]
fn best_ber_body(q: &[u32], b: &[u32]) -> f64 {
    let (m, n) = (q.len() as i64, b.len() as i64);
    if m == 0 || n == 0 {
        return 1.0;
    }
    let needed = (MIN_OVERLAP as i64).min(m).min(n).max(1);
    // overlap(o) = min(m, n - o) - max(0, -o) >= needed  <=>  needed - m <= o <= n - needed.
    let (mut best_e, mut best_ov) = (u64::MAX, 1u64);
    for o in (needed - m)..=(n - needed) {
        let start = (-o).max(0) as usize;
        let end = m.min(n - o) as usize;
        let qs = &q[start..end];
        let bs = &b[(start as i64 + o) as usize..][..qs.len()];
        let e: u32 = qs.iter().zip(bs).map(|(x, y)| (x ^ y).count_ones()).sum();
        let (e, ov) = (u64::from(e), qs.len() as u64);
        // e / ov < best_e / best_ov, exactly.
        if best_e == u64::MAX || e * best_ov < best_e * ov {
            best_e = e;
            best_ov = ov;
        }
    }
    best_e as f64 / (32.0 * best_ov as f64)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,popcnt")]
unsafe fn best_ber_avx2(q: &[u32], b: &[u32]) -> f64 {
    best_ber_body(q, b)
}

fn best_ber(q: &[u32], b: &[u32]) -> f64 {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("popcnt") {
        // SAFETY: the features were detected at run time.
        return unsafe { best_ber_avx2(q, b) };
    }
    best_ber_body(q, b)
}

/// Lowest BER over several fingerprints of one query.
fn best_ber_any(variants: &[Vec<u32>], b: &[u32]) -> f64 {
    variants
        .iter()
        .map(|v| best_ber(v, b))
        .fold(1.0, f64::min)
}

/// One negative pair's score with where it came from (window, banked id).
type Negative = (f64, usize, u64);

struct Calibration {
    pairs: usize,
    allowed: usize,
    lowest: Vec<Negative>,
    /// The (allowed + 1)-th lowest negative: the threshold must stay below it.
    bound: f64,
    /// The largest 4-decimal BER below `bound`.
    threshold: f64,
}

/// Largest threshold with at most floor(RATE x pairs) negatives at or below it.
fn calibrate(mut negatives: Vec<Negative>) -> Calibration {
    negatives.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    let pairs = negatives.len();
    let allowed = (RATE * pairs as f64).floor() as usize;
    let bound = negatives.get(allowed).map_or(0.5, |v| v.0);
    let threshold = ((bound * 1e4).ceil() - 1.0) / 1e4;
    let at_or_below = negatives.iter().take_while(|v| v.0 <= threshold).count();
    assert!(at_or_below <= allowed, "calibration: {at_or_below} > {allowed}");
    Calibration {
        pairs,
        allowed,
        lowest: negatives.iter().take(8).copied().collect(),
        bound,
        threshold,
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("speed") {
        return speed(&args[2..]);
    }
    if args.get(1).map(String::as_str) == Some("variants-speed") {
        return variants_speed(&args[2..]);
    }
    if args.get(1).map(String::as_str) == Some("low-negatives") {
        return low_negatives(&args[2], args[3].parse().expect("max BER"));
    }
    let Some(manifest) = args.get(2).filter(|_| args[1] == "eval") else {
        eprintln!("usage: takedown-audio-bench eval MANIFEST | speed FILE... | variants-speed FILE... | low-negatives MANIFEST MAX_BER");
        std::process::exit(2);
    };
    let started = Instant::now();
    let entries: Vec<Entry> = std::fs::read_to_string(manifest)
        .expect("manifest")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            Entry {
                role: f[0].into(),
                id: f[1].parse().expect("id"),
                source: f[2].parse().expect("source"),
                transform: f[3].into(),
                path: f[4].into(),
                fpcalc: f[5].into(),
            }
        })
        .collect();
    let options = AudioOptions::default();
    let stretch = StretchSet::speed_and_tempo();
    let window = WINDOW_SECONDS * SAMPLE_RATE as usize;
    eprintln!("fingerprinting {} files", entries.len());
    let done = AtomicUsize::new(0);
    let prints: Vec<Prints> = entries
        .par_iter()
        .map(|e| {
            let bytes = std::fs::read(&e.path).expect("read corpus file");
            let audio =
                decode_audio(&bytes, &options).unwrap_or_else(|err| panic!("{}: {err}", e.path));
            let variants_of = |samples: &[f32]| -> Vec<Vec<u32>> {
                fingerprint_variants(samples, &stretch)
                    .into_iter()
                    .map(|(_, fp)| fp.into_sub_fingerprints())
                    .collect()
            };
            let mut p = Prints {
                fpcalc: read_fpcalc(&e.fpcalc),
                ..Prints::default()
            };
            match e.role.as_str() {
                "query" => {
                    p.variants = variants_of(&audio.samples);
                    p.plain = p.variants[0].clone();
                }
                "distractor" => {
                    // Non-overlapping windows: each is an independent query, fingerprinted
                    // from its own samples as a 10 s upload would be.
                    p.windows = audio
                        .samples
                        .chunks_exact(window)
                        .map(|clip| variants_of(clip))
                        .collect();
                }
                _ => p.plain = fingerprint(&audio.samples).into_sub_fingerprints(),
            }
            let k = done.fetch_add(1, Ordering::Relaxed) + 1;
            if k % 200 == 0 {
                eprintln!("  {k}/{} files ({:.0} s)", entries.len(), started.elapsed().as_secs_f64());
            }
            p
        })
        .collect();
    eprintln!("fingerprints done ({:.0} s)", started.elapsed().as_secs_f64());
    // The variant set must start with the plain fingerprint (StretchSet::speed_and_tempo does).
    assert_eq!(stretch.variants[0], takedown_signals::audio::Stretch::None);

    let banked: Vec<usize> = (0..entries.len())
        .filter(|&i| entries[i].role == "original")
        .collect();
    let ours_items: Vec<(u64, &[u32])> = banked
        .iter()
        .map(|&i| (entries[i].id, prints[i].plain.as_slice()))
        .collect();
    let anchor_items: Vec<(u64, &[u32])> = banked
        .iter()
        .map(|&i| (entries[i].id, prints[i].fpcalc.as_slice()))
        .collect();
    let missing_fpcalc = anchor_items.iter().filter(|(_, fp)| fp.is_empty()).count();

    // Negative queries. takedown's are fingerprinted from each window's samples; fpcalc's are
    // cut from its fingerprint of the whole distractor at the same start times, as long as
    // takedown's 10 s fingerprint.
    let windows: Vec<&Vec<Vec<u32>>> = entries
        .iter()
        .zip(&prints)
        .filter(|(e, _)| e.role == "distractor")
        .flat_map(|(_, p)| p.windows.iter())
        .collect();
    let window_len = windows.first().map_or(0, |w| w[0].len());
    let mut anchor_windows: Vec<&[u32]> = Vec::new();
    for (e, p) in entries.iter().zip(&prints) {
        if e.role != "distractor" {
            continue;
        }
        for k in 0..p.windows.len() {
            let start = (k as f64 * WINDOW_SECONDS as f64 / SECONDS_PER_SUB_FINGERPRINT).round()
                as usize;
            if start + window_len <= p.fpcalc.len() {
                anchor_windows.push(&p.fpcalc[start..start + window_len]);
            }
        }
    }
    eprintln!(
        "{} banked, {} takedown windows ({} values each), {} fpcalc windows",
        banked.len(),
        windows.len(),
        window_len,
        anchor_windows.len()
    );

    // The kernel against the library's brute force, on a sample of pairs.
    let mut checked = 0;
    for w in windows.iter().take(3) {
        for v in w.iter() {
            let reference: BTreeMap<u64, f64> =
                brute_force_search(&ours_items, v, &config(1.0), Candidates::All)
                    .into_iter()
                    .map(|m| (m.id, m.ber()))
                    .collect();
            for (id, fp) in &ours_items {
                let ours = best_ber(v, fp);
                assert_eq!(Some(ours), reference.get(id).copied().or(Some(1.0)), "kernel");
                checked += 1;
            }
        }
    }

    // The engine's rule at its defaults: the upload as it is within `engine_plain`, its
    // stretched variants within `engine_stretched` (takedown_engine::DEFAULT_STRETCHED_MAX_BER;
    // this package does not depend on the engine, so the value comes in by environment).
    let env_ber = |name: &str, default: f64| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(default)
    };
    let engine_plain = env_ber("ENGINE_PLAIN_MAX_BER", takedown_index::audio::DEFAULT_MAX_BER);
    let engine_stretched = env_ber("ENGINE_STRETCHED_MAX_BER", 0.112);
    let engine_union = AtomicUsize::new(0);

    eprintln!("brute force over negatives");
    let done = AtomicUsize::new(0);
    let step = (windows.len() / 20).max(1);
    let scored: Vec<(Vec<Negative>, Vec<Negative>)> = windows
        .par_iter()
        .enumerate()
        .map(|(w, variants)| {
            let mut plain = Vec::with_capacity(ours_items.len());
            let mut var = Vec::with_capacity(ours_items.len());
            for &(id, fp) in &ours_items {
                let p = best_ber(&variants[0], fp);
                let stretched = best_ber_any(&variants[1..], fp);
                let v = stretched.min(p);
                if p <= engine_plain || stretched <= engine_stretched {
                    engine_union.fetch_add(1, Ordering::Relaxed);
                }
                plain.push((p, w, id));
                var.push((v, w, id));
            }
            let k = done.fetch_add(1, Ordering::Relaxed) + 1;
            if k % step == 0 {
                eprintln!("  {k}/{} windows ({:.0} s)", windows.len(), started.elapsed().as_secs_f64());
            }
            (plain, var)
        })
        .collect();
    let (ours_neg, var_neg): (Vec<_>, Vec<_>) = scored.into_iter().unzip();
    let ours_neg: Vec<Negative> = ours_neg.into_iter().flatten().collect();
    let var_neg: Vec<Negative> = var_neg.into_iter().flatten().collect();
    let anchor_neg: Vec<Negative> = anchor_windows
        .par_iter()
        .enumerate()
        .flat_map_iter(|(w, q)| {
            anchor_items
                .iter()
                .filter(|(_, fp)| !fp.is_empty())
                .map(move |&(id, fp)| (best_ber(q, fp), w, id))
        })
        .collect();
    eprintln!("negatives done ({:.0} s)", started.elapsed().as_secs_f64());
    let c_ours = calibrate(ours_neg);
    let c_var = calibrate(var_neg);
    let c_anchor = calibrate(anchor_neg);
    let (t_ours, t_var, t_anchor) = (c_ours.threshold, c_var.threshold, c_anchor.threshold);

    println!("## Calibration\n");
    println!(
        "{} banked originals; {} distractor windows of {WINDOW_SECONDS} s (non-overlapping, {} values each) for takedown, {} for fpcalc{}; fast brute-force kernel checked against `brute_force_search` on {checked} pairs: identical.\n",
        banked.len(),
        windows.len(),
        window_len,
        anchor_windows.len(),
        if missing_fpcalc > 0 {
            format!(" ({missing_fpcalc} originals without an fpcalc fingerprint left out)")
        } else {
            String::new()
        }
    );
    println!("| method | negative pairs | allowed at 1e-6 | lowest negative BERs | must stay below | threshold |");
    println!("|---|---:|---:|---|---:|---:|");
    for (name, c) in [
        ("takedown", &c_ours),
        ("takedown + speed/tempo variants", &c_var),
        ("fpcalc (anchor)", &c_anchor),
    ] {
        let lowest: Vec<String> = c.lowest.iter().map(|v| format!("{:.4}", v.0)).collect();
        println!(
            "| {name} | {} | {} | {} | {:.6} | {:.4} |",
            c.pairs,
            c.allowed,
            lowest.join(", "),
            c.bound,
            c.threshold
        );
    }
    let dist_ids: Vec<u64> = entries
        .iter()
        .zip(&prints)
        .filter(|(e, _)| e.role == "distractor")
        .flat_map(|(e, p)| std::iter::repeat(e.id).take(p.windows.len()))
        .collect();
    println!("\nLowest negatives (distractor id, window start, banked id):");
    for (name, c) in [("takedown", &c_ours), ("variants", &c_var)] {
        let at: Vec<String> = c
            .lowest
            .iter()
            .take(5)
            .map(|&(b, w, id)| {
                let first = dist_ids.iter().position(|d| *d == dist_ids[w]).unwrap_or(w);
                format!("{b:.4} ({}, {} s, {id})", dist_ids[w], (w - first) * WINDOW_SECONDS)
            })
            .collect();
        println!("- {name}: {}", at.join("; "));
    }

    // Recall per transform through the index at the calibrated thresholds.
    let index = {
        let mut index = AudioIndex::new(config(t_ours));
        for (id, fp) in &ours_items {
            index.insert(*id, fp);
        }
        index
    };
    let engine_index = {
        let mut index = AudioIndex::new(config(engine_plain));
        for (id, fp) in &ours_items {
            index.insert(*id, fp);
        }
        index
    };
    let source_of = |id: u64| -> usize {
        banked
            .iter()
            .copied()
            .find(|&i| entries[i].id == id)
            .expect("query of a banked original")
    };
    #[derive(Default)]
    struct Row {
        n: usize,
        index: usize,
        brute: usize,
        var_index: usize,
        var_brute: usize,
        anchor: usize,
        engine: usize,
        ber: Vec<f64>,
        var_ber: Vec<f64>,
        anchor_ber: Vec<f64>,
    }
    struct Outcome {
        transform: String,
        index: bool,
        brute: bool,
        var_index: bool,
        var_brute: bool,
        anchor: bool,
        engine: bool,
        ber: f64,
        var_ber: f64,
        anchor_ber: f64,
        wrong: usize,
    }
    let outcomes: Vec<Outcome> = entries
        .par_iter()
        .enumerate()
        .filter(|(_, e)| e.role == "query")
        .map(|(i, e)| {
            let p = &prints[i];
            let src = &prints[source_of(e.source)];
            let plain_hits = index.search_at(&p.plain, t_ours);
            let refs: Vec<&[u32]> = p.variants.iter().map(Vec::as_slice).collect();
            let var_hits = index.search_variants_at(&refs, t_var);
            let engine_hits =
                engine_index.search_with_variants(&p.plain, &refs[1..], engine_stretched);
            let ber = best_ber(&p.plain, &src.plain);
            let var_ber = best_ber_any(&p.variants, &src.plain);
            let anchor_ber = if src.fpcalc.is_empty() {
                1.0
            } else {
                best_ber(&p.fpcalc, &src.fpcalc)
            };
            for m in plain_hits
                .iter()
                .chain(var_hits.iter().map(|(_, m)| m))
                .filter(|m| m.id != e.source)
            {
                eprintln!(
                    "wrong hit: {} of {} -> {} at BER {:.4}, overlap {}, offset {}",
                    e.transform,
                    e.source,
                    m.id,
                    m.ber(),
                    m.overlap,
                    m.offset
                );
            }
            Outcome {
                transform: e.transform.clone(),
                index: plain_hits.iter().any(|m| m.id == e.source),
                brute: ber <= t_ours,
                var_index: var_hits.iter().any(|(_, m)| m.id == e.source),
                var_brute: var_ber <= t_var,
                anchor: anchor_ber <= t_anchor,
                engine: engine_hits.iter().any(|(_, m)| m.id == e.source),
                ber,
                var_ber,
                anchor_ber,
                wrong: plain_hits.iter().filter(|m| m.id != e.source).count()
                    + var_hits.iter().filter(|(_, m)| m.id != e.source).count()
                    + engine_hits.iter().filter(|(_, m)| m.id != e.source).count(),
            }
        })
        .collect();
    let mut rows: BTreeMap<String, Row> = BTreeMap::new();
    let mut wrong = 0;
    for o in &outcomes {
        let r = rows.entry(o.transform.clone()).or_default();
        r.n += 1;
        r.index += usize::from(o.index);
        r.brute += usize::from(o.brute);
        r.var_index += usize::from(o.var_index);
        r.var_brute += usize::from(o.var_brute);
        r.anchor += usize::from(o.anchor);
        r.engine += usize::from(o.engine);
        r.ber.push(o.ber);
        r.var_ber.push(o.var_ber);
        r.anchor_ber.push(o.anchor_ber);
        wrong += o.wrong;
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
    };
    let pct = |k: usize, n: usize| 100.0 * k as f64 / n.max(1) as f64;
    println!(
        "\n## Recall per transform (takedown at {t_ours:.4}, variants at {t_var:.4}, fpcalc at {t_anchor:.4})\n"
    );
    println!(
        "The engine's rule at its defaults (as it is <= {engine_plain:.4}, stretched <= {engine_stretched:.4}; `search_with_variants`): {} of {} negative pairs at or below (union of both rules).\n",
        engine_union.load(Ordering::Relaxed),
        ours_items.len() * windows.len(),
    );
    println!("| transform | queries | takedown (index) | takedown (brute force) | takedown + variants (index) | takedown + variants (brute force) | engine rule at its defaults (index) | fpcalc (anchor, brute force) | median BER takedown | median BER best variant | median BER fpcalc |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (t, mut r) in rows {
        println!(
            "| {t} | {} | {:.0}% | {:.0}% | {:.0}% | {:.0}% | {:.0}% | {:.0}% | {:.3} | {:.3} | {:.3} |",
            r.n,
            pct(r.index, r.n),
            pct(r.brute, r.n),
            pct(r.var_index, r.n),
            pct(r.var_brute, r.n),
            pct(r.engine, r.n),
            pct(r.anchor, r.n),
            median(&mut r.ber),
            median(&mut r.var_ber),
            median(&mut r.anchor_ber)
        );
    }
    println!(
        "\nWrong-recording hits among the {} recall queries (index, plain and variants): {wrong}",
        outcomes.len()
    );

    // Agreement with fpcalc on the banked originals (fpcalc decodes with FFmpeg and resamples
    // with swresample; ours with symphonia and our resampler).
    let (mut same, mut total, mut bits) = (0usize, 0usize, 0u64);
    for &i in &banked {
        let (a, b) = (&prints[i].plain, &prints[i].fpcalc);
        for (x, y) in a.iter().zip(b) {
            total += 1;
            same += usize::from(x == y);
            bits += u64::from((x ^ y).count_ones());
        }
    }
    println!(
        "\nAgreement with fpcalc on the originals (each decoded by its own tool): {:.1}% of sub-fingerprints identical, BER {:.4} over {} values",
        pct(same, total),
        bits as f64 / (32.0 * total.max(1) as f64),
        total
    );
    eprintln!("eval done ({:.0} s)", started.elapsed().as_secs_f64());
}

/// Diagnostic: every plain takedown negative pair (same windows and rule as `eval`) at or below
/// `max_ber`, as `ber distractor window_start_s banked offset overlap silent_pairs` lines.
fn low_negatives(manifest: &str, max_ber: f64) {
    let options = AudioOptions::default();
    let window = WINDOW_SECONDS * SAMPLE_RATE as usize;
    let entries: Vec<(String, u64, String)> = std::fs::read_to_string(manifest)
        .expect("manifest")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (f[0].to_string(), f[1].parse().expect("id"), f[4].to_string())
        })
        .filter(|e| e.0 == "original" || e.0 == "distractor")
        .collect();
    let prints: Vec<Vec<Vec<u32>>> = entries
        .par_iter()
        .map(|(role, _, path)| {
            let audio = decode_audio(&std::fs::read(path).expect("read"), &options).expect("decode");
            if role == "distractor" {
                audio
                    .samples
                    .chunks_exact(window)
                    .map(|c| fingerprint(c).into_sub_fingerprints())
                    .collect()
            } else {
                vec![fingerprint(&audio.samples).into_sub_fingerprints()]
            }
        })
        .collect();
    let items: Vec<(u64, &[u32])> = entries
        .iter()
        .zip(&prints)
        .filter(|(e, _)| e.0 == "original")
        .map(|(e, p)| (e.1, p[0].as_slice()))
        .collect();
    let silence = takedown_signals::audio::silence_sub_fingerprint();
    let mut lines: Vec<(f64, String)> = entries
        .par_iter()
        .zip(&prints)
        .filter(|(e, _)| e.0 == "distractor")
        .flat_map_iter(|(e, p)| {
            let mut out = Vec::new();
            for (k, w) in p.iter().enumerate() {
                for &(id, fp) in &items {
                    if best_ber(w, fp) <= max_ber {
                        let m = brute_force_search(&[(id, fp)], w, &config(1.0), Candidates::All)
                            .remove(0);
                        let start = (-m.offset).max(0) as usize;
                        let silent = (start..start + m.overlap)
                            .filter(|&i| {
                                let j = (i as i64 + m.offset) as usize;
                                w[i] == silence || fp[j] == silence
                            })
                            .count();
                        out.push((
                            m.ber(),
                            format!(
                                "{:.4}\t{}\t{}\t{id}\t{}\t{}\t{silent}",
                                m.ber(),
                                e.1,
                                k * WINDOW_SECONDS,
                                m.offset,
                                m.overlap
                            ),
                        ));
                    }
                }
            }
            out
        })
        .collect();
    lines.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    for (_, l) in lines {
        println!("{l}");
    }
}

/// Time of each `StretchSet::speed_and_tempo` variant's fingerprint (median of 3, one core).
fn variants_speed(files: &[String]) {
    let options = AudioOptions::default();
    println!("| file | audio s | variant | fingerprint ms | x real time |");
    println!("|---|---:|---|---:|---:|");
    for path in files {
        let audio = decode_audio(&std::fs::read(path).expect("read"), &options).expect("decode");
        let seconds = audio.duration().as_secs_f64();
        let name = std::path::Path::new(path)
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or(path);
        let mut total = 0.0;
        for &stretch in &StretchSet::speed_and_tempo().variants {
            let mut ms: Vec<f64> = (0..3)
                .map(|_| {
                    let t = Instant::now();
                    let fp = takedown_signals::audio::fingerprint_stretched(&audio.samples, stretch);
                    assert!(!fp.is_empty());
                    t.elapsed().as_secs_f64() * 1e3
                })
                .collect();
            ms.sort_by(f64::total_cmp);
            total += ms[1];
            println!(
                "| {name} | {seconds:.1} | {} | {:.1} | {:.0}x |",
                stretch.label(),
                ms[1],
                seconds * 1e3 / ms[1]
            );
        }
        println!("| {name} | {seconds:.1} | all 9 | {total:.1} | {:.0}x |", seconds * 1e3 / total);
    }
}

/// Decode and fingerprint timings: median of 5 runs per file, as a multiple of real time.
fn speed(files: &[String]) {
    let options = AudioOptions::default();
    println!("| file | audio s | decode ms | fingerprint ms | decode+fingerprint x real time |");
    println!("|---|---:|---:|---:|---:|");
    for path in files {
        let bytes = std::fs::read(path).expect("read");
        let mut decode_ms = Vec::new();
        let mut fp_ms = Vec::new();
        let mut seconds = 0.0;
        for _ in 0..5 {
            let t = Instant::now();
            let audio = decode_audio(&bytes, &options).expect("decode");
            decode_ms.push(t.elapsed().as_secs_f64() * 1e3);
            let t = Instant::now();
            let fp = fingerprint(&audio.samples);
            fp_ms.push(t.elapsed().as_secs_f64() * 1e3);
            assert!(!fp.is_empty());
            seconds = audio.duration().as_secs_f64();
        }
        decode_ms.sort_by(f64::total_cmp);
        fp_ms.sort_by(f64::total_cmp);
        let (d, f) = (decode_ms[2], fp_ms[2]);
        println!(
            "| {} | {:.1} | {:.1} | {:.1} | {:.0}x |",
            std::path::Path::new(path)
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or(path),
            seconds,
            d,
            f,
            seconds * 1e3 / (d + f)
        );
    }
}
