//! Benchmark driver for takedown-index: build time, memory, single-core latency, all-core
//! throughput and recall, side by side with FAISS in the same run (see `bench/index/run.sh`).
//!
//! ```text
//! cargo run --release -p takedown-index --example index_bench -- [--sizes 1000000,10000000]
//!     [--queries 2000] [--runs 3] [--python target/bench-venv/bin/python]
//!     [--faiss-script bench/index/faiss_anchor.py] [--no-faiss] [--crossover] [--quick]
//!     [--datasets uniform,clustered]
//! ```
//!
//! Data sets (fixed seeds): `uniform` random hashes, and `clustered`: centres whose bits are
//! biased (each bit set with its own probability in 0.3..0.7, like real PDQ bits), each
//! stored hash a centre with 0..=24 random bits flipped (n / 20 centres). Queries are stored
//! hashes with 0..=24 bits flipped, so every query has at least one match.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::io::Write;
use std::process::Command;
use std::time::Instant;
use takedown_index::{brute_force_scan, HammingIndex, Hash256, ScanKernel, Strategy};

struct Args {
    sizes: Vec<usize>,
    queries: usize,
    runs: usize,
    python: Option<String>,
    faiss_script: String,
    out: String,
    crossover: bool,
    rss_probe: Option<(String, usize)>,
    quick: bool,
    datasets: Vec<String>,
}

fn parse_args() -> Args {
    let mut args = Args {
        sizes: vec![1_000_000],
        queries: 2000,
        runs: 3,
        python: Some("target/bench-venv/bin/python".into()),
        faiss_script: "bench/index/faiss_anchor.py".into(),
        out: "target/index-bench".into(),
        crossover: false,
        rss_probe: None,
        quick: false,
        datasets: vec!["uniform".into(), "clustered".into()],
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().expect("flag needs a value");
        match flag.as_str() {
            "--sizes" => {
                args.sizes = value()
                    .split(',')
                    .map(|s| s.parse().expect("size"))
                    .collect()
            }
            "--queries" => args.queries = value().parse().expect("queries"),
            "--runs" => args.runs = value().parse().expect("runs"),
            "--python" => args.python = Some(value()),
            "--faiss-script" => args.faiss_script = value(),
            "--out" => args.out = value(),
            "--no-faiss" => args.python = None,
            "--crossover" => args.crossover = true,
            "--quick" => args.quick = true,
            "--datasets" => args.datasets = value().split(',').map(String::from).collect(),
            "--rss-probe" => {
                let dataset = value();
                args.rss_probe = Some((dataset, value().parse().expect("n")));
            }
            other => panic!("unknown flag {other}"),
        }
    }
    args
}

fn flip_bits(rng: &mut ChaCha8Rng, limbs: &mut [u64; 4], count: usize) {
    for _ in 0..count {
        let bit = rng.gen_range(0..256);
        limbs[bit / 64] ^= 1 << (bit % 64);
    }
}

/// `n` hashes of the named data set, generated in parallel blocks with per-block seeds.
fn generate(dataset: &str, n: usize, seed: u64) -> Vec<[u64; 4]> {
    const BLOCK: usize = 1 << 16;
    match dataset {
        "uniform" => (0..n.div_ceil(BLOCK))
            .into_par_iter()
            .flat_map_iter(|block| {
                let mut rng = ChaCha8Rng::seed_from_u64(seed ^ (block as u64) << 20);
                let len = BLOCK.min(n - block * BLOCK);
                (0..len)
                    .map(move |_| rng.gen::<[u64; 4]>())
                    .collect::<Vec<_>>()
            })
            .collect(),
        "clustered" => {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let bias: Vec<f64> = (0..256).map(|_| rng.gen_range(0.3..0.7)).collect();
            let centres: Vec<[u64; 4]> = (0..(n / 20).max(1))
                .map(|_| {
                    let mut limbs = [0u64; 4];
                    for (bit, &p) in bias.iter().enumerate() {
                        if rng.gen_bool(p) {
                            limbs[bit / 64] |= 1 << (bit % 64);
                        }
                    }
                    limbs
                })
                .collect();
            (0..n.div_ceil(BLOCK))
                .into_par_iter()
                .flat_map_iter(|block| {
                    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ (block as u64) << 20 ^ 1);
                    let len = BLOCK.min(n - block * BLOCK);
                    let centres = &centres;
                    (0..len)
                        .map(move |_| {
                            let mut limbs = centres[rng.gen_range(0..centres.len())];
                            let flips = rng.gen_range(0..=24);
                            flip_bits(&mut rng, &mut limbs, flips);
                            limbs
                        })
                        .collect::<Vec<_>>()
                })
                .collect()
        }
        other => panic!("unknown data set {other}"),
    }
}

