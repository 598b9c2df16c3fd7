//! Administration from the command line against a real SQLite database: organisations, tokens,
//! banks, bulk import and export, the audit log, demo data, and an import killed with SIGKILL.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn takedown(database: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_takedown"))
        .args(args)
        .env("TAKEDOWN_DATABASE", database)
        .output()
        .expect("the takedown binary runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn hash_list(rows: u32) -> String {
    let mut text = String::from("signal_type,value,entity,tier\n");
    for n in 0..rows {
        text.push_str(&format!(
            "pdq,{:064x},amaq,3\n",
            u64::from(n) * 2_654_435_761
        ));
    }
    text
}

#[test]
fn organisations_tokens_banks_import_export_and_audit() {
    let directory = tempfile::tempdir().unwrap();
    let database = directory.path().join("takedown.sqlite");
    let created = takedown(&database, &["org", "create", "Unit A"]);
    assert!(created.status.success(), "{created:?}");
    let again = takedown(&database, &["org", "create", "Unit A"]);
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));

    // The token secret is printed alone on stdout, so `$(takedown token create ...)` works.
    let token = takedown(
        &database,
        &["token", "create", "--org", "Unit A", "--role", "matcher"],
    );
    assert!(token.status.success(), "{token:?}");
    let secret = stdout(&token);
    assert_eq!(secret.lines().count(), 1);
    assert!(secret.trim().starts_with("tdk_"), "{secret}");
    let bad_role = takedown(
        &database,
        &["token", "create", "--org", "Unit A", "--role", "boss"],
    );
    assert_eq!(bad_role.status.code(), Some(2));

    assert!(
        takedown(&database, &["bank", "create", "AMAQ", "--org", "Unit A"])
            .status
            .success()
    );
    let bad_name = takedown(&database, &["bank", "create", "amaq", "--org", "Unit A"]);
    assert!(String::from_utf8_lossy(&bad_name.stderr).contains("[A-Z_][A-Z0-9_]*"));

    let list = directory.path().join("list.csv");
    std::fs::write(&list, hash_list(2000)).unwrap();
    let imported = takedown(
        &database,
        &["bank", "import", "AMAQ", list.to_str().unwrap()],
    );
    assert!(imported.status.success(), "{imported:?}");
    let summary: serde_json::Value = serde_json::from_str(&stdout(&imported)).unwrap();
    assert_eq!(summary["added"], 2000);
    let again = takedown(
        &database,
        &["bank", "import", "AMAQ", list.to_str().unwrap()],
    );
    let summary: serde_json::Value = serde_json::from_str(&stdout(&again)).unwrap();
    assert_eq!(
        (summary["added"].clone(), summary["unchanged"].clone()),
        (0.into(), 2000.into())
    );

    // A bad row names its line and nothing of that file is imported.
    let broken = directory.path().join("broken.csv");
    let mut text = String::from("signal_type,value,entity,tier\n");
    for n in 0..10u64 {
        text.push_str(&format!("md5,{:032x},amaq,3\n", n + 77));
    }
    text.push_str("md5,not-a-digest,amaq,3\n");
    std::fs::write(&broken, text).unwrap();
    let failed = takedown(
        &database,
        &["bank", "import", "AMAQ", broken.to_str().unwrap()],
    );
    assert_eq!(failed.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&failed.stderr);
    assert!(
        stderr.contains("line 12") && stderr.contains("nothing was imported"),
        "{stderr}"
    );

    let exported = takedown(&database, &["bank", "export", "AMAQ"]);
    assert_eq!(
        stdout(&exported).lines().count(),
        2001,
        "header and 2000 rows"
    );
    let jsonl = takedown(&database, &["bank", "export", "AMAQ", "--format", "jsonl"]);
    assert_eq!(stdout(&jsonl).lines().count(), 2000);

    let verify = takedown(&database, &["audit", "verify"]);
    assert_eq!(verify.status.code(), Some(0), "{verify:?}");
    let result: serde_json::Value = serde_json::from_str(&stdout(&verify)).unwrap();
    assert_eq!(result["intact"], true);
    let entries = takedown(&database, &["audit", "list"]);
    let actions: Vec<String> = stdout(&entries)
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap()["action"].to_string())
        .collect();
    assert!(actions.iter().any(|a| a.contains("token")), "{actions:?}");
    assert!(actions.iter().any(|a| a.contains("import")), "{actions:?}");
}

#[test]
fn demo_writes_banks_tokens_and_query_images() {
    let directory = tempfile::tempdir().unwrap();
    let database = directory.path().join("demo.sqlite");
    let output = takedown(&database, &["demo"]);
    assert!(output.status.success(), "{output:?}");
    let summary: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(summary["created"], true);
    assert_eq!(summary["banks"].as_array().unwrap().len(), 4);
    for image in summary["query_images"].as_array().unwrap() {
        assert!(Path::new(image["path"].as_str().unwrap()).exists());
    }
    let again = takedown(&database, &["demo"]);
    let summary: serde_json::Value = serde_json::from_str(&stdout(&again)).unwrap();
    assert_eq!(summary["created"], false);
}

/// Killing the process with SIGKILL in the middle of a large import leaves the bank as it was.
#[test]
fn an_import_killed_midway_leaves_the_bank_as_it_was() {
    let directory = tempfile::tempdir().unwrap();
    let database = directory.path().join("takedown.sqlite");
    assert!(takedown(&database, &["org", "create", "Unit A"])
        .status
        .success());
    assert!(
        takedown(&database, &["bank", "create", "AMAQ", "--org", "Unit A"])
            .status
            .success()
    );
    let small = directory.path().join("small.csv");
    std::fs::write(&small, hash_list(100)).unwrap();
    assert!(takedown(
        &database,
        &["bank", "import", "AMAQ", small.to_str().unwrap()]
    )
    .status
    .success());

    let large = directory.path().join("large.csv");
    let mut text = String::from("signal_type,value,entity,tier\n");
    for n in 0..400_000u64 {
        text.push_str(&format!(
            "pdq,{:064x},amaq,3\n",
            n * 0x9E37_79B9 + 1_000_003
        ));
    }
    std::fs::write(&large, text).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_takedown"))
        .args(["bank", "import", "AMAQ", large.to_str().unwrap()])
        .env("TAKEDOWN_DATABASE", &database)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait until the import is visibly writing (the write-ahead log grows), then kill it.
    let wal = directory.path().join("takedown.sqlite-wal");
    let started = Instant::now();
    loop {
        let size = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
        if size > 4 * 1024 * 1024 {
            break;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("the import finished before it could be killed: {status}");
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "import never started writing"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // `Child::kill` sends SIGKILL on Unix.
    child.kill().unwrap();
    child.wait().unwrap();

    let exported = takedown(&database, &["bank", "export", "AMAQ"]);
    assert!(exported.status.success(), "{exported:?}");
    assert_eq!(
        stdout(&exported).lines().count(),
        101,
        "only the first import's 100 rows"
    );
    let verify = takedown(&database, &["audit", "verify"]);
    assert_eq!(verify.status.code(), Some(0), "{verify:?}");
}
