//! Demo data: two organisations with well-known tokens, banks of generated images labelled with
//! the outlets of the April 2018 story, radio bulletins (generated chords) in AL_BAYAN and
//! statements (placeholder words) in AMAQ, and query files (edited copies) on disk to try
//! lookups with. Everything is generated from a fixed seed; nothing is real propaganda.

use std::path::{Path, PathBuf};

use takedown_corpus::sound::{bulletin, wav, SAMPLE_RATE};
use takedown_corpus::{encode, generate, statement, Format, Style, Transform};
use takedown_model::{Confidence, Labels, Role, Severity, Tier, Tlp};

use crate::{Caller, ContentMeta, Engine, EngineError, EngineResult, NewBankRequest};

/// The demo referral unit's admin token. Well known on purpose, so the README's `curl` lines
/// work; the demo binds to loopback only. Never use demo data in production.
pub const DEMO_ADMIN_TOKEN: &str =
    "tdk_demo_admin_0000000000000000000000000000000000000000000000000000";

/// The demo platform's matcher token (may only hash and match).
pub const DEMO_MATCHER_TOKEN: &str =
    "tdk_demo_matcher_00000000000000000000000000000000000000000000000000";

/// The referral unit that owns the demo banks.
pub const DEMO_UNIT: &str = "Demo Referral Unit";
/// The platform the banks are shared with.
pub const DEMO_PLATFORM: &str = "Demo Platform";

/// What the demo loader set up.
#[derive(Debug, Clone)]
pub struct DemoSummary {
    /// Whether this call created the data (false when it was already there).
    pub created: bool,
    /// Banks and their item counts.
    pub banks: Vec<(String, u64)>,
    /// Query files written to disk (images, a bulletin excerpt, a quoted statement): (path,
    /// what it is).
    pub query_images: Vec<(PathBuf, String)>,
}

/// Outlets, their bank names, and the styles their items are drawn in.
const OUTLETS: [(&str, &str, Style); 4] = [
    ("amaq", "AMAQ", Style::Poster),
    ("al-bayan", "AL_BAYAN", Style::Chat),
    ("halumu", "HALUMU", Style::VideoStill),
    ("nashir", "NASHIR", Style::Poster),
];

/// Images per outlet bank.
const ITEMS_PER_BANK: u64 = 6;

/// Radio bulletins in AL_BAYAN (the outlet was a radio station) and statements in AMAQ (its
/// claims), two of each, a minute long and about 150 words.
const BULLETINS: u64 = 2;
const BULLETIN_SECONDS: f64 = 60.0;
const STATEMENTS: u64 = 2;
const STATEMENT_WORDS: usize = 150;

/// Loads the demo data unless it is already there, and writes query images to `images_dir`.
pub async fn load_demo(engine: &Engine, images_dir: &Path) -> EngineResult<DemoSummary> {
    let admin = Caller::cli();
    let created = match engine.store().organisation_by_name(DEMO_UNIT).await {
        Ok(_) => false,
        Err(takedown_store::StoreError::NotFound(_)) => {
            create_demo(engine, &admin).await?;
            true
        }
        Err(other) => return Err(other.into()),
    };
    let mut banks = Vec::new();
    for (_, bank, _) in OUTLETS {
        let bank = engine.bank(&admin, bank).await?;
        banks.push((
            bank.name.to_string(),
            engine.store().content_count(bank.id).await?,
        ));
    }
    let query_images = write_query_images(images_dir)?;
    Ok(DemoSummary {
        created,
        banks,
        query_images,
    })
}

async fn create_demo(engine: &Engine, admin: &Caller) -> EngineResult<()> {
    let unit = engine.create_organisation(admin, DEMO_UNIT).await?;
    let platform = engine.create_organisation(admin, DEMO_PLATFORM).await?;
    engine
        .create_token_with_secret(admin, unit.id, Role::Admin, "demo admin", DEMO_ADMIN_TOKEN)
        .await?;
    engine
        .create_token_with_secret(
            admin,
            platform.id,
            Role::Matcher,
            "demo upload pipeline",
            DEMO_MATCHER_TOKEN,
        )
        .await?;
    for (outlet_index, (entity, bank, style)) in OUTLETS.iter().enumerate() {
        engine
            .create_bank(
                admin,
                NewBankRequest {
                    name: bank.to_string(),
                    description: format!("Generated demo items labelled as {entity} output"),
                    matching_enabled: true,
                    owner: Some(unit.id),
                },
            )
            .await?;
        engine
            .set_bank_shared(admin, bank, DEMO_PLATFORM, true)
            .await?;
        for item in 0..ITEMS_PER_BANK {
            let seed = item_seed(outlet_index, item);
            let (width, height) = style.default_size();
            let image = generate(*style, seed, width, height);
            let bytes = encode(&image, Format::Png);
            let labels = Labels {
                entity: Some(entity.to_string()),
                tier: Some(if item == 0 {
                    Tier::Crisis
                } else {
                    Tier::OfficialPropaganda
                }),
                severity: Some(Severity::new(if item == 0 { 6 } else { 3 }).map_err(invalid)?),
                confidence: Some(Confidence::new(2).map_err(invalid)?),
                behaviours: vec![if item % 2 == 0 {
                    "claim-of-responsibility".to_string()
                } else {
                    "promotion".to_string()
                }],
                tlp: Tlp::Amber,
            };
            engine
                .add_content_from_bytes(
                    admin,
                    bank,
                    bytes,
                    ContentMeta {
                        labels,
                        note: format!("generated demo item {item} ({})", style.name()),
                        source: "takedown demo".into(),
                        ..ContentMeta::default()
                    },
                )
                .await?;
        }
    }
    // Bulletins and statements after every image, so the images keep the ids the README
    // shows.
    for (outlet_index, (entity, bank, _)) in OUTLETS.iter().enumerate() {
        let extra: Vec<(Vec<u8>, String)> = match *bank {
            "AL_BAYAN" => (0..BULLETINS)
                .map(|n| {
                    let samples = bulletin(BULLETIN_SECONDS, item_seed(outlet_index, 100 + n));
                    (
                        wav(&samples, SAMPLE_RATE),
                        format!("generated radio bulletin {n}"),
                    )
                })
                .collect(),
            "AMAQ" => (0..STATEMENTS)
                .map(|n| {
                    let text = statement(STATEMENT_WORDS, item_seed(outlet_index, 200 + n));
                    (text.into_bytes(), format!("generated statement {n}"))
                })
                .collect(),
            _ => Vec::new(),
        };
        for (bytes, note) in extra {
            let labels = Labels {
                entity: Some(entity.to_string()),
                tier: Some(Tier::OfficialPropaganda),
                severity: Some(Severity::new(3).map_err(invalid)?),
                confidence: Some(Confidence::new(2).map_err(invalid)?),
                behaviours: vec!["claim-of-responsibility".to_string()],
                tlp: Tlp::Amber,
            };
            let meta = ContentMeta {
                labels,
                note,
                source: "takedown demo".into(),
                ..ContentMeta::default()
            };
            engine
                .add_content_from_bytes(admin, bank, bytes, meta)
                .await?;
        }
    }
    Ok(())
}

