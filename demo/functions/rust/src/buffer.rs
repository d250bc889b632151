//! The in-memory write buffer: pure bookkeeping, no I/O.

/// One write the caller asked for: the item's key and when it was accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Write {
    /// Partition key of the item (`pk`).
    pub id: String,
    /// Unix epoch milliseconds at which the function accepted the write.
    pub accepted_at_ms: u64,
}

/// Writes waiting to be stored, released in batches of `batch_size`.
#[derive(Debug)]
pub struct Buffer {
    batch_size: usize,
    pending: Vec<Write>,
}

impl Buffer {
    /// An empty buffer that releases batches of `batch_size` writes.
    pub fn new(batch_size: usize) -> Buffer {
        Buffer {
            batch_size: batch_size.max(1),
            pending: Vec::new(),
        }
    }

    /// Add writes; returns every full batch now ready to be stored.
    pub fn push(&mut self, writes: impl IntoIterator<Item = Write>) -> Vec<Vec<Write>> {
        self.pending.extend(writes);
        let mut ready = Vec::new();
        while self.pending.len() >= self.batch_size {
            let rest = self.pending.split_off(self.batch_size);
            ready.push(std::mem::replace(&mut self.pending, rest));
        }
        ready
    }

    /// Take everything still buffered (the last, partial batch).
    pub fn drain(&mut self) -> Vec<Write> {
        std::mem::take(&mut self.pending)
    }

    /// How many writes are waiting.
    pub fn len(&self) -> usize {
        self.pending.len()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn writes(ids: std::ops::Range<u32>) -> Vec<Write> {
        ids.map(|i| Write {
            id: format!("w-{i}"),
            accepted_at_ms: 0,
        })
        .collect()
    }

    #[test]
    fn keeps_writes_until_a_batch_is_full() {
        let mut buffer = Buffer::new(3);
        assert!(buffer.push(writes(0..2)).is_empty());
        assert_eq!(buffer.len(), 2);
        let ready = buffer.push(writes(2..3));
        assert_eq!(ready, vec![writes(0..3)]);
        assert_eq!(buffer.len(), 0);
    }

    #[test]
    fn releases_several_batches_in_order_and_keeps_the_rest() {
        let mut buffer = Buffer::new(2);
        let ready = buffer.push(writes(0..5));
        assert_eq!(ready, vec![writes(0..2), writes(2..4)]);
        assert_eq!(buffer.drain(), writes(4..5));
        assert!(buffer.drain().is_empty());
    }
}
