//! Compressed blocks: one chunk of one series as numeric columns, each
//! compressed with pco (delta encoding plus entropy coding, chosen per
//! column). Values are stored as integers: the value divided by the
//! metric's precision (0.01 for percent, 4 KiB for byte sizes, ...), so a
//! sample of a steady series costs a few bits.
//!
//! Layout: `[version u8][scale f64][rows u32][columns u8]` then per column
//! `[len u32][pco bytes]`, little-endian.

use thiserror::Error;

const VERSION: u8 = 1;

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
}

/// A chunk as columns: `t` (Unix ms) and one or more integer columns.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Block {
    /// What one unit of the integer columns is worth.
    pub scale: f64,
    pub t: Vec<i64>,
    pub columns: Vec<Vec<i64>>,
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

impl Block {
    /// Encodes the block.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(16 + self.t.len());
        out.push(VERSION);
        out.extend_from_slice(&self.scale.to_le_bytes());
        out.extend_from_slice(&(self.t.len() as u32).to_le_bytes());
        out.push((self.columns.len() + 1) as u8);
        for column in std::iter::once(&self.t).chain(&self.columns) {
            let bytes = compress(column);
            out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
            out.extend_from_slice(&bytes);
        }
        out
    }

    /// Decodes a block written by [`Block::encode`].
    pub fn decode(mut bytes: &[u8]) -> Result<Block, CodecError> {
        fn take<'a>(bytes: &mut &'a [u8], n: usize) -> Result<&'a [u8], CodecError> {
            if bytes.len() < n {
                return Err(CodecError::Truncated);
            }
            let (head, rest) = bytes.split_at(n);
            *bytes = rest;
            Ok(head)
        }
        let version = take(&mut bytes, 1)?[0];
        if version != VERSION {
            return Err(CodecError::Version(version));
        }
        let scale = f64::from_le_bytes(take(&mut bytes, 8)?.try_into().map_err(|_| CodecError::Truncated)?);
        let rows = u32::from_le_bytes(take(&mut bytes, 4)?.try_into().map_err(|_| CodecError::Truncated)?) as usize;
        let count = take(&mut bytes, 1)?[0] as usize;
        let mut columns = Vec::with_capacity(count);
        for _ in 0..count {
            let len = u32::from_le_bytes(take(&mut bytes, 4)?.try_into().map_err(|_| CodecError::Truncated)?) as usize;
            columns.push(decompress(take(&mut bytes, len)?, rows)?);
        }
        if columns.is_empty() {
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
            assert_eq!(Block::decode(&b.encode()).unwrap(), b);
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
        assert_eq!(Block::decode(&b.encode()).unwrap(), b);
    }

    #[test]
    fn a_steady_series_costs_well_under_a_byte_per_sample() {
        let b = block(3600, |i| 4200 + (i as i64 % 3));
        let bytes = b.encode().len();
        assert!(bytes < 3600 / 2, "{bytes} bytes for 3600 samples");
    }

    #[test]
    fn damaged_blocks_are_errors() {
        let bytes = block(100, |i| i as i64).encode();
        assert!(matches!(Block::decode(&bytes[..10]), Err(CodecError::Truncated)));
        assert!(matches!(Block::decode(&[9]), Err(CodecError::Version(9))));
        let mut bad = bytes.clone();
        let last = bad.len() - 3;
        bad.truncate(last);
        assert!(Block::decode(&bad).is_err());
        assert!(Block::decode(&[]).is_err());
    }
}
