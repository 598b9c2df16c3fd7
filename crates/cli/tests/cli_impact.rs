//! Impact measurement from the command line against a real SQLite database: a release log
//! imported (and a bad one refused with its line), an operation created, listed and shown,
//! the operation report written as HTML and JSON showing the fall, the changepoint and the
//! new channel, the transparency report, and the demo loading the impact demo.

use std::path::Path;
use std::process::{Command, Output};

use takedown_exchange::HashListFormat;
use takedown_impact::demo::{self, DEMO_SEED, NEW_CHANNEL};

fn takedown(database: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_takedown"))
        .args(args)
        .env("TAKEDOWN_DATABASE", database)
        .output()
        .expect("the takedown binary runs")
}

fn ok(output: Output) -> String {
    assert!(output.status.success(), "{output:?}");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn json_line(text: &str) -> serde_json::Value {
    serde_json::from_str(text.lines().next().expect("a line")).expect("JSON")
}

#[test]
fn import_create_and_report() {
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("takedown.sqlite");
    let log = dir.path().join("releases.csv");
    let mut csv = Vec::new();
    takedown_impact::log::write_release_file(
        &mut csv,
        HashListFormat::Csv,
        &demo::release_log(DEMO_SEED),
    )
    .expect("csv");
    std::fs::write(&log, &csv).expect("write");

    // A bad row is named by its line and nothing is imported.
    let bad = dir.path().join("bad.jsonl");
    std::fs::write(
        &bad,
        "{\"outlet\":\"amaq\",\"published_at\":\"2018-04-01T10:00:00Z\",\"medium\":\"video\",\"channel\":\"site\",\"title\":\"Video 1\"}\n\
         {\"outlet\":\"amaq\",\"published_at\":\"yesterday\",\"medium\":\"video\",\"channel\":\"site\",\"title\":\"Video 2\"}\n",
    )
    .expect("write");
    let refused = takedown(&db, &["release", "import", bad.to_str().expect("path")]);
    assert_eq!(refused.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("line 2"), "{stderr}");
    assert!(stderr.contains("nothing was imported"), "{stderr}");

    let imported = json_line(&ok(takedown(
        &db,
        &["release", "import", log.to_str().expect("path")],
    )));
    let rows = imported["rows"].as_u64().expect("rows");
    assert!(rows > 4000);
    assert_eq!(imported["added"], rows);
    let again = json_line(&ok(takedown(
        &db,
        &["release", "import", log.to_str().expect("path")],
    )));
    assert_eq!(
        (again["added"].as_u64(), again["unchanged"].as_u64()),
        (Some(0), Some(rows))
    );

    let listed = ok(takedown(
        &db,
        &[
            "release",
            "list",
            "--outlet",
            "amaq",
            "--medium",
            "video",
            "--from",
            "2018-04-27",
            "--to",
            "2018-05-03",
        ],
    ));
    let videos: Vec<serde_json::Value> = listed
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON"))
        .collect();
    assert_eq!(videos.len(), 1, "{listed}");
    assert_eq!(videos[0]["channel"], NEW_CHANNEL);
    let outlets = ok(takedown(&db, &["release", "outlets"]));
    assert_eq!(outlets.lines().count(), 4);

    let op = demo::operation();
    let mut args: Vec<String> = vec![
        "operation".into(),
        "create".into(),
        "amaq-2018-04".into(),
        "--start".into(),
        "2018-04-25".into(),
        "--end".into(),
        "2018-04-26".into(),
    ];
    for t in &op.targets {
        args.extend(["--target".into(), t.clone()]);
    }
    for c in &op.controls {
        args.extend(["--control".into(), c.clone()]);
    }
    args.extend([
        "--organisation".into(),
        "Europol".into(),
        "--infrastructure".into(),
        "domain:amaq.example".into(),
    ]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let created = json_line(&ok(takedown(&db, &args)));
    assert_eq!(created["end"], "2018-04-26T23:59:59+00:00");
    assert_eq!(created["infrastructure"][0]["kind"], "domain");
    let duplicate = takedown(&db, &args);
    assert_eq!(duplicate.status.code(), Some(2));
    let bad_date = takedown(
        &db,
        &[
            "operation",
            "create",
            "x",
            "--start",
            "soon",
            "--end",
            "2018-04-26",
            "--target",
            "amaq",
        ],
    );
    assert_eq!(bad_date.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad_date.stderr).contains("start"));
    assert_eq!(ok(takedown(&db, &["operation", "list"])).lines().count(), 1);
    let shown = json_line(&ok(takedown(&db, &["operation", "show", "amaq-2018-04"])));
    assert_eq!(shown["organisations"], serde_json::json!(["Europol"]));
    let missing = takedown(&db, &["operation", "show", "nope"]);
    assert_eq!(missing.status.code(), Some(2));

    let out = dir.path().join("reports");
    let printed = json_line(&ok(takedown(
        &db,
        &[
            "report",
            "operation",
            "amaq-2018-04",
            "--out",
            out.to_str().expect("path"),
        ],
    )));
    let html_path = out.join("operation-amaq-2018-04.html");
    let json_path = out.join("operation-amaq-2018-04.json");
    assert_eq!(printed["html"], html_path.display().to_string());
    let html = std::fs::read_to_string(&html_path).expect("html");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json_path).expect("json")).expect("JSON");
    let amaq = &json["findings"][0];
    assert_eq!(amaq["outlet"], "amaq");
    // The fall with its interval.
    assert_eq!(amaq["significant_fall"], true);
    assert!(amaq["ci_high"].as_f64().expect("interval") < 1.0);
    assert!(html.contains("95% CI"));
    // The changepoint next to the operation.
    let change = &amaq["changepoint_near_operation"];
    assert!(
        change["days_from_operation"]
            .as_i64()
            .expect("changepoint")
            .abs()
            <= 3
    );
    assert!(html.contains("at the operation</span>"));
    // The new channel flagged.
    assert_eq!(amaq["new_channels"], serde_json::json!([NEW_CHANNEL]));
    assert!(html.contains("new channel: first use"));
    assert!(!html.contains("<script"));

    let printed = json_line(&ok(takedown(
        &db,
        &[
            "report",
            "transparency",
            "--from",
            "2018-04-01",
            "--to",
            "2018-06-30",
            "--out",
            out.to_str().expect("path"),
        ],
    )));
    let html = std::fs::read_to_string(printed["html"].as_str().expect("path")).expect("html");
    assert!(html.contains("2021/784"));
    assert!(html.contains("No referral data"), "no referrals were made");
    assert!(out.join("transparency-20180401-20180701.json").exists());
    let backwards = takedown(
        &db,
        &[
            "report",
            "transparency",
            "--from",
            "2018-06-30",
            "--to",
            "2018-04-01",
        ],
    );
    assert_eq!(backwards.status.code(), Some(2));
}

#[test]
fn the_demo_loads_the_impact_demo() {
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("takedown.sqlite");
    let demo = json_line(&ok(takedown(
        &db,
        &[
            "demo",
            "--images",
            dir.path().join("img").to_str().expect("path"),
        ],
    )));
    assert_eq!(demo["impact"]["operation"], "amaq-2018-04");
    let out = dir.path().join("r");
    ok(takedown(
        &db,
        &[
            "report",
            "operation",
            "amaq-2018-04",
            "--out",
            out.to_str().expect("path"),
        ],
    ));
    assert!(out.join("operation-amaq-2018-04.json").exists());
}