fn make_queries(hashes: &[[u64; 4]], count: usize, seed: u64) -> Vec<Hash256> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..count)
        .map(|_| {
            let mut limbs = hashes[rng.gen_range(0..hashes.len())];
            let flips = rng.gen_range(0..=24);
            flip_bits(&mut rng, &mut limbs, flips);
            Hash256::from_limbs(limbs)
        })
        .collect()
}

fn write_hashes(path: &str, hashes: impl Iterator<Item = [u64; 4]>) {
    let file = std::fs::File::create(path).expect("create bench file");
    let mut writer = std::io::BufWriter::new(file);
    for limbs in hashes {
        for limb in limbs {
            writer.write_all(&limb.to_le_bytes()).expect("write");
        }
    }
    writer.flush().expect("flush");
}

fn rss_bytes() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<usize>().ok())
        .map_or(0, |kb| kb * 1024)
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

#[derive(Default, Clone)]
struct Latency {
    p50_ms: f64,
    p99_ms: f64,
    qps1: f64,
    results: usize,
}

/// Single-thread latency of one query at a time.
fn latency(index: &HammingIndex, queries: &[Hash256], radius: u32, strategy: Strategy) -> Latency {
    let mut times = Vec::with_capacity(queries.len());
    let mut results = 0;
    for q in queries {
        let start = Instant::now();
        let found = index.query_with(q, radius, strategy);
        times.push(start.elapsed().as_secs_f64());
        results += found.len();
    }
    let mean = times.iter().sum::<f64>() / times.len() as f64;
    times.sort_by(f64::total_cmp);
    Latency {
        p50_ms: times[times.len() / 2] * 1e3,
        p99_ms: times[(times.len() * 99 / 100).min(times.len() - 1)] * 1e3,
        qps1: 1.0 / mean,
        results,
    }
}

/// Median over runs of p50, p99 and single-core throughput.
fn latency_runs(
    index: &HammingIndex,
    queries: &[Hash256],
    radius: u32,
    strategy: Strategy,
    runs: usize,
) -> Latency {
    let all: Vec<Latency> = (0..runs)
        .map(|_| latency(index, queries, radius, strategy))
        .collect();
    Latency {
        p50_ms: median(&mut all.iter().map(|l| l.p50_ms).collect::<Vec<_>>()),
        p99_ms: median(&mut all.iter().map(|l| l.p99_ms).collect::<Vec<_>>()),
        qps1: median(&mut all.iter().map(|l| l.qps1).collect::<Vec<_>>()),
        results: all[0].results,
    }
}

fn qps_all(index: &HammingIndex, queries: &[Hash256], radius: u32, runs: usize) -> f64 {
    let mut rates: Vec<f64> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            let total: usize = queries
                .par_iter()
                .map(|q| index.query(q, radius).len())
                .sum();
            std::hint::black_box(total);
            queries.len() as f64 / start.elapsed().as_secs_f64()
        })
        .collect();
    median(&mut rates)
}

