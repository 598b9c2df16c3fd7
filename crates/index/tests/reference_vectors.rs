//! Meta's C++ reference regression output (`pdq/cpp/reg_test/expected/out`) on the
//! `needles.txt` / `haystack.txt` hash lists: the index must report exactly the same
//! neighbour sets and distances.

use flate2::read::GzDecoder;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::PathBuf;
use takedown_index::{HammingIndex, Hash256, Strategy};

fn vectors() -> PathBuf {
    takedown_testmedia::vectors().join("pdq")
}

fn read_hashes(name: &str) -> Vec<Hash256> {
    let path = vectors().join("hashes").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| Hash256::from_hex(line.trim()).expect("hash line"))
        .collect()
}

fn expected_output() -> String {
    let path = vectors().join("expected/cpp-reg-test-expected-out.gz");
    let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    let mut text = String::new();
    GzDecoder::new(file)
        .read_to_string(&mut text)
        .expect("gunzip expected output");
    text
}

/// The lines printed by the command whose `RUNNING` header line starts with `command`.
fn section<'a>(text: &'a str, command: &str) -> Vec<&'a str> {
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if line == "RUNNING" {
            if let Some(header) = lines.next() {
                if header.starts_with(command) {
                    return lines.take_while(|l| *l != "RUNNING").collect();
                }
            }
        }
    }
    panic!("no section for {command}");
}

fn field<'a>(line: &'a str, name: &str) -> &'a str {
    line.split(',')
        .find_map(|part| part.strip_prefix(name).and_then(|v| v.strip_prefix('=')))
        .unwrap_or_else(|| panic!("no {name} in {line}"))
}

const STRATEGIES: [Strategy; 3] = [Strategy::Auto, Strategy::MultiIndex, Strategy::Scan];

#[test]
fn test_mih_total_match_count_equals_reference() {
    let text = expected_output();
    let lines = section(&text, "test-mih test2 --no-timings 32");
    let totals: Vec<usize> = lines
        .iter()
        .filter_map(|l| l.strip_prefix("TOTAL MATCH COUNT:"))
        .map(|v| v.trim().parse().expect("count"))
        .collect();
    assert_eq!(totals, vec![13875, 13875], "brute-force and MIH totals");

    let needles = read_hashes("needles.txt");
    let haystack = read_hashes("haystack.txt");
    assert_eq!((needles.len(), haystack.len()), (100, 1350));
    let index = HammingIndex::build(
        haystack
            .iter()
            .copied()
            .zip(1..)
            .map(|(h, i)| (i, h))
            .collect(),
    );
    for strategy in STRATEGIES {
        let per_needle: Vec<usize> = needles
            .iter()
            .map(|n| index.query_with(n, 32, strategy).len())
            .collect();
        // test-mih never clears its `matches` vector between needles (`queryAll` and
        // `bruteForceQueryAll` append), so it prints the sum of the running totals, not
        // the number of (needle, hash) pairs.
        let mut running = 0;
        let reference_total: usize = per_needle
            .iter()
            .map(|m| {
                running += m;
                running
            })
            .sum();
        assert_eq!(reference_total, totals[0], "{strategy:?}");
        // The plain pair count, checked against a brute-force loop over the same files.
        let pairs: usize = per_needle.iter().sum();
        let brute: usize = needles
            .iter()
            .map(|n| haystack.iter().filter(|h| h.distance(n) <= 32).count())
            .sum();
        assert_eq!(pairs, brute, "{strategy:?}");
    }
}

#[test]
fn clusterize_non_snowball_neighbour_sets_equal_reference() {
    let text = expected_output();
    let lines = section(&text, "clusterize256 -d 32 --non-snowball");
    let haystack = read_hashes("haystack.txt");
    // clidx (1-based haystack line of hash1) -> {(idx, d)}
    let mut expected: BTreeMap<u64, BTreeSet<(u64, u32)>> = BTreeMap::new();
    let mut rows = 0;
    for line in lines.iter().filter(|l| l.starts_with("clidx=")) {
        rows += 1;
        let clidx: u64 = field(line, "clidx").parse().expect("clidx");
        let size: usize = field(line, "clusz").parse().expect("clusz");
        let hash1 = Hash256::from_hex(field(line, "hash1")).expect("hash1");
        let hash2 = Hash256::from_hex(field(line, "hash2")).expect("hash2");
        let d: u32 = field(line, "d").parse().expect("d");
        let idx: u64 = field(line, "idx").parse().expect("idx");
        // The reference's own fields agree with the hash files.
        assert_eq!(hash1, haystack[clidx as usize - 1], "{line}");
        assert_eq!(hash2, haystack[idx as usize - 1], "{line}");
        assert_eq!(hash1.distance(&hash2), d, "{line}");
        let set = expected.entry(clidx).or_default();
        set.insert((idx, d));
        assert!(set.len() <= size, "{line}");
    }
    assert_eq!(
        expected.len(),
        haystack.len(),
        "one cluster per haystack hash"
    );
    assert!(rows > haystack.len());

    let index = HammingIndex::build(
        haystack
            .iter()
            .copied()
            .zip(1..)
            .map(|(h, i)| (i, h))
            .collect(),
    );
    for strategy in STRATEGIES {
        for (clidx, want) in &expected {
            let query = haystack[*clidx as usize - 1];
            let got: BTreeSet<(u64, u32)> = index
                .query_with(&query, 32, strategy)
                .into_iter()
                .map(|n| (n.id, n.distance))
                .collect();
            assert_eq!(&got, want, "{strategy:?} clidx={clidx}");
        }
    }
    let total: usize = expected.values().map(BTreeSet::len).sum();
    assert_eq!(total, rows);
}
