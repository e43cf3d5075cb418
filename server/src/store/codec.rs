//! Compressed blocks: one chunk of one series as numeric columns, each
//! compressed with pco (delta encoding plus entropy coding, chosen per
//! column). Values are stored as integers: the value divided by the
//! metric's precision (0.01 for percent, 4 KiB for byte sizes, ...), so a
//! sample of a steady series costs a few bits.
//!
//! The series of a host are sampled together, so most blocks of one window
//! have the same times: those are stored once per tier and window (the
//! `times` table, [`encode_times`]) and such a block leaves its time column
//! out.
//!
//! Layout: `[version u8][scale f64][rows u32][columns u8][flags u8]` then
//! per column `[len u32][pco bytes]`, little-endian; the time column comes
//! first unless flag bit 0 (times shared) is set. Version 1 had no flags
//! byte and always its own time column.

use thiserror::Error;

const VERSION: u8 = 2;
/// Flag: the block's times are the window's shared ones.
const SHARED_TIMES: u8 = 1;

/// Why a block could not be read back.
#[derive(Debug, Error)]
pub enum CodecError {
    #[error("block is truncated")]
    Truncated,
    #[error("block version {0} is not known")]
    Version(u8),
    #[error("block column does not decode: {0}")]
    Column(String),
    #[error("block columns disagree on their length")]
    Ragged,
    #[error("block shares its window's times, which are missing")]
    NoTimes,
}

/// A chunk as columns: `t` (Unix ms) and one or more integer columns.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Block {
    /// What one unit of the integer columns is worth.
    pub(crate) scale: f64,
    pub(crate) t: Vec<i64>,
    pub(crate) columns: Vec<Vec<i64>>,
}

fn compress(values: &[i64]) -> Vec<u8> {
    if values.is_empty() {
        return Vec::new();
    }
    // pco only fails on configurations, not on data; fall back to raw
    // little-endian if it ever does, flagged by a zero-length marker.
    pco::standalone::simple_compress(values, &pco::ChunkConfig::default()).unwrap_or_default()
}

fn decompress(bytes: &[u8], rows: usize) -> Result<Vec<i64>, CodecError> {
    if rows == 0 {
        return Ok(Vec::new());
    }
    let values: Vec<i64> = pco::standalone::simple_decompress(bytes).map_err(|e| CodecError::Column(e.to_string()))?;
    if values.len() != rows {
        return Err(CodecError::Ragged);
    }
    Ok(values)
}

/// A window's shared times, as stored in the `times` table.
pub(crate) fn encode_times(t: &[i64]) -> Vec<u8> {
    compress(t)
}

/// Reads times written by [`encode_times`].
pub(crate) fn decode_times(bytes: &[u8]) -> Result<Vec<i64>, CodecError> {
    if bytes.is_empty() {
        return Ok(Vec::new());
    }
    pco::standalone::simple_decompress(bytes).map_err(|e| CodecError::Column(e.to_string()))
}

impl Block {
    /// Encodes the block; its time column is left out when it equals
    /// `shared`, the window's shared times.
    pub(crate) fn encode(&self, shared: Option<&[i64]>) -> Vec<u8> {
        let share = shared.is_some_and(|s| s == self.t.as_slice());
        let mut out = Vec::with_capacity(16 + self.t.len());
        out.push(VERSION);
        out.extend_from_slice(&self.scale.to_le_bytes());
        out.extend_from_slice(&(self.t.len() as u32).to_le_bytes());
        out.push((self.columns.len() + usize::from(!share)) as u8);
        out.push(if share { SHARED_TIMES } else { 0 });
        let own_times = (!share).then_some(&self.t);
        for column in own_times.into_iter().chain(&self.columns) {
            let bytes = compress(column);
            out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
            out.extend_from_slice(&bytes);
        }
        out
    }

