//! Banks and their content, with visibility and roles enforced.

use takedown_model::{
    Bank, BankName, Content, ContentId, Labels, NewSignal, OrgId, Permission, SignalType, Tier,
    Timestamp,
};
use takedown_signals::{pdq, vpdq};
use takedown_store::{
    BankScope, BankUpdate, ContentQuery, ContentUpdate, IndexSignal, NewBank, NewContent, Page,
};

use crate::{Caller, Engine, EngineError, EngineResult};

/// A bank to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewBankRequest {
    /// Name, HMA's pattern `[A-Z_][A-Z0-9_]*`.
    pub name: String,
    /// Free text.
    pub description: String,
    /// Whether lookups match against it.
    pub matching_enabled: bool,
    /// Owning organisation; only the instance itself may name one other than the caller's.
    pub owner: Option<OrgId>,
}

/// Labels and provenance of content being added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentMeta {
    /// Labels.
    pub labels: Labels,
    /// Free-text note.
    pub note: String,
    /// Where it came from.
    pub source: String,
    /// Whether it takes part in matching.
    pub enabled: bool,
    /// Temporarily disabled until then.
    pub disabled_until: Option<Timestamp>,
}

impl Default for ContentMeta {
    fn default() -> Self {
        ContentMeta {
            labels: Labels::default(),
            note: String::new(),
            source: String::new(),
            enabled: true,
            disabled_until: None,
        }
    }
}

/// A search over the caller's banks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContentSearch {
    /// Only these banks (by name); all visible banks when `None`.
    pub banks: Option<Vec<String>>,
    /// Has a signal of this type.
    pub signal_type: Option<SignalType>,
    /// Has a signal with this value (any case; canonicalised for the type if one is given).
    pub signal_value: Option<String>,
    /// Entity label.
    pub entity: Option<String>,
    /// Tier.
    pub tier: Option<Tier>,
    /// Note contains this text.
    pub note_contains: Option<String>,
    /// Enabled state.
    pub enabled: Option<bool>,
    /// Continue after this item (the previous page's `next`).
    pub after: Option<ContentId>,
    /// Page size (0: the default of 100).
    pub limit: u32,
}

impl Engine {
    /// Banks the caller may see, by name.
    pub async fn banks(&self, caller: &Caller) -> EngineResult<Vec<Bank>> {
        caller.require(Permission::ReadBanks)?;
        Ok(match caller.org {
            None => self.store.list_banks().await?,
            Some(org) => self.store.banks_visible_to(org).await?,
        })
    }

    /// A bank the caller may see.
    pub async fn bank(&self, caller: &Caller, name: &str) -> EngineResult<Bank> {
        caller.require(Permission::ReadBanks)?;
        self.visible_bank(caller, name).await
    }

    async fn visible_bank(&self, caller: &Caller, name: &str) -> EngineResult<Bank> {
        let name = parse_bank_name(name)?;
        let bank = self.store.bank_by_name(&name).await?;
        match caller.org {
            Some(org) if !takedown_store::bank_is_visible_to(&bank, org) => {
                Err(EngineError::NotFound(format!("bank {name}")))
            }
            _ => Ok(bank),
        }
    }

    /// A bank the caller may change: visible and owned by its organisation.
    async fn owned_bank(&self, caller: &Caller, name: &str) -> EngineResult<Bank> {
        caller.require(Permission::CurateBanks)?;
        let bank = self.visible_bank(caller, name).await?;
        match caller.org {
            Some(org) if bank.owner != org => Err(EngineError::Forbidden(format!(
                "bank {} is shared with your organisation, not owned by it",
                bank.name
            ))),
            _ => Ok(bank),
        }
    }

    /// Creates a bank owned by the caller's organisation.
    pub async fn create_bank(
        &self,
        caller: &Caller,
        request: NewBankRequest,
    ) -> EngineResult<Bank> {
        caller.require(Permission::CurateBanks)?;
        let owner = caller.owning_org(request.owner)?;
        let bank = self
            .store
            .create_bank(
                &caller.actor,
                NewBank {
                    name: parse_bank_name(&request.name)?,
                    owner,
                    description: request.description,
                    matching_enabled: request.matching_enabled,
                },
            )
            .await?;
        self.cache_bank(&bank);
        Ok(bank)
    }

    /// Renames a bank or changes its description or matching flag.
    pub async fn update_bank(
        &self,
        caller: &Caller,
        name: &str,
        update: BankUpdate,
    ) -> EngineResult<Bank> {
        let bank = self.owned_bank(caller, name).await?;
        let bank = self
            .store
            .update_bank(&caller.actor, bank.id, update)
            .await?;
        self.cache_bank(&bank);
        Ok(bank)
    }

    /// Deletes a bank and everything in it.
    pub async fn delete_bank(&self, caller: &Caller, name: &str) -> EngineResult<()> {
        let bank = self.owned_bank(caller, name).await?;
        self.store.delete_bank(&caller.actor, bank.id).await?;
        self.forget_bank(bank.id);
        // Its signals leave the index through the change feed, now rather than at the next tick.
        self.catch_up().await.map(|_| ()).or_else(ignore_not_ready)
    }