/// Fraction of brute-force results that the index returns (1.0 = 100% recall), and whether
/// the sets were identical for every sampled query.
fn recall(index: &HammingIndex, queries: &[Hash256], radius: u32) -> (f64, bool) {
    let (mut expected, mut found, mut identical) = (0usize, 0usize, true);
    for q in queries {
        let mut scan = Vec::new();
        brute_force_scan(index.hashes(), q, radius, &mut scan);
        let want: std::collections::BTreeSet<(u32, u32)> = scan.into_iter().collect();
        let got: std::collections::BTreeSet<(u32, u32)> = index
            .query_with(q, radius, Strategy::MultiIndex)
            .into_iter()
            .map(|n| (n.id as u32, n.distance))
            .collect();
        expected += want.len();
        found += want.intersection(&got).count();
        identical &= want == got;
    }
    (found as f64 / expected.max(1) as f64, identical)
}

struct Row {
    dataset: String,
    n: usize,
    radius: u32,
    method: String,
    build_s: Option<f64>,
    bytes_per_hash: Option<f64>,
    rss_per_hash: Option<f64>,
    lat: Latency,
    qps_all: Option<f64>,
    recall: String,
}

fn fmt_opt(value: Option<f64>, digits: usize) -> String {
    value.map_or("-".into(), |v| format!("{v:.digits$}"))
}

fn run_faiss(args: &Args, hashes: &str, queries: &str, n: usize) -> BTreeMap<String, String> {
    let Some(python) = &args.python else {
        return BTreeMap::new();
    };
    let nq_mh = if n >= 5_000_000 { 500 } else { 1000 }.min(args.queries);
    let nq_flat = if n >= 5_000_000 { 100 } else { 300 }.min(args.queries);
    let mut results = BTreeMap::new();
    for only in ["multihash", "flat"] {
        eprintln!("  running FAISS {only} ({python})...");
        let output = Command::new(python)
            .arg(&args.faiss_script)
            .args([hashes, queries, "--only", only])
            .args(["--nq-multihash", &nq_mh.to_string()])
            .args(["--nq-flat", &nq_flat.to_string()])
            .output();
        match output {
            Ok(out) if out.status.success() => results.extend(
                String::from_utf8_lossy(&out.stdout)
                    .lines()
                    .filter_map(|l| l.split_once('='))
                    .map(|(k, v)| (k.to_string(), v.to_string())),
            ),
            Ok(out) => eprintln!("FAISS failed: {}", String::from_utf8_lossy(&out.stderr)),
            Err(e) => eprintln!("FAISS not run: {e}"),
        }
    }
    results
}

fn faiss_row(
    f: &BTreeMap<String, String>,
    key: &str,
    label: &str,
    dataset: &str,
    n: usize,
    radius: u32,
    expected_results: Option<usize>,
) -> Option<Row> {
    let get = |k: &str| {
        f.get(&format!("{key}.{k}"))
            .and_then(|v| v.parse::<f64>().ok())
    };
    let p50 = get("p50_ms")?;
    let results = get("total_results").unwrap_or(0.0) as usize;
    let recall = match expected_results {
        Some(e) if e == results => "same count".to_string(),
        Some(e) => format!("{results} vs {e}"),
        None => "-".into(),
    };
    let build_key = key.trim_end_matches("47");
    Some(Row {
        dataset: dataset.into(),
        n,
        radius,
        method: label.into(),
        build_s: f
            .get(&format!("{build_key}.build_s"))
            .and_then(|v| v.parse().ok()),
        bytes_per_hash: None,
        rss_per_hash: f
            .get(&format!("{build_key}.rss_bytes"))
            .and_then(|v| v.parse::<f64>().ok())
            .map(|b| b / n as f64),
        lat: Latency {
            p50_ms: p50,
            p99_ms: get("p99_ms").unwrap_or(0.0),
            qps1: get("qps1").unwrap_or(0.0),
            results,
        },
        qps_all: get("qps_all"),
        recall,
    })
}

