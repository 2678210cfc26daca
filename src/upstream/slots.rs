//! Two counters over the last ten time slots: the ring behind the failure
//! window of outlier detection and the retry budget. A slot older than ten
//! slots is cleared when its place in the ring comes round again.

/// Slots in the ring.
pub(crate) const SLOTS: u64 = 10;

/// Pairs of counts by time slot.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct SlotCounts {
    /// (slot number, first count, second count).
    slots: [(u64, u32, u32); SLOTS as usize],
}

impl SlotCounts {
    /// Adds `a` and `b` to the counts of time slot `slot`.
    pub(crate) fn add(&mut self, slot: u64, a: u32, b: u32) {
        let s = &mut self.slots[(slot % SLOTS) as usize];
        if s.0 != slot {
            *s = (slot, 0, 0);
        }
        s.1 = s.1.saturating_add(a);
        s.2 = s.2.saturating_add(b);
    }

    /// Both counts summed over the ten slots ending at `slot`.
    pub(crate) fn totals(&self, slot: u64) -> (u64, u64) {
        self.slots
            .iter()
            .filter(|s| s.0 + SLOTS > slot && s.0 <= slot)
            .fold((0, 0), |(a, b), s| (a + u64::from(s.1), b + u64::from(s.2)))
    }
}
