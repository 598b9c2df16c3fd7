//! The `takedown` binary driven as a user drives it: hash, match and compare on the reference
//! images, bad input, and exit statuses.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn takedown(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_takedown"))
        .args(args)
        .output()
        .expect("the takedown binary runs")
}

fn images() -> PathBuf {
    takedown_testmedia::vectors().join("pdq/images")
}

fn json_lines(output: &Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).expect("each stdout line is JSON"))
        .collect()
}

fn reference() -> HashMap<String, (String, String, String)> {
    let path = images().join("../expected/reference-hashes.csv");
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .skip(1)
        .map(|line| {
            let fields: Vec<&str> = line.split(',').collect();
            (
                fields[0].to_string(),
                (
                    fields[7].to_string(),
                    fields[8].to_string(),
                    fields[1].to_string(),
                ),
            )
        })
        .collect()
}

#[test]
fn hash_walks_directories_and_every_reference_image_is_exact() {
    let output = takedown(&["hash", images().to_str().unwrap()]);
    assert!(output.status.success(), "{output:?}");
    let lines = json_lines(&output);
    let reference = reference();
    assert_eq!(lines.len(), 37, "every image in vectors/pdq/images");
    for line in &lines {
        let path = line["path"].as_str().unwrap();
        let key = path.split("pdq/images/").nth(1).unwrap();
        let (pdq, quality, sha256) = &reference[key];
        assert_eq!(line["pdq"].as_str().unwrap(), pdq, "{key}");
        assert_eq!(line["quality"].to_string(), *quality, "{key}");
        assert_eq!(line["sha256"].as_str().unwrap(), sha256, "{key}");
        for key in ["md5", "width", "height"] {
            assert!(line.get(key).is_some(), "{key} missing");
        }
    }
    // Output order is the sorted walk order, whatever the thread count.
    let paths: Vec<&str> = lines.iter().map(|l| l["path"].as_str().unwrap()).collect();
    let mut sorted = paths.clone();
    sorted.sort();
    assert_eq!(paths, sorted);
    // Quality below 50 is reported, not dropped.
    let small = lines
        .iter()
        .find(|l| {
            l["path"]
                .as_str()
                .unwrap()
                .ends_with("misc-images/small.jpg")
        })
        .unwrap();
    assert_eq!(small["quality"], 0);
    assert_eq!(small["low_quality"], true);
}

#[test]
fn hash_dihedral_and_table() {
    let file = images().join("reg-test-input/dih/bridge-1-original.jpg");
    let output = takedown(&["hash", "--dihedral", file.to_str().unwrap()]);
    let line = &json_lines(&output)[0];
    assert_eq!(
        line["dihedral"]["flipx"],
        "d8f80f31e0f457b00637f5d5038f980fb36ed12a9662c1e233e64c634e9c64dd"
    );
    assert_eq!(line["dihedral"].as_object().unwrap().len(), 8);
    let output = takedown(&["hash", "--format", "table", file.to_str().unwrap()]);
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(text.starts_with("path"), "{text}");
    assert!(text.contains("d8f8f0cee0f4a84f0637022a078f67f0b36e2ed596621e1d33e6339c4e9c9b22"));
}

#[test]
fn a_bad_file_is_reported_and_the_rest_go_on() {
    let directory = tempfile::tempdir().unwrap();
    let write = |name: &str, bytes: &[u8]| {
        let path = directory.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    };
    write("a-empty.jpg", b"");
    // Valid UTF-8 would be hashed as a text statement; bytes that are neither media nor
    // UTF-8 text are an error.
    write("b-text.png", b"hello, this is not an image \xff\n");
    let truncated = std::fs::read(images().join("misc-images/wee.jpg")).unwrap();
    write("c-truncated.jpg", &truncated[..truncated.len() / 2]);
    std::fs::copy(
        images().join("misc-images/wee.jpg"),
        directory.path().join("d-good.jpg"),
    )
    .unwrap();
    let output = takedown(&["hash", directory.path().to_str().unwrap()]);
    assert_eq!(
        output.status.code(),
        Some(1),
        "a failure sets the exit status"
    );
    let lines = json_lines(&output);
    assert_eq!(lines.len(), 1);
    assert!(lines[0]["path"].as_str().unwrap().ends_with("d-good.jpg"));
    let stderr = String::from_utf8_lossy(&output.stderr);
    for name in ["a-empty.jpg", "b-text.png", "c-truncated.jpg"] {
        let line = stderr
            .lines()
            .find(|line| line.contains(name))
            .unwrap_or_else(|| panic!("no error line for {name}: {stderr}"));
        assert!(line.starts_with("takedown: "), "{line}");
    }
    assert!(!stderr.contains("panicked"), "{stderr}");
}

