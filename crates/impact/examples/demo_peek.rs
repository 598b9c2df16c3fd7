//! Scratch: prints the demo report's findings for a few seeds.
use chrono::TimeZone;
fn main() {
    let now = chrono::Utc
        .with_ymd_and_hms(2018, 7, 1, 9, 0, 0)
        .single()
        .unwrap();
    for seed in [
        takedown_impact::DEMO_SEED,
        1,
        2,
        3,
        42,
        7,
        8,
        9,
        10,
        11,
        12,
        13,
    ] {
        let log: Vec<_> = takedown_impact::demo::release_log(seed)
            .iter()
            .map(takedown_impact::log::new_for_analysis)
            .collect();
        let new = takedown_impact::demo::operation();
        let op = takedown_store::OperationRecord {
            id: takedown_store::OperationId(1),
            name: new.name,
            starts_at: new.starts_at,
            ends_at: new.ends_at,
            organisations: new.organisations,
            targets: new.targets,
            controls: new.controls,
            infrastructure: new.infrastructure,
            notes: new.notes,
            created_at: now,
            updated_at: now,
        };
        let r = takedown_impact::build_operation_report(
            &op,
            &log,
            None,
            &takedown_impact::ReportOptions::new(now),
        )
        .unwrap();
        let o = &r.impact.outlets[0];
        println!(
            "seed {seed}: changes {:?}",
            o.changes
                .iter()
                .map(|c| (c.date, c.mean_before, c.mean_after))
                .collect::<Vec<_>>()
        );
        println!("  daily {:?}", &o.daily.total.counts[20..40]);
        println!("  {}", r.findings[0].summary);
    }
}