    /// Shares a bank with another organisation (by name), or stops sharing it.
    pub async fn set_bank_shared(
        &self,
        caller: &Caller,
        name: &str,
        with: &str,
        shared: bool,
    ) -> EngineResult<Bank> {
        let bank = self.owned_bank(caller, name).await?;
        let other = self.store.organisation_by_name(with).await?;
        let bank = if shared {
            self.store
                .share_bank(&caller.actor, bank.id, other.id)
                .await?
        } else {
            self.store
                .unshare_bank(&caller.actor, bank.id, other.id)
                .await?
        };
        self.cache_bank(&bank);
        Ok(bank)
    }

    /// Adds content with the given signals to a bank; it is matchable at once.
    pub async fn add_content(
        &self,
        caller: &Caller,
        bank: &str,
        signals: Vec<NewSignal>,
        meta: ContentMeta,
    ) -> EngineResult<Content> {
        let bank = self.owned_bank(caller, bank).await?;
        if signals.is_empty() {
            return Err(EngineError::invalid("signals", "give at least one signal"));
        }
        let content = self
            .store
            .add_content(
                &caller.actor,
                bank.id,
                NewContent {
                    labels: meta.labels,
                    note: meta.note,
                    source: meta.source,
                    enabled: meta.enabled,
                    disabled_until: meta.disabled_until,
                    signals,
                },
            )
            .await?;
        self.index_content(&content);
        Ok(content)
    }

    /// Adds one signal given as type and text (HMA's `POST /c/bank/NAME/signal`).
    pub async fn add_signal_content(
        &self,
        caller: &Caller,
        bank: &str,
        signal_type: &str,
        value: &str,
        meta: ContentMeta,
    ) -> EngineResult<Content> {
        let signal_type: SignalType =
            signal_type
                .parse()
                .map_err(|error: takedown_model::UnknownSignalType| {
                    EngineError::invalid("signal_type", error.to_string())
                })?;
        let value = takedown_exchange::canonical_value(signal_type, value)
            .map_err(|message| EngineError::invalid(signal_type.as_str(), message))?;
        let signal = NewSignal {
            signal_type,
            algorithm_version: algorithm_version(signal_type),
            value,
            quality: None,
        };
        self.add_content(caller, bank, vec![signal], meta).await
    }

    /// Hashes a file and adds it to a bank with all its signals (PDQ with quality, MD5,
    /// SHA-256). Returns the item and the fingerprints.
    pub async fn add_content_from_bytes(
        &self,
        caller: &Caller,
        bank: &str,
        bytes: Vec<u8>,
        meta: ContentMeta,
    ) -> EngineResult<(Content, takedown_hasher::Fingerprints)> {
        // Check the bank before spending time hashing.
        self.owned_bank(caller, bank).await?;
        let fingerprints = self.hash_bytes(caller, bytes, false).await?;
        let signals = signals_of(&fingerprints);
        let content = self.add_content(caller, bank, signals, meta).await?;
        Ok((content, fingerprints))
    }

    /// An item the caller may see.
    pub async fn content(&self, caller: &Caller, id: ContentId) -> EngineResult<Content> {
        caller.require(Permission::ReadBanks)?;
        let content = self.store.content(id).await?;
        self.check_visible(caller, &content)?;
        Ok(content)
    }

    fn check_visible(&self, caller: &Caller, content: &Content) -> EngineResult<()> {
        let Some(org) = caller.org else {
            return Ok(());
        };
        let cache = self.cached_banks();
        match cache.get(&content.bank) {
            Some(bank) if takedown_store::bank_is_visible_to(bank, org) => Ok(()),
            _ => Err(EngineError::NotFound(format!("content {}", content.id.0))),
        }
    }

    async fn owned_content(&self, caller: &Caller, id: ContentId) -> EngineResult<Content> {
        caller.require(Permission::CurateBanks)?;
        let content = self.store.content(id).await?;
        self.check_visible(caller, &content)?;
        if let Some(org) = caller.org {
            let owner = self
                .cached_banks()
                .get(&content.bank)
                .map(|bank| bank.owner);
            if owner != Some(org) {
                return Err(EngineError::Forbidden(
                    "the item is in a bank shared with your organisation, not owned by it".into(),
                ));
            }
        }
        Ok(content)
    }

    /// Changes an item's labels, note, source or enabled state; the index follows at once.
    pub async fn update_content(
        &self,
        caller: &Caller,
        id: ContentId,
        update: ContentUpdate,
    ) -> EngineResult<Content> {
        self.owned_content(caller, id).await?;
        let content = self.store.update_content(&caller.actor, id, update).await?;
        self.index_content(&content);
        Ok(content)
    }