fn write_bank(directory: &Path) -> PathBuf {
    let bank = directory.join("bank.csv");
    std::fs::write(
        &bank,
        "signal_type,value,entity,tier,partner_ref\n\
         pdq,d8f8f0cee0f4a84f0637022a078f67f0b36e2ed596621e1d33e6339c4e9c9b22,amaq,3,R-1\n\
         md5,8bbbaa9540800e378beadc8bbef7bb32,nashir,4,R-2\n",
    )
    .unwrap();
    bank
}

#[test]
fn match_files_hashes_and_mirrors_against_a_bank_file() {
    let directory = tempfile::tempdir().unwrap();
    let bank = write_bank(directory.path());
    let dih = images().join("reg-test-input/dih");
    let output = takedown(&[
        "match",
        "--bank",
        bank.to_str().unwrap(),
        dih.to_str().unwrap(),
        "8bbbaa9540800e378beadc8bbef7bb32",
    ]);
    assert_eq!(output.status.code(), Some(0));
    let lines = json_lines(&output);
    // Only the unrotated bridge is within 31 bits; the MD5 matches exactly.
    assert_eq!(lines.len(), 2, "{lines:?}");
    let first = &lines[0];
    assert!(first["query"]
        .as_str()
        .unwrap()
        .ends_with("bridge-1-original.jpg"));
    assert_eq!(first["distance"], 0);
    assert_eq!(
        first["value"],
        "d8f8f0cee0f4a84f0637022a078f67f0b36e2ed596621e1d33e6339c4e9c9b22"
    );
    assert_eq!(first["labels"]["entity"], "amaq");
    assert_eq!(first["labels"]["tier"], 3);
    assert_eq!(first["labels"]["partner_ref"], "R-1");
    assert_eq!(lines[1]["signal_type"], "md5");
    assert_eq!(lines[1]["distance"], 0);

    // With dihedral hashes the mirrored copies match too, each reporting how.
    let output = takedown(&[
        "match",
        "--dihedral",
        "--bank",
        bank.to_str().unwrap(),
        dih.to_str().unwrap(),
    ]);
    let lines = json_lines(&output);
    assert_eq!(lines.len(), 8, "all eight orientations match: {lines:?}");
    assert!(lines.iter().any(|l| l["transform"] == "flipx"));

    // A wider radius is honoured; nothing matching gives exit status 1.
    let far = "0000000000000000000000000000000000000000000000000000000000000000";
    let output = takedown(&["match", "--bank", bank.to_str().unwrap(), far]);
    assert_eq!(output.status.code(), Some(1));
    let output = takedown(&[
        "match",
        "--bank",
        bank.to_str().unwrap(),
        "--radius",
        "256",
        "--format",
        "table",
        far,
    ]);
    assert_eq!(output.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&output.stdout).contains("entity=amaq"));
}

#[test]
fn malformed_hashes_and_bank_rows_are_named() {
    let directory = tempfile::tempdir().unwrap();
    let bank = write_bank(directory.path());
    let output = takedown(&["match", "--bank", bank.to_str().unwrap(), "abcd"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("abcd") && stderr.contains("4 hex digits"),
        "{stderr}"
    );

    let broken = directory.path().join("broken.csv");
    std::fs::write(&broken, "signal_type,value\npdq,abc\n").unwrap();
    let output = takedown(&["match", "--bank", broken.to_str().unwrap(), "abcd"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("line 2"), "{stderr}");
}

#[test]
fn compare_images_and_hashes() {
    let original = images().join("reg-test-input/dih/bridge-1-original.jpg");
    let flipped = images().join("reg-test-input/dih/bridge-5-flipx.jpg");
    let output = takedown(&[
        "compare",
        original.to_str().unwrap(),
        "d8f8f0cee0f4a84f0637022a078f67f0b36e2ed596621e1d33e6339c4e9c9b22",
    ]);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(json_lines(&output)[0]["distance"], 0);
    let output = takedown(&[
        "compare",
        original.to_str().unwrap(),
        flipped.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(json_lines(&output)[0]["distance"], 122);
    let output = takedown(&[
        "compare",
        "--dihedral",
        flipped.to_str().unwrap(),
        original.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(json_lines(&output)[0]["transform"], "flipx");
}

#[test]
fn samples_write_images_and_a_bank_that_their_copies_match() {
    let directory = tempfile::tempdir().unwrap();
    let output = takedown(&[
        "samples",
        "--count",
        "3",
        directory.path().to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{output:?}");
    let bank = directory.path().join("bank.csv");
    let images = directory.path().join("images");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("sample-00-poster-jpeg70.jpg"), "{text}");
    // The JPEG copy of every original matches its bank entry.
    let output = takedown(&[
        "match",
        "--bank",
        bank.to_str().unwrap(),
        images.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(0));
    let lines = json_lines(&output);
    for original in [
        "sample-00-poster",
        "sample-01-video-still",
        "sample-02-chat",
    ] {
        assert!(
            lines.iter().any(|l| l["query"]
                .as_str()
                .unwrap()
                .ends_with(&format!("{original}-jpeg70.jpg"))
                && l["signal_type"] == "pdq"),
            "{original} copy not matched"
        );
    }
}
