//! A seeded synthetic release log shaped like the April 2018 story, and the operation that
//! goes with it.
//!
//! Four outlets publish from 1 January to 30 June 2018 with daily rhythms: a weekday pattern
//! (quieter on Fridays), an hour-of-day profile (little at night UTC, most in the afternoon
//! and evening), and overdispersed daily counts (a gamma-distributed day effect on a Poisson
//! count, i.e. negative binomial days, because real outlets publish in bursts).
//!
//! The operation `amaq-2018-04` runs on 25-26 April 2018 against `amaq` and `al-bayan`, with
//! `halumu` as the control. Afterwards:
//! * **amaq** stops on the morning of 25 April; in the seven days from 27 April it releases
//!   exactly 17 statements and one video, the video through a channel it never used before
//!   (`msg:amaq-relay`); from 4 May it publishes at about a fifth of its former rate, slowly
//!   recovering, and never again through its website (its servers were seized);
//! * **al-bayan** is off air until 29 April, then back at about 60% on its messaging channel
//!   only;
//! * **halumu** (the control) and **nashir** keep their rhythms.
//!
//! Titles are neutral placeholders ("Statement 17", "Video 3"): no real content. The same seed
//! always gives the same log, on every machine (ChaCha8 and hand-written samplers, no platform
//! floating-point functions beyond IEEE basics and `ln`/`sqrt`/`cos`/`exp`).

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use takedown_model::{Actor, SignalType, Timestamp};
use takedown_store::{
    ImportOptions, Infrastructure, InfrastructureKind, NewOperation, NewRelease,
    ReleaseFingerprint, ReleaseMedium, ReleaseRow, ReleaseStore, StoreError,
};

use crate::ImpactError;

/// The seed the demo uses.
#[allow(clippy::inconsistent_digit_grouping)] // grouped as the date it stands for
pub const DEMO_SEED: u64 = 2018_04_25;
/// Name of the demo operation.
pub const DEMO_OPERATION: &str = "amaq-2018-04";
/// Origin recorded on the demo's releases.
pub const DEMO_ORIGIN: &str = "demo";
/// The new channel amaq's post-operation video arrives through.
pub const NEW_CHANNEL: &str = "msg:amaq-relay";

/// One outlet's normal rhythm.
struct OutletSpec {
    name: &'static str,
    /// Mean releases per day before any disruption.
    per_day: f64,
    /// Gamma shape of the day effect (smaller: burstier). Variance `mu + mu^2 / shape`.
    shape: f64,
    /// (medium, weight).
    media: &'static [(ReleaseMedium, f64)],
    /// (language, weight).
    languages: &'static [(&'static str, f64)],
    /// (channel, weight).
    channels: &'static [(&'static str, f64)],
}

use ReleaseMedium::{Audio, Image, Statement, Video};

const OUTLETS: [OutletSpec; 4] = [
    OutletSpec {
        name: "amaq",
        per_day: 11.0,
        shape: 12.0,
        media: &[
            (Statement, 0.62),
            (Image, 0.22),
            (Video, 0.10),
            (Audio, 0.06),
        ],
        languages: &[("ar", 0.72), ("en", 0.2), ("fr", 0.08)],
        channels: &[
            ("site:amaq", 0.25),
            ("msg:amaq-ar", 0.45),
            ("msg:amaq-en", 0.2),
            ("mirror:amaq-a", 0.1),
        ],
    },
    OutletSpec {
        name: "al-bayan",
        per_day: 5.0,
        shape: 15.0,
        media: &[(Audio, 0.65), (Statement, 0.35)],
        languages: &[
            ("ar", 0.6),
            ("en", 0.15),
            ("fr", 0.1),
            ("ru", 0.1),
            ("tr", 0.05),
        ],
        channels: &[("site:al-bayan", 0.5), ("msg:al-bayan", 0.5)],
    },
    OutletSpec {
        name: "halumu",
        per_day: 4.0,
        shape: 12.0,
        media: &[(Statement, 0.5), (Image, 0.4), (Video, 0.1)],
        languages: &[("en", 0.5), ("ar", 0.3), ("de", 0.2)],
        channels: &[("site:halumu", 0.4), ("msg:halumu", 0.6)],
    },
    OutletSpec {
        name: "nashir",
        per_day: 9.0,
        shape: 10.0,
        media: &[(Statement, 0.55), (Image, 0.35), (Video, 0.1)],
        languages: &[("ar", 0.8), ("en", 0.2)],
        channels: &[
            ("msg:nashir", 0.6),
            ("msg:nashir-2", 0.3),
            ("mirror:nashir", 0.1),
        ],
    },
];

