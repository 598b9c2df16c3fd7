//! A compact id -> slot map: linear probing over one `Vec<u64>`.
//!
//! A `HashMap<u64, u32>` costs about 27 bytes per entry at 10M entries (16-byte buckets plus
//! control bytes at up to 50% headroom). Here an entry is 8 bytes: the slot number plus one in
//! the low 32 bits (0 marks an empty entry) and a 32-bit tag from the id's hash in the high
//! bits. The id itself is not stored: it is already in the index's slot -> id array, and is
//! only read when the tag matches. The table's home position is the tag's top bits, so
//! growing and backward-shift deletion never need to read the ids.

/// splitmix64's finaliser: good avalanche for sequential row ids.
#[inline]
fn mix(id: u64) -> u64 {
    let mut z = id;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[inline]
fn tag_of(id: u64) -> u32 {
    (mix(id) >> 32) as u32
}

/// Maps external ids to slot numbers (`u32`, below `u32::MAX`).
#[derive(Clone, Debug)]
pub(crate) struct SlotTable {
    entries: Vec<u64>,
    /// log2(entries.len()); 0 while empty.
    bits: u32,
    len: usize,
}

/// Lowest table size; also keeps `bits >= 1` so shifts below stay in range.
const MIN_CAPACITY_BITS: u32 = 4;

impl SlotTable {
    pub(crate) fn new() -> Self {
        SlotTable {
            entries: Vec::new(),
            bits: 0,
            len: 0,
        }
    }

    /// A table that holds `count` entries without growing.
    pub(crate) fn with_capacity(count: usize) -> Self {
        let mut table = SlotTable::new();
        table.resize(Self::bits_for(count));
        table
    }

    /// Load factor at most 5/8: each probe of a full entry is cheap (tag compare), but an
    /// unsuccessful search still walks the run, so runs are kept short.
    fn bits_for(count: usize) -> u32 {
        let needed = (count.saturating_mul(8) / 5).max(1);
        needed
            .next_power_of_two()
            .trailing_zeros()
            .max(MIN_CAPACITY_BITS)
    }

    pub(crate) fn memory_bytes(&self) -> usize {
        self.entries.capacity() * std::mem::size_of::<u64>()
    }

    #[inline]
    fn mask(&self) -> usize {
        self.entries.len() - 1
    }

    #[inline]
    fn home(&self, tag: u32) -> usize {
        (tag >> (32 - self.bits)) as usize
    }

    /// The slot stored for `id`, where `ids[slot]` is the id kept at that slot.
    pub(crate) fn get(&self, id: u64, ids: &[u64]) -> Option<u32> {
        self.position(id, ids)
            .map(|position| (self.entries[position] as u32) - 1)
    }

    fn position(&self, id: u64, ids: &[u64]) -> Option<usize> {
        if self.len == 0 {
            return None;
        }
        let tag = tag_of(id);
        let mask = self.mask();
        let mut position = self.home(tag);
        loop {
            let entry = self.entries[position];
            if entry == 0 {
                return None;
            }
            if (entry >> 32) as u32 == tag {
                let slot = (entry as u32 - 1) as usize;
                if ids.get(slot) == Some(&id) {
                    return Some(position);
                }
            }
            position = (position + 1) & mask;
        }
    }

    /// Adds `id -> slot`; the caller guarantees `id` is absent and `slot < u32::MAX`.
    pub(crate) fn insert_new(&mut self, id: u64, slot: u32) {
        if self.entries.is_empty() || (self.len + 1) * 8 > self.entries.len() * 5 {
            self.resize(Self::bits_for(self.len + 1).max(self.bits + 1));
        }
        let tag = tag_of(id);
        self.place(tag, slot);
        self.len += 1;
    }

    fn place(&mut self, tag: u32, slot: u32) {
        let mask = self.mask();
        let mut position = self.home(tag);
        while self.entries[position] != 0 {
            position = (position + 1) & mask;
        }
        self.entries[position] = (u64::from(tag) << 32) | u64::from(slot + 1);
    }

    fn resize(&mut self, bits: u32) {
        let old = std::mem::replace(&mut self.entries, vec![0; 1usize << bits]);
        self.bits = bits;
        for entry in old.into_iter().filter(|&entry| entry != 0) {
            self.place((entry >> 32) as u32, entry as u32 - 1);
        }
    }

    /// Points an existing `id` at a new slot (used when the last slot moves into a hole).
    pub(crate) fn set_slot(&mut self, id: u64, slot: u32, ids: &[u64]) -> bool {
        match self.position(id, ids) {
            Some(position) => {
                let tag = self.entries[position] >> 32;
                self.entries[position] = (tag << 32) | u64::from(slot + 1);
                true
            }
            None => false,
        }
    }

    /// Removes `id`, returning its slot. Backward-shift deletion keeps probe runs unbroken
    /// without tombstones, so a table that sees many deletes does not degrade.
    pub(crate) fn remove(&mut self, id: u64, ids: &[u64]) -> Option<u32> {
        let mut hole = self.position(id, ids)?;
        let slot = self.entries[hole] as u32 - 1;
        let mask = self.mask();
        let mut next = hole;
        loop {
            next = (next + 1) & mask;
            let entry = self.entries[next];
            if entry == 0 {
                break;
            }
            let home = self.home((entry >> 32) as u32);
            // Move `entry` into the hole unless its home lies cyclically in (hole, next].
            let distance_to_next = next.wrapping_sub(home) & mask;
            let distance_to_hole = hole.wrapping_sub(home) & mask;
            if distance_to_hole < distance_to_next {
                self.entries[hole] = entry;
                hole = next;
            }
        }
        self.entries[hole] = 0;
        self.len -= 1;
        Some(slot)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_get_remove_many_with_collisions() {
        let mut table = SlotTable::new();
        let mut ids: Vec<u64> = Vec::new();
        for id in 0..5000u64 {
            let id = id * 1_000_003;
            table.insert_new(id, ids.len() as u32);
            ids.push(id);
        }
        for (slot, &id) in ids.iter().enumerate() {
            assert_eq!(table.get(id, &ids), Some(slot as u32));
        }
        assert_eq!(table.get(7, &ids), None);
        // Remove every third id and check the rest are still found.
        for (slot, &id) in ids.iter().enumerate().step_by(3) {
            assert_eq!(table.remove(id, &ids), Some(slot as u32));
            assert_eq!(table.remove(id, &ids), None);
        }
        for (slot, &id) in ids.iter().enumerate() {
            let expected = (slot % 3 != 0).then_some(slot as u32);
            assert_eq!(table.get(id, &ids), expected, "id {id}");
        }
        assert!(table.set_slot(ids[1], 1, &ids));
        assert_eq!(table.len, 5000 - 1667);
    }
}
