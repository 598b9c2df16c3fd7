//! Where each indexed signal points (content, bank, kind), kept compact because there is one
//! entry per signal: 10M PDQ hashes made a `HashMap<SignalId, SignalMeta>` cost ~550 MB
//! (32-byte entries in a power-of-two table). Here the bulk load is a sorted `Vec` of 24-byte
//! slots, exactly sized; signals added later go to a small `HashMap` overlay. Removing a
//! bulk-loaded signal marks its slot empty and re-inserting it fills the slot again, so every
//! change stays incremental.

use std::collections::{BTreeMap, HashMap};

use takedown_model::{BankId, ContentId, SignalId, SignalType};

use crate::matchindex::SignalMeta;

/// One signal's record. `signal_type` is `None` once the signal is removed from the bulk part.
#[derive(Debug, Clone, Copy)]
struct Slot {
    id: i64,
    content: i64,
    /// Position in `SignalTable::banks` (a deployment has few banks).
    bank: u32,
    signal_type: Option<SignalType>,
}

/// Signal id -> where it points.
#[derive(Debug, Default)]
pub(crate) struct SignalTable {
    banks: Vec<BankId>,
    /// The bulk load, sorted by id once sealed.
    base: Vec<Slot>,
    /// Signals whose id is not in `base`.
    overlay: HashMap<i64, Slot>,
}

impl SignalTable {
    fn slot(&mut self, id: SignalId, meta: SignalMeta) -> Slot {
        let bank = match self.banks.iter().position(|bank| *bank == meta.bank) {
            Some(position) => position,
            None => {
                self.banks.push(meta.bank);
                self.banks.len() - 1
            }
        };
        Slot {
            id: id.0,
            content: meta.content.0,
            bank: bank as u32,
            signal_type: Some(meta.signal_type),
        }
    }

    fn meta(&self, slot: &Slot) -> Option<SignalMeta> {
        Some(SignalMeta {
            content: ContentId(slot.content),
            bank: self.banks[slot.bank as usize],
            signal_type: slot.signal_type?,
        })
    }

    fn base_position(&self, id: SignalId) -> Option<usize> {
        self.base.binary_search_by_key(&id.0, |slot| slot.id).ok()
    }

    /// Appends to the bulk part during a load; `seal` must follow before any other call.
    pub(crate) fn push_bulk(&mut self, id: SignalId, meta: SignalMeta) {
        let slot = self.slot(id, meta);
        self.base.push(slot);
    }

    /// Sorts the bulk part (the store streams in id order, so this is cheap), keeps the last
    /// record of a repeated id, and frees the spare capacity.
    pub(crate) fn seal(&mut self) {
        self.base.sort_by_key(|slot| slot.id);
        self.base.dedup_by(|later, earlier| {
            let same = later.id == earlier.id;
            if same {
                *earlier = *later;
            }
            same
        });
        self.base.shrink_to_fit();
    }

    /// Adds or replaces a signal's record.
    pub(crate) fn insert(&mut self, id: SignalId, meta: SignalMeta) {
        let slot = self.slot(id, meta);
        match self.base_position(id) {
            Some(position) => self.base[position] = slot,
            None => {
                self.overlay.insert(id.0, slot);
            }
        }
    }

    /// Removes a signal's record, returning it.
    pub(crate) fn remove(&mut self, id: SignalId) -> Option<SignalMeta> {
        match self.base_position(id) {
            Some(position) => {
                let meta = self.meta(&self.base[position]);
                self.base[position].signal_type = None;
                meta
            }
            None => {
                let slot = self.overlay.remove(&id.0)?;
                self.meta(&slot)
            }
        }
    }

    /// A signal's record.
    pub(crate) fn get(&self, id: SignalId) -> Option<SignalMeta> {
        match self.base_position(id) {
            Some(position) => self.meta(&self.base[position]),
            None => self.meta(self.overlay.get(&id.0)?),
        }
    }

    /// Number of signals of each kind.
    pub(crate) fn counts(&self) -> BTreeMap<SignalType, usize> {
        let mut counts = BTreeMap::new();
        for slot in self.base.iter().chain(self.overlay.values()) {
            if let Some(kind) = slot.signal_type {
                *counts.entry(kind).or_insert(0) += 1;
            }
        }
        counts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(content: i64, bank: i64, signal_type: SignalType) -> SignalMeta {
        SignalMeta {
            content: ContentId(content),
            bank: BankId(bank),
            signal_type,
        }
    }

    #[test]
    fn slots_are_24_bytes() {
        assert_eq!(std::mem::size_of::<Slot>(), 24);
    }

    #[test]
    fn bulk_and_overlay_insert_remove_reinsert() {
        let mut table = SignalTable::default();
        table.push_bulk(SignalId(3), meta(30, 1, SignalType::Pdq));
        table.push_bulk(SignalId(1), meta(10, 2, SignalType::Pdq));
        table.push_bulk(SignalId(3), meta(31, 1, SignalType::Pdq));
        table.seal();
        assert_eq!(table.get(SignalId(3)), Some(meta(31, 1, SignalType::Pdq)));
        assert_eq!(table.get(SignalId(1)), Some(meta(10, 2, SignalType::Pdq)));
        assert_eq!(table.get(SignalId(2)), None);

        table.insert(SignalId(2), meta(20, 7, SignalType::Md5));
        assert_eq!(table.get(SignalId(2)), Some(meta(20, 7, SignalType::Md5)));
        assert_eq!(table.counts()[&SignalType::Pdq], 2);
        assert_eq!(table.counts()[&SignalType::Md5], 1);

        // Disable a bulk-loaded signal, then re-enable it with a new bank.
        assert_eq!(
            table.remove(SignalId(1)),
            Some(meta(10, 2, SignalType::Pdq))
        );
        assert_eq!(table.remove(SignalId(1)), None);
        assert_eq!(table.get(SignalId(1)), None);
        assert_eq!(table.counts()[&SignalType::Pdq], 1);
        table.insert(SignalId(1), meta(10, 9, SignalType::Pdq));
        assert_eq!(table.get(SignalId(1)), Some(meta(10, 9, SignalType::Pdq)));

        assert_eq!(
            table.remove(SignalId(2)),
            Some(meta(20, 7, SignalType::Md5))
        );
        assert_eq!(table.get(SignalId(2)), None);
        assert!(!table.counts().contains_key(&SignalType::Md5));
    }
}
