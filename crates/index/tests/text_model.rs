//! Property tests: the text index against a brute-force pass of the rule over every banked
//! statement, with weights recomputed from scratch, across random inserts, removals and
//! queries. Statements share boilerplate openings and closings and draw on a small
//! vocabulary, so posting lists are long, weights vary and the skipping of long lists is
//! exercised at both sides of the minimum shared weight.

use proptest::prelude::*;
use std::collections::BTreeMap;
use takedown_index::text::{TextIndex, TextMatch};
use takedown_signals::text::{compare_weighted, TextMatchConfig, TextSignature};

const WORDS: &[&str] = &[
    "river", "stone", "lamp", "harbor", "window", "garden", "market", "engine", "letter", "valley",
    "candle", "bridge", "copper", "meadow", "signal", "orchard", "lantern", "canvas",
];
const OPENINGS: &[&str] = &[
    "in the name of the council we announce",
    "statement number issued by the office of the committee",
];
const CLOSINGS: &[&str] = &[
    "and peace be upon the readers until the next statement",
    "the office of the committee thanks all readers",
];

fn statement() -> impl Strategy<Value = String> {
    (
        prop::option::of(0..OPENINGS.len()),
        prop::collection::vec(0..WORDS.len(), 0..20),
        prop::option::of(0..CLOSINGS.len()),
    )
        .prop_map(|(open, body, close)| {
            let mut parts: Vec<&str> = Vec::new();
            if let Some(o) = open {
                parts.push(OPENINGS[o]);
            }
            parts.extend(body.iter().map(|&w| WORDS[w]));
            if let Some(c) = close {
                parts.push(CLOSINGS[c]);
            }
            parts.join(" ")
        })
}

#[derive(Debug, Clone)]
enum Op {
    Insert(u64, String),
    Remove(u64),
    Query(String),
    /// Query with a banked statement's text, cut and wrapped in other words.
    QueryBanked(u64, usize, String),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..12u64, statement()).prop_map(|(id, s)| Op::Insert(id, s)),
        1 => (0..12u64).prop_map(Op::Remove),
        2 => statement().prop_map(Op::Query),
        2 => (0..12u64, 0..30usize, statement()).prop_map(|(id, cut, s)| Op::QueryBanked(id, cut, s)),
    ]
}

fn model(bank: &BTreeMap<u64, TextSignature>, query: &TextSignature) -> Vec<TextMatch> {
    let df = |s: u32| {
        bank.values()
            .filter(|b| b.shingles().binary_search(&s).is_ok())
            .count()
    };
    bank.iter()
        .filter(|(_, b)| {
            b.shingles()
                .iter()
                .any(|s| query.shingles().binary_search(s).is_ok())
        })
        .map(|(&id, b)| TextMatch {
            id,
            comparison: compare_weighted(query.shingles(), b.shingles(), |s| {
                1.0 / df(s).max(1) as f64
            }),
        })
        .collect()
}

fn check(index: &TextIndex, bank: &BTreeMap<u64, TextSignature>, query: &TextSignature) {
    let all = model(bank, query);
    assert_eq!(index.compare_all(query), all);
    let config = *index.config();
    let mut expected: Vec<TextMatch> = all
        .into_iter()
        .filter(|m| m.comparison.is_match(&config))
        .collect();
    expected.sort_by(|a, b| b.score().total_cmp(&a.score()).then(a.id.cmp(&b.id)));
    assert_eq!(index.query(query), expected);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn index_agrees_with_brute_force(ops in prop::collection::vec(op(), 1..40)) {
        for config in [
            TextMatchConfig::default(),
            TextMatchConfig { threshold: 0.3, min_shared: 2.5 },
            TextMatchConfig { threshold: 0.9, min_shared: 0.0 },
        ] {
            let mut index = TextIndex::new(config);
            let mut bank: BTreeMap<u64, TextSignature> = BTreeMap::new();
            let mut texts: BTreeMap<u64, String> = BTreeMap::new();
            for op in &ops {
                match op {
                    Op::Insert(id, text) => {
                        let signature = TextSignature::from_text(text);
                        index.insert(*id, &signature);
                        bank.insert(*id, signature);
                        texts.insert(*id, text.clone());
                    }
                    Op::Remove(id) => {
                        assert_eq!(index.remove(*id), bank.remove(id).is_some());
                        texts.remove(id);
                    }
                    Op::Query(text) => check(&index, &bank, &TextSignature::from_text(text)),
                    Op::QueryBanked(id, cut, extra) => {
                        if let Some(text) = texts.get(id) {
                            let words: Vec<&str> = text.split(' ').collect();
                            let kept = words[..words.len().saturating_sub(*cut % 8)].join(" ");
                            let query = format!("{extra} {kept} {extra}");
                            check(&index, &bank, &TextSignature::from_text(&query));
                        }
                    }
                }
                prop_assert_eq!(index.len(), bank.len());
            }
        }
    }
}

#[test]
fn shared_boilerplate_alone_does_not_match_but_the_statement_does() {
    let opening = "in the name of the council of the valley we announce to all the readers";
    let closing = "and the council thanks every reader and will publish again soon";
    let bodies = [
        "the bridge over the river was repaired by the volunteers during the night shift",
        "the market will open early on friday with fresh bread from the northern bakery",
        "a new lantern was placed in the garden next to the old copper fountain today",
        "the orchard harvest was stored in the barn before the heavy autumn rain arrived",
        "engineers tested the pumping engine at the harbor and found it in good order",
    ];
    let mut index = TextIndex::default();
    for (id, body) in bodies.iter().enumerate() {
        let text = format!("{opening} {body} {closing}");
        index.insert(id as u64, &TextSignature::from_text(&text));
    }
    // A new statement from the same outlet: same formulas, a body never banked.
    let sibling = format!(
        "{opening} the choir will rehearse in the school hall on tuesday evening after work \
         {closing}"
    );
    assert!(index.query(&TextSignature::from_text(&sibling)).is_empty());
    // Banked statement 2 quoted in a longer post, with a word changed.
    let quoted = format!(
        "someone forwarded this message earlier today: {opening} a new lantern was placed in \
         the garden next to the old brass fountain today {closing} what do you all think"
    );
    let hits = index.query(&TextSignature::from_text(&quoted));
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].id, 2);
    // The boilerplate weighs less than a statement's own words.
    let formula = TextSignature::from_text(opening).shingles()[0];
    assert_eq!(index.document_frequency(formula), 5);
    assert_eq!(index.weight(formula), 0.2);
}