    /// Deletes an item; it stops matching at once.
    pub async fn delete_content(&self, caller: &Caller, id: ContentId) -> EngineResult<()> {
        let content = self.owned_content(caller, id).await?;
        self.store.delete_content(&caller.actor, id).await?;
        let mut index = self.write_index();
        for signal in &content.signals {
            index.remove(signal.id);
        }
        Ok(())
    }

    /// Searches the caller's banks, one page at a time.
    pub async fn search_content(
        &self,
        caller: &Caller,
        search: ContentSearch,
    ) -> EngineResult<Page<Content, ContentId>> {
        caller.require(Permission::ReadBanks)?;
        let scope = match (&search.banks, caller.org) {
            (None, None) => BankScope::All,
            (None, Some(_)) => BankScope::Only(
                self.banks(caller)
                    .await?
                    .into_iter()
                    .map(|b| b.id)
                    .collect(),
            ),
            (Some(names), _) => {
                let mut ids = Vec::new();
                for name in names {
                    ids.push(self.visible_bank(caller, name).await?.id);
                }
                BankScope::Only(ids)
            }
        };
        let signal_value = match (&search.signal_value, search.signal_type) {
            (Some(value), Some(kind)) => Some(
                takedown_exchange::canonical_value(kind, value)
                    .map_err(|message| EngineError::invalid("signal_value", message))?,
            ),
            (Some(value), None) => Some(value.trim().to_ascii_lowercase()),
            (None, _) => None,
        };
        if search.limit > ContentQuery::MAX_LIMIT {
            return Err(EngineError::invalid(
                "limit",
                format!("at most {}", ContentQuery::MAX_LIMIT),
            ));
        }
        let query = ContentQuery {
            scope,
            signal_type: search.signal_type,
            signal_value,
            entity: search.entity.map(|e| e.trim().to_lowercase()),
            tier: search.tier,
            note_contains: search.note_contains,
            enabled: search.enabled,
            after: search.after,
            limit: search.limit,
        };
        Ok(self.store.search_content(&query).await?)
    }

    /// Puts an item's signals into the index if it is active now, or takes them out.
    fn index_content(&self, content: &Content) {
        let active = content.is_active(self.clock.now());
        let mut index = self.write_index();
        for signal in &content.signals {
            if active {
                index.insert(&IndexSignal {
                    id: signal.id,
                    content: content.id,
                    bank: content.bank,
                    signal_type: signal.signal_type,
                    algorithm_version: signal.algorithm_version,
                    value: signal.value.clone(),
                    quality: signal.quality,
                });
            } else {
                index.remove(signal.id);
            }
        }
    }
}

/// The signals stored for a hashed file.
pub(crate) fn signals_of(fingerprints: &takedown_hasher::Fingerprints) -> Vec<NewSignal> {
    let mut signals = Vec::new();
    if let Some(image) = fingerprints.image() {
        signals.push(NewSignal {
            signal_type: SignalType::Pdq,
            algorithm_version: pdq::ALGORITHM.version,
            value: image.pdq.hash.to_hex(),
            quality: Some(image.pdq.quality),
        });
    }
    let mut other = |signal_type, value: String| {
        signals.push(NewSignal {
            signal_type,
            algorithm_version: algorithm_version(signal_type),
            value,
            quality: None,
        })
    };
    if let Some(video) = fingerprints.video() {
        other(SignalType::Vpdq, vpdq::format_lines(&video.vpdq));
        // HMA's name for a video's MD5, so its clients find it under the type they know.
        other(SignalType::VideoMd5, fingerprints.digests.md5.clone());
    }
    if let Some(audio) = fingerprints.audio() {
        other(SignalType::Audio, audio.fingerprint.to_text());
    }
    if let Some(text) = fingerprints.text() {
        other(SignalType::TextDigest, text.text.digest.clone());
        other(SignalType::TextMinhash, text.text.signature.to_text());
    }
    other(SignalType::Md5, fingerprints.digests.md5.clone());
    other(SignalType::Sha256, fingerprints.digests.sha256.clone());
    signals
}

/// The version of takedown's implementation of each signal type.
pub(crate) fn algorithm_version(signal_type: SignalType) -> u32 {
    use takedown_signals::{audio, text};
    match signal_type {
        SignalType::Pdq => pdq::ALGORITHM.version,
        SignalType::Vpdq => vpdq::ALGORITHM.version,
        SignalType::Audio => audio::ALGORITHM.version,
        SignalType::TextDigest => text::DIGEST_ALGORITHM.version,
        SignalType::TextMinhash => text::SIGNATURE_ALGORITHM.version,
        SignalType::Md5 | SignalType::Sha256 | SignalType::VideoMd5 => 1,
    }
}

pub(crate) fn parse_bank_name(name: &str) -> EngineResult<BankName> {
    BankName::new(name).map_err(|error| EngineError::invalid("bank", error.to_string()))
}

fn ignore_not_ready(error: EngineError) -> EngineResult<()> {
    match error {
        EngineError::NotReady => Ok(()),
        other => Err(other),
    }
}