fn item_seed(outlet: usize, item: u64) -> u64 {
    2018_0425 + outlet as u64 * 1000 + item
}

fn invalid(error: takedown_model::LabelError) -> EngineError {
    EngineError::Internal(error.to_string())
}

/// Writes copies of banked items as an uploader would post them (re-encoded, with a logo,
/// mirrored; a bulletin excerpt; a quoted statement) and one unrelated image, for trying
/// lookups.
fn write_query_images(directory: &Path) -> EngineResult<Vec<(PathBuf, String)>> {
    std::fs::create_dir_all(directory).map_err(|error| {
        EngineError::Internal(format!("cannot create {}: {error}", directory.display()))
    })?;
    let mut written = Vec::new();
    let copies = [
        (
            0usize,
            0u64,
            Transform::Jpeg(70),
            "AMAQ item 0 re-encoded as JPEG 70",
        ),
        (
            1,
            1,
            Transform::Logo(10),
            "AL_BAYAN item 1 with a 10% corner logo",
        ),
        (
            2,
            2,
            Transform::Mirror,
            "HALUMU item 2 mirrored (matches with dihedral hashes)",
        ),
    ];
    for (outlet, item, transform, what) in copies {
        let (_, bank, style) = OUTLETS[outlet];
        let (width, height) = style.default_size();
        let original = generate(style, item_seed(outlet, item), width, height);
        let copy = transform.apply(&original, item);
        let name = format!("{}-{item}-{}.jpg", bank.to_lowercase(), transform.name());
        let path = directory.join(name);
        write(&path, &encode(&copy, Format::Jpeg { quality: 90 }))?;
        written.push((path, what.to_string()));
    }
    // A 10-second excerpt of AL_BAYAN's first bulletin, and AMAQ's first statement quoted in
    // a longer post.
    let al_bayan = OUTLETS.iter().position(|o| o.1 == "AL_BAYAN").unwrap_or(1);
    let samples = bulletin(BULLETIN_SECONDS, item_seed(al_bayan, 100));
    // From the first sub-fingerprint boundary after 20 s. Cut half a hop off that grid, this
    // synthetic bulletin (chords that jump every 0.4 s, harsher than speech) scores above the
    // plain threshold and is found only through a tempo variant, which would puzzle a
    // newcomer; the audio benchmark measures excerpts at arbitrary offsets of speech.
    let hop = takedown_signals::audio::HOP;
    let start = (20 * SAMPLE_RATE as usize).div_ceil(hop) * hop;
    let excerpt = &samples[start..start + 10 * SAMPLE_RATE as usize];
    let path = directory.join("al_bayan-bulletin-0-excerpt.wav");
    write(&path, &wav(excerpt, SAMPLE_RATE))?;
    written.push((
        path,
        "10 s excerpt of AL_BAYAN bulletin 0 (audio)".to_string(),
    ));
    let amaq = OUTLETS.iter().position(|o| o.1 == "AMAQ").unwrap_or(0);
    let text = statement(STATEMENT_WORDS, item_seed(amaq, 200));
    let post = format!("Forwarded from a channel:\n\n{text}\n\nShare before it is deleted.");
    let path = directory.join("amaq-statement-0-quoted.txt");
    write(&path, post.as_bytes())?;
    written.push((
        path,
        "AMAQ statement 0 quoted in a longer post (text)".to_string(),
    ));
    let (width, height) = Style::Distractor.default_size();
    let unrelated = generate(Style::Distractor, 7, width, height);
    let path = directory.join("unrelated.jpg");
    write(&path, &encode(&unrelated, Format::Jpeg { quality: 90 }))?;
    written.push((path, "an unrelated image (no match)".to_string()));
    Ok(written)
}

fn write(path: &Path, bytes: &[u8]) -> EngineResult<()> {
    std::fs::write(path, bytes)
        .map_err(|error| EngineError::Internal(format!("cannot write {}: {error}", path.display())))
}