fn crossover(args: &Args) {
    println!("| n | radius | multi-index mean us | scan mean us | faster | auto picks |");
    println!("|---|---|---|---|---|---|");
    for &n in &[256usize, 1024, 4096, 16_384, 65_536, 262_144, 1_048_576] {
        let hashes = generate("uniform", n, 7);
        let queries = make_queries(&hashes, 300, 8);
        let index = HammingIndex::build(
            hashes
                .iter()
                .enumerate()
                .map(|(i, h)| (i as u64, Hash256::from_limbs(*h)))
                .collect(),
        );
        for radius in [15u32, 31, 39, 47, 55, 63, 79] {
            let mean_us = |strategy| {
                let mut runs: Vec<f64> = (0..args.runs)
                    .map(|_| 1e6 / latency(&index, &queries, radius, strategy).qps1)
                    .collect();
                median(&mut runs)
            };
            let mih = mean_us(Strategy::MultiIndex);
            let scan = mean_us(Strategy::Scan);
            println!(
                "| {n} | {radius} | {mih:.2} | {scan:.2} | {} | {:?} |",
                if mih < scan { "multi-index" } else { "scan" },
                index.auto_strategy(radius)
            );
        }
    }
}

fn seed_for(n: usize) -> u64 {
    0x7a6b_d0c5 + n as u64
}

fn items_of(hashes: &[[u64; 4]]) -> Vec<(u64, Hash256)> {
    hashes
        .iter()
        .enumerate()
        .map(|(i, h)| (i as u64, Hash256::from_limbs(*h)))
        .collect()
}

/// Child-process mode: RSS growth of one fresh build, free of memory that earlier builds
/// left in the allocator. Prints `rss_growth=BYTES`.
fn rss_probe(dataset: &str, n: usize) {
    // Baseline before any data exists: the generated arrays are large single allocations that
    // go back to the OS when freed, so the growth left at the end is the index.
    let rss0 = rss_bytes();
    let hashes = generate(dataset, n, seed_for(n));
    let items = items_of(&hashes);
    drop(hashes);
    let index = HammingIndex::build(items);
    println!("rss_growth={}", rss_bytes().saturating_sub(rss0));
    std::hint::black_box(&index);
}

/// Runs [`rss_probe`] in a child process.
fn measure_rss(dataset: &str, n: usize) -> Option<usize> {
    let exe = std::env::current_exe().ok()?;
    let out = Command::new(exe)
        .args(["--rss-probe", dataset, &n.to_string()])
        .output()
        .ok()?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("rss_growth="))
        .and_then(|v| v.parse().ok())
}

