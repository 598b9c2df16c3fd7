//! Driver for the audio benchmark (bench/audio/run.sh): fingerprints a generated corpus with
//! takedown and reads `fpcalc -raw` output for the same files, calibrates one BER threshold
//! per method on unrelated-audio pairs, and prints per-transform recall and speed.
//!
//! Manifest lines (tab-separated): `role id source transform path fpcalc_raw_path`, where role
//! is `original` (banked), `distractor` (never banked; its 10 s windows are the negative
//! queries) or `query` (a transformed copy of original `source`).

use rayon::prelude::*;
use std::collections::BTreeMap;
use std::time::Instant;
use takedown_index::audio::{brute_force_search, AudioIndex, AudioIndexConfig, Candidates};
use takedown_media::{decode_audio, AudioOptions};
use takedown_signals::audio::{fingerprint, fingerprint_variants, StretchSet, SAMPLE_RATE};

struct Entry {
    role: String,
    id: u64,
    source: u64,
    transform: String,
    path: String,
    fpcalc: String,
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
        min_overlap: 40,
        probe_radius: 1,
    }
}

/// Best BER of `query` against each banked item (every offset).
fn best_bers(items: &[(u64, &[u32])], query: &[u32]) -> Vec<(u64, f64)> {
    brute_force_search(items, query, &config(1.0), Candidates::All)
        .into_iter()
        .map(|m| (m.id, m.ber()))
        .collect()
}