/// Monday to Sunday.
const WEEKDAY: [f64; 7] = [1.05, 1.05, 1.0, 1.05, 0.8, 0.95, 1.1];
/// Hour of day, UTC.
const HOURS: [f64; 24] = [
    0.2, 0.15, 0.1, 0.1, 0.15, 0.3, 0.5, 0.7, 0.9, 1.0, 1.1, 1.2, 1.3, 1.4, 1.5, 1.5, 1.5, 1.4,
    1.3, 1.2, 1.0, 0.8, 0.5, 0.3,
];

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    // The demo's dates are constants; an invalid one is a bug caught by every test.
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or(NaiveDate::MIN)
}

fn day_start(d: NaiveDate) -> Timestamp {
    Utc.from_utc_datetime(&d.and_time(chrono::NaiveTime::MIN))
}

/// First day of the log.
pub fn first_day() -> NaiveDate {
    date(2018, 1, 1)
}

/// Last day of the log (inclusive).
pub fn last_day() -> NaiveDate {
    date(2018, 6, 30)
}

/// First and last day of the demo operation.
pub fn operation_days() -> (NaiveDate, NaiveDate) {
    (date(2018, 4, 25), date(2018, 4, 26))
}

/// The demo operation.
pub fn operation() -> NewOperation {
    let (first, last) = operation_days();
    NewOperation {
        name: DEMO_OPERATION.into(),
        starts_at: day_start(first),
        ends_at: day_start(last) + Duration::days(1) - Duration::seconds(1),
        organisations: vec![
            "Europol (EU IRU)".into(),
            "Belgian Federal Police".into(),
            "Bulgarian police".into(),
            "Royal Canadian Mounted Police".into(),
            "French police".into(),
            "Dutch police".into(),
            "Romanian police".into(),
            "UK police".into(),
            "US law enforcement".into(),
        ],
        targets: vec!["amaq".into(), "al-bayan".into()],
        controls: vec!["halumu".into()],
        infrastructure: vec![
            Infrastructure {
                kind: InfrastructureKind::Server,
                value: "servers seized in three countries (synthetic)".into(),
            },
            Infrastructure {
                kind: InfrastructureKind::Domain,
                value: "amaq.example.invalid".into(),
            },
            Infrastructure {
                kind: InfrastructureKind::Channel,
                value: "site:amaq".into(),
            },
        ],
        notes: "Demo data: a synthetic release log shaped like the April 2018 action against \
                the Islamic State's outlets. Not real data."
            .into(),
    }
}

/// Samplers written out so the log is the same on every platform and `rand` version.
struct Sampler {
    rng: ChaCha8Rng,
}