fn main() {
    let args = parse_args();
    if let Some((dataset, n)) = &args.rss_probe {
        rss_probe(dataset, *n);
        return;
    }
    println!(
        "scan kernel: {:?}; threads: {}",
        ScanKernel::best(),
        rayon::current_num_threads()
    );
    if args.crossover {
        crossover(&args);
        return;
    }
    std::fs::create_dir_all(&args.out).expect("output directory");
    let mut rows: Vec<Row> = Vec::new();
    for &n in &args.sizes {
        for dataset in args.datasets.iter().map(String::as_str) {
            eprintln!("{dataset} n={n}: generating...");
            let hashes = generate(dataset, n, seed_for(n));
            let queries = make_queries(&hashes, args.queries, 99);
            let hash_file = format!("{}/{dataset}-{n}.hashes.bin", args.out);
            let query_file = format!("{}/{dataset}-{n}.queries.bin", args.out);
            write_hashes(&hash_file, hashes.iter().copied());
            write_hashes(&query_file, queries.iter().map(|q| q.limbs()));

            // Build: median of `runs` builds. RSS growth comes from a fresh child process.
            let mut builds = Vec::new();
            let mut index = HammingIndex::new();
            for _ in 0..args.runs {
                drop(std::mem::take(&mut index));
                let items = items_of(&hashes);
                let start = Instant::now();
                index = HammingIndex::build(items);
                builds.push(start.elapsed().as_secs_f64());
            }
            let build_s = median(&mut builds);
            let bytes = index.memory_bytes() as f64 / n as f64;
            eprintln!("  built in {build_s:.2} s, {bytes:.1} B/hash; querying...");
            if args.quick {
                // Tuning mode: only the radius-31 latency of the default strategy.
                // Each query's fastest of `runs` passes over all queries (passes, not repeats,
                // so a query's candidates are not still cached): filters out preemption.
                let mut best = vec![f64::INFINITY; queries.len()];
                for _ in 0..args.runs {
                    for (q, best) in queries.iter().zip(best.iter_mut()) {
                        let start = Instant::now();
                        std::hint::black_box(index.query(q, 31));
                        *best = best.min(start.elapsed().as_secs_f64() * 1e3);
                    }
                }
                best.sort_by(f64::total_cmp);
                // One-at-a-time updates while the index is full size: remove 10k ids, then
                // insert them again.
                let updates: Vec<u64> = (0..10_000u64).map(|i| i * (n as u64 / 10_000)).collect();
                let start = Instant::now();
                for &id in &updates {
                    index.remove(id);
                }
                let remove_us = start.elapsed().as_secs_f64() * 1e6 / updates.len() as f64;
                let start = Instant::now();
                for &id in &updates {
                    index.insert(id, Hash256::from_limbs(hashes[id as usize]));
                }
                let insert_us = start.elapsed().as_secs_f64() * 1e6 / updates.len() as f64;
                println!(
                    "{dataset} n={n} remove {remove_us:.2} us/op, insert {insert_us:.2} us/op"
                );
                println!(
                    "{dataset} n={n} build {build_s:.2} s min-of-{} p50 {:.4} ms p90 {:.4} ms mean {:.4} ms",
                    args.runs,
                    best[best.len() / 2],
                    best[best.len() * 9 / 10],
                    best.iter().sum::<f64>() / best.len() as f64
                );
                continue;
            }
            let rss_growth = measure_rss(dataset, n).unwrap_or(0);

            let scan_queries =
                &queries[..queries.len().min(if n >= 5_000_000 { 200 } else { 500 })];
            let (recall_fraction, identical) =
                recall(&index, &queries[..200.min(queries.len())], 31);
            let recall_text = format!(
                "{:.2}%{}",
                recall_fraction * 100.0,
                if identical {
                    " (identical)"
                } else {
                    " DIFFERS"
                }
            );
            let mih31 = latency_runs(&index, &queries, 31, Strategy::Auto, args.runs);
            let mih31_faiss_q = latency(
                &index,
                &queries[..(if n >= 5_000_000 { 500 } else { 1000 }).min(queries.len())],
                31,
                Strategy::Auto,
            )
            .results;
            let scan31 = latency_runs(&index, scan_queries, 31, Strategy::Scan, args.runs);
            let flat_q = &queries[..(if n >= 5_000_000 { 100 } else { 300 }).min(queries.len())];
            let flat_results31 = latency(&index, flat_q, 31, Strategy::Scan).results;
            let flat_results47 = latency(&index, flat_q, 47, Strategy::Scan).results;
            let mih47 = latency_runs(&index, &queries, 47, Strategy::Auto, args.runs);
            let scan47 = latency_runs(&index, scan_queries, 47, Strategy::Scan, args.runs);
            let q31 = qps_all(&index, &queries, 31, args.runs);
            let q47 = qps_all(&index, &queries, 47, args.runs);
            let auto47 = index.auto_strategy(47);
            let base = |radius, method: &str, lat: Latency, qps: Option<f64>, first: bool| Row {
                dataset: dataset.into(),
                n,
                radius,
                method: method.into(),
                build_s: first.then_some(build_s),
                bytes_per_hash: first.then_some(bytes),
                rss_per_hash: first.then_some(rss_growth as f64 / n as f64),
                lat,
                qps_all: qps,
                recall: if first {
                    recall_text.clone()
                } else {
                    "exact".into()
                },
            };
            rows.push(base(
                31,
                "takedown (auto: multi-index)",
                mih31,
                Some(q31),
                true,
            ));
            rows.push(base(31, "takedown scan", scan31, None, false));
            rows.push(base(
                47,
                &format!("takedown (auto: {auto47:?})"),
                mih47,
                Some(q47),
                false,
            ));
            rows.push(base(47, "takedown scan", scan47, None, false));
            drop(index);

            let f = run_faiss(&args, &hash_file, &query_file, n);
            let mut push = |key: &str, label: &str, radius: u32, expected: usize| {
                if let Some(row) = faiss_row(&f, key, label, dataset, n, radius, Some(expected)) {
                    rows.push(row);
                }
            };
            push(
                "multihash",
                "FAISS IndexBinaryMultiHash(256,16,16) nflip=1",
                31,
                mih31_faiss_q,
            );
            push("flat", "FAISS IndexBinaryFlat", 31, flat_results31);
            push("flat47", "FAISS IndexBinaryFlat", 47, flat_results47);
        }
    }
    print_table(&rows);
}

