//! LEB128 varints, and zigzag for signed ones: how the store's open part
//! (the server's `store::head`) and the explorer's column answers
//! ([`crate::metrics::RangeColumns`]) write integers, so that small
//! numbers and small differences take a byte or two. One encoder and one
//! decoder for both.

/// Why a varint could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum VarintError {
    #[error("the bytes end inside a number")]
    Truncated,
    #[error("a number longer than 10 bytes (64 bits)")]
    TooLong,
}

/// Appends `v` as a varint.
#[inline]
pub fn put(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Appends `v` as a zigzag varint (small magnitudes, either sign, are short).
#[inline]
pub fn put_signed(out: &mut Vec<u8>, v: i64) {
    put(out, ((v << 1) ^ (v >> 63)) as u64);
}

/// Reads a varint off the front of `bytes`.
#[inline]
pub fn get(bytes: &mut &[u8]) -> Result<u64, VarintError> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let (&b, rest) = bytes.split_first().ok_or(VarintError::Truncated)?;
        *bytes = rest;
        v |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Ok(v);
        }
    }
    Err(VarintError::TooLong)
}

/// Reads a zigzag varint off the front of `bytes`.
#[inline]
pub fn get_signed(bytes: &mut &[u8]) -> Result<i64, VarintError> {
    let v = get(bytes)?;
    Ok((v >> 1) as i64 ^ -((v & 1) as i64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_round_trip_and_small_ones_are_short() {
        let values = [0i64, 1, -1, 63, -64, 64, 1_000, -1_000, i64::MAX, i64::MIN];
        let mut out = Vec::new();
        for v in values {
            put_signed(&mut out, v);
        }
        let mut bytes = out.as_slice();
        for v in values {
            assert_eq!(get_signed(&mut bytes), Ok(v));
        }
        assert!(bytes.is_empty());
        let mut one = Vec::new();
        put_signed(&mut one, -64);
        assert_eq!(one.len(), 1);
    }

    #[test]
    fn broken_numbers_are_errors() {
        assert_eq!(get(&mut &[0x80u8][..]), Err(VarintError::Truncated));
        assert_eq!(get(&mut &[0xffu8; 11][..]), Err(VarintError::TooLong));
    }
}
