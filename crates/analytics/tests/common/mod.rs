//! Fixture loading and tolerant comparison for the reference-value tests.
#![allow(dead_code)]

use serde_json::Value;

/// Loads `fixtures/<name>`.
pub fn load(name: &str) -> Value {
    let path = format!("{}/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).expect("fixture is JSON")
}

/// A JSON number, or "inf" / "-inf" / "nan".
pub fn f(v: &Value) -> f64 {
    match v {
        Value::Number(n) => n.as_f64().expect("number"),
        Value::String(s) if s == "inf" => f64::INFINITY,
        Value::String(s) if s == "-inf" => f64::NEG_INFINITY,
        Value::String(s) if s == "nan" => f64::NAN,
        other => panic!("not a number: {other}"),
    }
}

pub fn fv(v: &Value) -> Vec<f64> {
    v.as_array().expect("array").iter().map(f).collect()
}

pub fn uv(v: &Value) -> Vec<u64> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_u64().expect("count"))
        .collect()
}

/// `|a - b| <= rel * max(|b|, floor)`; infinities must match exactly.
pub fn close(what: &str, a: f64, b: f64, rel: f64, floor: f64) {
    if b.is_infinite() || a.is_infinite() {
        assert_eq!(a, b, "{what}: got {a}, expected {b}");
        return;
    }
    let tol = rel * b.abs().max(floor);
    assert!(
        (a - b).abs() <= tol,
        "{what}: got {a}, expected {b} (diff {}, tol {tol})",
        (a - b).abs()
    );
}