impl Sampler {
    fn uniform(&mut self) -> f64 {
        // 53 random bits in [0, 1).
        (self.rng.gen::<u64>() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn normal(&mut self) -> f64 {
        // Box-Muller; 1 - u keeps the logarithm finite.
        let (u, v) = (1.0 - self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }

    /// Gamma(shape, 1/shape): mean 1 (Marsaglia and Tsang 2000; shape >= 1 here).
    fn day_effect(&mut self, shape: f64) -> f64 {
        let d = shape - 1.0 / 3.0;
        let c = 1.0 / (9.0 * d).sqrt();
        loop {
            let x = self.normal();
            let v = (1.0 + c * x).powi(3);
            if v <= 0.0 {
                continue;
            }
            let u = self.uniform();
            if u.ln() < 0.5 * x * x + d - d * v + d * v.ln() {
                return d * v / shape;
            }
        }
    }

    /// Poisson(mu): Knuth's product method in chunks of at most 30 (exact, since a sum of
    /// independent Poissons is Poisson).
    fn poisson(&mut self, mu: f64) -> u64 {
        let mut left = mu.max(0.0);
        let mut count = 0;
        while left > 0.0 {
            let part = left.min(30.0);
            left -= part;
            let limit = (-part).exp();
            let mut product = self.uniform();
            while product > limit {
                count += 1;
                product *= self.uniform();
            }
        }
        count
    }

    fn pick<T: Copy>(&mut self, weighted: &[(T, f64)]) -> T {
        let total: f64 = weighted.iter().map(|w| w.1).sum();
        let mut x = self.uniform() * total;
        for &(item, weight) in weighted {
            if x < weight {
                return item;
            }
            x -= weight;
        }
        weighted[weighted.len() - 1].0
    }

    /// A time on `day` following the hour-of-day profile, at or after `not_before_hour`.
    fn time_on(&mut self, day: NaiveDate, hours: std::ops::Range<u32>) -> Timestamp {
        let weighted: Vec<(u32, f64)> = hours.map(|h| (h, HOURS[h as usize])).collect();
        let hour = self.pick(&weighted);
        let second = (self.uniform() * 3600.0) as i64;
        day_start(day) + Duration::hours(i64::from(hour)) + Duration::seconds(second)
    }
}

/// Numbering of titles per outlet and medium.
#[derive(Default)]
struct Titles {
    next: std::collections::HashMap<(&'static str, ReleaseMedium), u64>,
}

impl Titles {
    fn title(&mut self, outlet: &'static str, medium: ReleaseMedium) -> String {
        let n = self.next.entry((outlet, medium)).or_insert(0);
        *n += 1;
        let kind = match medium {
            Statement => "Statement",
            Image => "Image set",
            Video => "Video",
            Audio => "Audio bulletin",
        };
        format!("{kind} {n}")
    }
}

/// How an outlet's day is shaped by the operation: a multiplier of the normal rate, the hours
/// it may publish in, and channels it no longer uses.
fn disruption(
    outlet: &str,
    day: NaiveDate,
) -> (f64, std::ops::Range<u32>, &'static [&'static str]) {
    let (op_first, _) = operation_days();
    let since = (day - op_first).num_days();
    match outlet {
        "amaq" => match since {
            i64::MIN..=-1 => (1.0, 0..24, &[]),
            // The action hits on the morning of the 25th: output before 10:00 UTC only, at
            // the day's full hourly rate.
            0 => (1.0, 0..10, &[]),
            // The 26th and the next seven days are scripted (see `amaq_after`).
            1..=8 => (0.0, 0..24, &[]),
            // A fifth of the former rate from 4 May, recovering to about 40% by the end of
            // June; the website is gone.
            s => (
                0.2 + 0.2 * ((s - 9) as f64 / 57.0).min(1.0),
                0..24,
                &["site:amaq"],
            ),
        },
        "al-bayan" => match since {
            i64::MIN..=-1 => (1.0, 0..24, &[]),
            0 => (1.0, 0..8, &[]),
            1..=4 => (0.0, 0..24, &[]),
            _ => (0.6, 0..24, &["site:al-bayan"]),
        },
        _ => (1.0, 0..24, &[]),
    }
}

/// The seven days after the operation for amaq: 17 statements spread over 27 April-3 May and
/// one video on 30 April through a channel never used before.
fn amaq_after(s: &mut Sampler, titles: &mut Titles, scale: f64, out: &mut Vec<NewRelease>) {
    let first = date(2018, 4, 27);
    let statements = (17.0 * scale).round() as u64;
    let channels: &[(&str, f64)] = &[
        ("msg:amaq-ar", 0.6),
        ("msg:amaq-en", 0.25),
        ("mirror:amaq-a", 0.15),
    ];
    for _ in 0..statements {
        let day = first + Duration::days((s.uniform() * 7.0) as i64);
        out.push(NewRelease {
            outlet: "amaq".into(),
            published_at: s.time_on(day, 0..24),
            medium: Statement,
            language: s.pick(&[("ar", 0.8), ("en", 0.2)]).into(),
            channel: s.pick(channels).into(),
            title: titles.title("amaq", Statement),
            fingerprints: Vec::new(),
            origin: DEMO_ORIGIN.into(),
        });
    }
    let videos = scale.round().max(1.0) as u64;
    for _ in 0..videos {
        let published_at = s.time_on(date(2018, 4, 30), 12..20);
        let fingerprints = vec![md5(s)];
        out.push(NewRelease {
            outlet: "amaq".into(),
            published_at,
            medium: Video,
            language: "ar".into(),
            channel: NEW_CHANNEL.into(),
            title: titles.title("amaq", Video),
            fingerprints,
            origin: DEMO_ORIGIN.into(),
        });
    }
}

fn md5(s: &mut Sampler) -> ReleaseFingerprint {
    let value = format!("{:016x}{:016x}", s.rng.gen::<u64>(), s.rng.gen::<u64>());
    ReleaseFingerprint {
        signal_type: SignalType::Md5,
        value,
    }
}

/// The demo release log for `seed`, in time order (about 5,000 releases).
pub fn release_log(seed: u64) -> Vec<NewRelease> {
    scaled_release_log(seed, 1.0)
}

/// The demo log with every rate multiplied by `scale` (benchmarks use it to reach a million
/// releases with the same shape; the 17 statements become `17 * scale`).
pub fn scaled_release_log(seed: u64, scale: f64) -> Vec<NewRelease> {
    let mut s = Sampler {
        rng: ChaCha8Rng::seed_from_u64(seed),
    };
    let mut titles = Titles::default();
    let mut out = Vec::new();
    let days = (last_day() - first_day()).num_days() + 1;
    for offset in 0..days {
        let day = first_day() + Duration::days(offset);
        let weekday = WEEKDAY[day.weekday_index()];
        if day == date(2018, 4, 27) {
            amaq_after(&mut s, &mut titles, scale, &mut out);
        }
        for spec in &OUTLETS {
            let (factor, hours, dropped) = disruption(spec.name, day);
            // The draws happen even on silent days so that one outlet's disruption does not
            // shift every later random number of the others.
            let effect = s.day_effect(spec.shape);
            let share: f64 =
                hours.clone().map(|h| HOURS[h as usize]).sum::<f64>() / HOURS.iter().sum::<f64>();
            let mu = spec.per_day * scale * weekday * factor * effect * share;
            let count = s.poisson(mu);
            let channels: Vec<(&str, f64)> = spec
                .channels
                .iter()
                .copied()
                .filter(|(c, _)| !dropped.contains(c))
                .collect();
            for _ in 0..count {
                let medium = s.pick(spec.media);
                let fingerprints = if medium == Video {
                    vec![md5(&mut s)]
                } else {
                    Vec::new()
                };
                out.push(NewRelease {
                    outlet: spec.name.into(),
                    published_at: s.time_on(day, hours.clone()),
                    medium,
                    language: s.pick(spec.languages).into(),
                    channel: s.pick(&channels).into(),
                    title: titles.title(spec.name, medium),
                    fingerprints,
                    origin: DEMO_ORIGIN.into(),
                });
            }
        }
    }
    out.sort_by(|a, b| {
        (a.published_at, &a.outlet, &a.title).cmp(&(b.published_at, &b.outlet, &b.title))
    });
    out
}

trait WeekdayIndex {
    fn weekday_index(&self) -> usize;
}

impl WeekdayIndex for NaiveDate {
    fn weekday_index(&self) -> usize {
        use chrono::Datelike;
        self.weekday().num_days_from_monday() as usize
    }
}

/// What [`load_demo_impact`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoImpactSummary {
    /// Releases in the generated log.
    pub releases: u64,
    /// Of those, newly stored (0 when the demo was loaded before).
    pub added: u64,
    /// Whether the operation was created now (false: it existed).
    pub operation_created: bool,
}

/// Writes the demo release log (seed [`DEMO_SEED`] unless given) and the operation
/// `amaq-2018-04` into a store. Idempotent: a second call adds nothing.
pub async fn load_demo_impact(
    store: &dyn ReleaseStore,
    actor: &Actor,
    seed: Option<u64>,
) -> Result<DemoImpactSummary, ImpactError> {
    let log = release_log(seed.unwrap_or(DEMO_SEED));
    let releases = log.len() as u64;
    let mut rows = log.into_iter().enumerate().map(|(i, release)| {
        Ok(ReleaseRow {
            line: i as u64 + 1,
            release,
        })
    });
    let summary = store
        .import_releases(
            actor,
            &mut rows,
            &ImportOptions {
                progress_every: 100_000,
                origin: DEMO_ORIGIN.into(),
            },
            &mut |_| {},
        )
        .await?;
    let operation_created = match store.create_operation(actor, operation()).await {
        Ok(_) => true,
        Err(StoreError::Conflict(_)) => false,
        Err(other) => return Err(other.into()),
    };
    Ok(DemoImpactSummary {
        releases,
        added: summary.added,
        operation_created,
    })
}