    /// Decodes a block written by [`Block::encode`]; `times` are the
    /// window's shared times ([`encode_times`]), if it has any.
    pub(crate) fn decode(mut bytes: &[u8], times: Option<&[u8]>) -> Result<Block, CodecError> {
        fn take<'a>(bytes: &mut &'a [u8], n: usize) -> Result<&'a [u8], CodecError> {
            if bytes.len() < n {
                return Err(CodecError::Truncated);
            }
            let (head, rest) = bytes.split_at(n);
            *bytes = rest;
            Ok(head)
        }
        let version = take(&mut bytes, 1)?[0];
        if version != VERSION && version != 1 {
            return Err(CodecError::Version(version));
        }
        let scale = f64::from_le_bytes(take(&mut bytes, 8)?.try_into().map_err(|_| CodecError::Truncated)?);
        let rows = u32::from_le_bytes(take(&mut bytes, 4)?.try_into().map_err(|_| CodecError::Truncated)?) as usize;
        let count = take(&mut bytes, 1)?[0] as usize;
        let flags = if version == 1 { 0 } else { take(&mut bytes, 1)?[0] };
        let mut columns = Vec::with_capacity(count + 1);
        if flags & SHARED_TIMES != 0 {
            let t = decode_times(times.ok_or(CodecError::NoTimes)?)?;
            if t.len() != rows {
                return Err(CodecError::Ragged);
            }
            columns.push(t);
        }
        for _ in 0..count {
            let len = u32::from_le_bytes(take(&mut bytes, 4)?.try_into().map_err(|_| CodecError::Truncated)?) as usize;
            columns.push(decompress(take(&mut bytes, len)?, rows)?);
        }
        if columns.len() < 2 {
            return Err(CodecError::Truncated);
        }
        let t = columns.remove(0);
        Ok(Block { scale, t, columns })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(n: usize, f: impl Fn(usize) -> i64) -> Block {
        Block {
            scale: 0.01,
            t: (0..n as i64)
                .map(|i| 1_700_000_000_000 + i * 1000 + (i * 7 % 13))
                .collect(),
            columns: vec![(0..n).map(f).collect()],
        }
    }

    #[test]
    fn round_trips_edge_values() {
        for b in [
            block(1, |_| 5),
            block(3600, |i| i as i64),
            block(100, |i| if i % 2 == 0 { i64::MIN } else { i64::MAX }),
            block(500, |i| (i as i64 * 7919) % 1000 - 500),
            Block {
                scale: 1.0,
                t: vec![],
                columns: vec![vec![]],
            },
        ] {
            assert_eq!(Block::decode(&b.encode(None), None).unwrap(), b);
        }
    }

    #[test]
    fn counter_resets_and_gaps_round_trip() {
        // A counter that grows, resets to zero on a restart, and grows again,
        // with a ten-minute gap in time.
        let mut b = block(200, |i| if i < 120 { i as i64 * 50 } else { (i as i64 - 120) * 50 });
        for t in &mut b.t[120..] {
            *t += 600_000;
        }
        assert_eq!(Block::decode(&b.encode(None), None).unwrap(), b);
    }

    #[test]
    fn a_steady_series_costs_well_under_a_byte_per_sample() {
        let b = block(3600, |i| 4200 + (i as i64 % 3));
        let bytes = b.encode(None).len();
        assert!(bytes < 3600 / 2, "{bytes} bytes for 3600 samples");
    }

    #[test]
    fn damaged_blocks_are_errors() {
        let bytes = block(100, |i| i as i64).encode(None);
        assert!(matches!(Block::decode(&bytes[..10], None), Err(CodecError::Truncated)));
        assert!(matches!(Block::decode(&[9], None), Err(CodecError::Version(9))));
        let mut bad = bytes.clone();
        let last = bad.len() - 3;
        bad.truncate(last);
        assert!(Block::decode(&bad, None).is_err());
        assert!(Block::decode(&[], None).is_err());
    }

    #[test]
    fn blocks_with_the_windows_times_leave_their_own_out() {
        let b = block(600, |i| 4200 + (i as i64 % 7));
        let times = encode_times(&b.t);
        let own = b.encode(None);
        let shared = b.encode(Some(&b.t));
        assert!(shared.len() + 50 < own.len(), "{} vs {}", shared.len(), own.len());
        assert_eq!(Block::decode(&shared, Some(&times)).unwrap(), b);
        assert!(matches!(Block::decode(&shared, None), Err(CodecError::NoTimes)));
        let fewer = encode_times(&b.t[..599]);
        assert!(matches!(Block::decode(&shared, Some(&fewer)), Err(CodecError::Ragged)));
        // Other times than the block's: it keeps its own.
        let other: Vec<i64> = b.t.iter().map(|t| t + 1).collect();
        assert_eq!(b.encode(Some(&other)), own);
        assert_eq!(Block::decode(&own, Some(&times)).unwrap(), b);
    }

    #[test]
    fn version_one_blocks_still_decode() {
        let b = block(100, |i| i as i64 * 3);
        let mut v1 = b.encode(None);
        // Version 1: no flags byte after the column count.
        v1[0] = 1;
        v1.remove(1 + 8 + 4 + 1);
        assert_eq!(Block::decode(&v1, None).unwrap(), b);
    }

    #[test]
    fn any_damage_is_an_error_or_another_block_never_a_panic() {
        let b = block(300, |i| 4200 + (i as i64 * 31 % 17));
        let times = encode_times(&b.t);
        for (good, shared) in [(b.encode(None), None), (b.encode(Some(&b.t)), Some(times.as_slice()))] {
            for at in 0..good.len() {
                for byte in [0x00, 0x01, 0x7f, 0x80, 0xff, good[at] ^ 0x20] {
                    let mut bad = good.clone();
                    bad[at] = byte;
                    let _ = Block::decode(&bad, shared);
                    bad.truncate(at);
                    let _ = Block::decode(&bad, shared);
                }
            }
        }
    }
}