fn print_table(rows: &[Row]) {
    println!();
    println!("| data | n | r | method | build s | B/hash (memory_bytes) | RSS B/hash | p50 ms | p99 ms | q/s 1 core | q/s all cores | recall vs brute force |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
    for r in rows {
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {:.4} | {:.4} | {:.0} | {} | {} |",
            r.dataset,
            r.n,
            r.radius,
            r.method,
            fmt_opt(r.build_s, 2),
            fmt_opt(r.bytes_per_hash, 1),
            fmt_opt(r.rss_per_hash, 1),
            r.lat.p50_ms,
            r.lat.p99_ms,
            r.lat.qps1,
            fmt_opt(r.qps_all, 0),
            r.recall
        );
    }
    println!();
    println!("Ratios (p50 latency of the other method / takedown auto at the same radius; build time and RSS per hash likewise):");
    println!("| data | n | r | vs FAISS multi-hash p50 | vs FAISS multi-hash q/s all cores | vs FAISS flat p50 | vs takedown scan p50 | FAISS MH build / ours | FAISS MH RSS / ours |");
    println!("|---|---|---|---|---|---|---|---|---|");
    let mut keys: Vec<(String, usize, u32)> = rows
        .iter()
        .map(|r| (r.dataset.clone(), r.n, r.radius))
        .collect();
    let mut seen = std::collections::BTreeSet::new();
    keys.retain(|key| seen.insert(key.clone()));
    for (dataset, n, radius) in keys {
        let find = |prefix: &str| {
            rows.iter().find(|r| {
                r.dataset == dataset
                    && r.n == n
                    && r.radius == radius
                    && r.method.starts_with(prefix)
            })
        };
        let Some(ours) = find("takedown (auto") else {
            continue;
        };
        let ours31 = rows
            .iter()
            .find(|r| r.dataset == dataset && r.n == n && r.radius == 31 && r.build_s.is_some());
        let ratio = |other: Option<&Row>| {
            other.map_or("-".to_string(), |o| {
                format!("{:.1}x", o.lat.p50_ms / ours.lat.p50_ms)
            })
        };
        let mh = find("FAISS IndexBinaryMultiHash");
        let qps_ratio = match (mh.and_then(|m| m.qps_all), ours.qps_all) {
            (Some(theirs), Some(our)) => format!("{:.1}x", our / theirs),
            _ => "-".into(),
        };
        let build_ratio = match (mh.and_then(|m| m.build_s), ours31.and_then(|o| o.build_s)) {
            (Some(theirs), Some(our)) => format!("{:.1}x", theirs / our),
            _ => "-".into(),
        };
        let rss_ratio = match (
            mh.and_then(|m| m.rss_per_hash),
            ours31.and_then(|o| o.rss_per_hash),
        ) {
            (Some(theirs), Some(our)) if our > 0.0 => format!("{:.1}x", theirs / our),
            _ => "-".into(),
        };
        println!(
            "| {dataset} | {n} | {radius} | {} | {qps_ratio} | {} | {} | {build_ratio} | {rss_ratio} |",
            ratio(mh),
            ratio(find("FAISS IndexBinaryFlat")),
            ratio(find("takedown scan")),
        );
    }
}