/// Largest threshold with at most `rate * pairs` negatives at or below it: just under the
/// k-th smallest negative BER.
fn calibrate(mut negatives: Vec<f64>, rate: f64) -> f64 {
    negatives.sort_by(f64::total_cmp);
    let allowed = (rate * negatives.len() as f64).floor() as usize;
    negatives.get(allowed).map_or(0.5, |v| v - 1e-9)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("speed") {
        return speed(&args[2..]);
    }
    let Some(manifest) = args.get(2).filter(|_| args[1] == "eval") else {
        eprintln!("usage: takedown-audio-bench eval MANIFEST | speed FILE...");
        std::process::exit(2);
    };
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
    eprintln!("fingerprinting {} files", entries.len());
    // (ours plain, ours variants, fpcalc, samples for distractor windows)
    let prints: Vec<(Vec<u32>, Vec<Vec<u32>>, Vec<u32>, Vec<f32>)> = entries
        .par_iter()
        .map(|e| {
            let bytes = std::fs::read(&e.path).expect("read corpus file");
            let audio =
                decode_audio(&bytes, &options).unwrap_or_else(|err| panic!("{}: {err}", e.path));
            let plain = fingerprint(&audio.samples).into_sub_fingerprints();
            let variants = if e.role == "query" {
                fingerprint_variants(&audio.samples, &stretch)
                    .into_iter()
                    .map(|(_, fp)| fp.into_sub_fingerprints())
                    .collect()
            } else {
                Vec::new()
            };
            let keep = if e.role == "distractor" {
                audio.samples
            } else {
                Vec::new()
            };
            (plain, variants, read_fpcalc(&e.fpcalc), keep)
        })
        .collect();

    let banked: Vec<usize> = (0..entries.len())
        .filter(|&i| entries[i].role == "original")
        .collect();
    let ours_items: Vec<(u64, &[u32])> = banked
        .iter()
        .map(|&i| (entries[i].id, prints[i].0.as_slice()))
        .collect();
    let anchor_items: Vec<(u64, &[u32])> = banked
        .iter()
        .map(|&i| (entries[i].id, prints[i].2.as_slice()))
        .collect();

    // Negative queries: 10 s windows of every distractor, every 2 s. takedown's are cut from
    // the decoded samples; fpcalc's from its fingerprint of the whole distractor (same
    // windows in sub-fingerprint units: 77 values every 16).
    let window = 10 * SAMPLE_RATE as usize;
    let step = 2 * SAMPLE_RATE as usize;
    let mut ours_neg: Vec<Vec<u32>> = Vec::new();
    let mut ours_neg_var: Vec<Vec<Vec<u32>>> = Vec::new();
    let mut anchor_neg: Vec<Vec<u32>> = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        if e.role != "distractor" {
            continue;
        }
        let samples = &prints[i].3;
        let mut start = 0;
        while start + window <= samples.len() {
            let clip = &samples[start..start + window];
            ours_neg.push(fingerprint(clip).into_sub_fingerprints());
            ours_neg_var.push(
                fingerprint_variants(clip, &stretch)
                    .into_iter()
                    .map(|(_, fp)| fp.into_sub_fingerprints())
                    .collect(),
            );
            start += step;
        }
        let fp = &prints[i].2;
        let mut s = 0;
        while s + 77 <= fp.len() {
            anchor_neg.push(fp[s..s + 77].to_vec());
            s += 16;
        }
    }
    let neg_bers = |queries: &[Vec<u32>], items: &[(u64, &[u32])]| -> Vec<f64> {
        queries
            .par_iter()
            .flat_map_iter(|q| best_bers(items, q).into_iter().map(|(_, b)| b))
            .collect()
    };
    let ours_negatives = neg_bers(&ours_neg, &ours_items);
    let anchor_negatives = neg_bers(&anchor_neg, &anchor_items);
    let ours_var_negatives: Vec<f64> = ours_neg_var
        .par_iter()
        .flat_map_iter(|variants| {
            let mut best: BTreeMap<u64, f64> = BTreeMap::new();
            for v in variants {
                for (id, b) in best_bers(&ours_items, v) {
                    let e = best.entry(id).or_insert(1.0);
                    *e = e.min(b);
                }
            }
            best.into_values().collect::<Vec<_>>()
        })
        .collect();
    let rate = 1e-6;
    let t_ours = calibrate(ours_negatives.clone(), rate);
    let t_var = calibrate(ours_var_negatives.clone(), rate);
    let t_anchor = calibrate(anchor_negatives.clone(), rate);
    let min = |v: &[f64]| v.iter().copied().fold(1.0, f64::min);
    println!("## Calibration\n");
    println!("| method | negative pairs | lowest negative BER | threshold |");
    println!("|---|---:|---:|---:|");
    println!(
        "| takedown | {} | {:.4} | {:.4} |",
        ours_negatives.len(),
        min(&ours_negatives),
        t_ours
    );
    println!(
        "| takedown + speed/tempo variants | {} | {:.4} | {:.4} |",
        ours_var_negatives.len(),
        min(&ours_var_negatives),
        t_var
    );
    println!(
        "| fpcalc (anchor) | {} | {:.4} | {:.4} |",
        anchor_negatives.len(),
        min(&anchor_negatives),
        t_anchor
    );

    // Recall per transform.
    let index = {
        let mut index = AudioIndex::new(config(t_ours));
        for (id, fp) in &ours_items {
            index.insert(*id, fp);
        }
        index
    };
    let var_index = {
        let mut index = AudioIndex::new(config(t_var));
        for (id, fp) in &ours_items {
            index.insert(*id, fp);
        }
        index
    };
    #[derive(Default)]
    struct Row {
        n: usize,
        ours_index: usize,
        ours_brute: usize,
        ours_var: usize,
        anchor: usize,
        ours_ber: Vec<f64>,
        anchor_ber: Vec<f64>,
    }
    let mut rows: BTreeMap<String, Row> = BTreeMap::new();
    let results: Vec<(String, bool, bool, bool, bool, f64, f64)> = entries
        .par_iter()
        .enumerate()
        .filter(|(_, e)| e.role == "query")
        .map(|(i, e)| {
            let (plain, variants, anchor, _) = &prints[i];
            let hit = |ms: &[takedown_index::AudioMatch]| ms.iter().any(|m| m.id == e.source);
            let via_index = hit(&index.search(plain));
            let brute = best_bers(&ours_items, plain);
            let ours_best = brute
                .iter()
                .find(|(id, _)| *id == e.source)
                .map_or(1.0, |x| x.1);
            let via_brute = ours_best <= t_ours;
            let refs: Vec<&[u32]> = variants.iter().map(Vec::as_slice).collect();
            let via_var = var_index
                .search_variants(&refs)
                .iter()
                .any(|(_, m)| m.id == e.source);
            let anchor_best = best_bers(&anchor_items, anchor)
                .iter()
                .find(|(id, _)| *id == e.source)
                .map_or(1.0, |x| x.1);
            (
                e.transform.clone(),
                via_index,
                via_brute,
                via_var,
                anchor_best <= t_anchor,
                ours_best,
                anchor_best,
            )
        })
        .collect();
    for (t, a, b, c, d, ob, ab) in results {
        let r = rows.entry(t).or_default();
        r.n += 1;
        r.ours_index += usize::from(a);
        r.ours_brute += usize::from(b);
        r.ours_var += usize::from(c);
        r.anchor += usize::from(d);
        r.ours_ber.push(ob);
        r.anchor_ber.push(ab);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
    };
    let pct = |k: usize, n: usize| 100.0 * k as f64 / n.max(1) as f64;
    println!("\n## Recall per transform (at the calibrated thresholds)\n");
    println!("| transform | queries | takedown (index) | takedown (brute force) | takedown + variants (index) | fpcalc (anchor, brute force) | median BER takedown | median BER fpcalc |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for (t, mut r) in rows {
        println!(
            "| {t} | {} | {:.0}% | {:.0}% | {:.0}% | {:.0}% | {:.3} | {:.3} |",
            r.n,
            pct(r.ours_index, r.n),
            pct(r.ours_brute, r.n),
            pct(r.ours_var, r.n),
            pct(r.anchor, r.n),
            median(&mut r.ours_ber),
            median(&mut r.anchor_ber)
        );
    }

    // Agreement with fpcalc on the banked originals (fpcalc decodes with FFmpeg and resamples
    // with swresample; ours with symphonia and our resampler).
    let (mut same, mut total, mut bits) = (0usize, 0usize, 0u64);
    for &i in &banked {
        let (a, b) = (&prints[i].0, &prints[i].2);
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
