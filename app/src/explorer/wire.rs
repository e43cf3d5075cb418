//! Reads a range answer (`GET /api/v1/query`) straight into columns.
//!
//! The browser asks for up to 100,000 points per series. Going through
//! serde (an untagged enum per point, `[t, value]` or `[t, min, max, avg]`)
//! made parsing most of the time between the answer and the drawn chart;
//! this reader knows the shape, copies each number once into its column
//! and allocates nothing per point. Numbers take the exact fast path (an
//! integer mantissa below 2^53 and a power of ten up to 10^22 give the
//! correctly rounded value with one multiplication or division); longer or
//! more extreme ones go to serde_json's parser, as before.

use std::fmt;

use super::data::{Points, SeriesData};
use crate::error::ApiError;
use crate::metrics::Unit;

/// Why an answer could not be read: what was expected, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WireError {
    pub at: usize,
    pub expected: &'static str,
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "expected {} at byte {}", self.expected, self.at)
    }
}

type Result<T> = std::result::Result<T, WireError>;

/// A range answer: `{"series", "unit", "from", "to", "step_ms", "tier",
/// "points": [[t, v] | [t, min, max, avg], ...]}`. Unknown keys are skipped.
pub fn parse_range(body: &[u8]) -> Result<SeriesData> {
    let mut r = Reader { s: body, i: 0 };
    let (mut series, mut unit, mut step_ms, mut tier, mut points) = (String::new(), None, 0, String::new(), None);
    r.object(|r, key| {
        match key {
            "series" => series = r.string()?,
            "unit" => {
                let at = r.i;
                unit = Some(unit_named(&r.string()?).ok_or(WireError {
                    at,
                    expected: "a known unit",
                })?);
            }
            "step_ms" => step_ms = r.number()? as i64,
            "tier" => tier = r.string()?,
            "points" => points = Some(r.points()?),
            _ => r.skip()?,
        }
        Ok(())
    })?;
    r.end()?;
    let missing = |expected| WireError { at: 0, expected };
    Ok(SeriesData {
        series,
        unit: unit.ok_or(missing("a \"unit\""))?,
        step_ms,
        tier,
        points: points.ok_or(missing("\"points\""))?,
    })
}

/// The message of an error answer (`{"error": "..."}`), if it is one.
pub fn parse_error(body: &[u8]) -> Option<ApiError> {
    let mut r = Reader { s: body, i: 0 };
    let mut message = None;
    r.object(|r, key| {
        if key == "error" {
            message = Some(r.string()?);
        } else {
            r.skip()?;
        }
        Ok(())
    })
    .ok()?;
    message.map(ApiError::new)
}

/// A unit by its wire name, read by `Unit`'s own serde form.
fn unit_named(name: &str) -> Option<Unit> {
    use serde::de::value::{Error, StrDeserializer};
    use serde::Deserialize;
    Unit::deserialize(StrDeserializer::<Error>::new(name)).ok()
}

/// Exact powers of ten: the fast path divides or multiplies by these.
const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20,
    1e21, 1e22,
];

struct Reader<'a> {
    s: &'a [u8],
    i: usize,
}

impl Reader<'_> {
    fn fail<T>(&self, expected: &'static str) -> Result<T> {
        Err(WireError { at: self.i, expected })
    }

    /// The next byte after whitespace, not consumed.
    fn peek(&mut self) -> Option<u8> {
        while let Some(&b) = self.s.get(self.i) {
            if matches!(b, b' ' | b'\n' | b'\r' | b'\t') {
                self.i += 1;
            } else {
                return Some(b);
            }
        }
        None
    }

    fn eat(&mut self, byte: u8, expected: &'static str) -> Result<()> {
        if self.peek() == Some(byte) {
            self.i += 1;
            Ok(())
        } else {
            self.fail(expected)
        }
    }

    fn end(&mut self) -> Result<()> {
        match self.peek() {
            None => Ok(()),
            Some(_) => self.fail("the end of the answer"),
        }
    }

    /// `{ "key": value, ... }`, calling `field` for each key; `field` must
    /// read (or skip) the value.
    fn object(&mut self, mut field: impl FnMut(&mut Self, &str) -> Result<()>) -> Result<()> {
        self.eat(b'{', "'{'")?;
        if self.peek() == Some(b'}') {
            self.i += 1;
            return Ok(());
        }
        loop {
            let key = self.string()?;
            self.eat(b':', "':'")?;
            field(self, &key)?;
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b'}') => {
                    self.i += 1;
                    return Ok(());
                }
                _ => return self.fail("',' or '}'"),
            }
        }
    }

    /// A JSON string, escapes resolved.
    fn string(&mut self) -> Result<String> {
        self.eat(b'"', "a string")?;
        let mut out = Vec::new();
        loop {
            let start = self.i;
            while let Some(&b) = self.s.get(self.i) {
                if b == b'"' || b == b'\\' || b < 0x20 {
                    break;
                }
                self.i += 1;
            }
            out.extend_from_slice(&self.s[start..self.i]);
            match self.s.get(self.i) {
                Some(b'"') => {
                    self.i += 1;
                    return String::from_utf8(out).or_else(|_| self.fail("UTF-8 text"));
                }
                Some(b'\\') => {
                    let simple = match self.s.get(self.i + 1) {
                        Some(b'"') => Some('"'),
                        Some(b'\\') => Some('\\'),
                        Some(b'/') => Some('/'),
                        Some(b'b') => Some('\u{8}'),
                        Some(b'f') => Some('\u{c}'),
                        Some(b'n') => Some('\n'),
                        Some(b'r') => Some('\r'),
                        Some(b't') => Some('\t'),
                        Some(b'u') => None,
                        _ => return self.fail("an escape"),
                    };
                    self.i += 2;
                    let c = match simple {
                        Some(c) => c,
                        None => self.unicode_escape()?,
                    };
                    let mut buf = [0; 4];
                    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
                _ => return self.fail("the end of a string"),
            }
        }
    }

    /// After `\u`: four hex digits, or a surrogate pair of two escapes.
    fn unicode_escape(&mut self) -> Result<char> {
        let first = self.hex4()?;
        let code = if (0xD800..0xDC00).contains(&first) {
            if self.s.get(self.i..self.i + 2) != Some(b"\\u") {
                return self.fail("a low surrogate");
            }
            self.i += 2;
            let second = self.hex4()?;
            if !(0xDC00..0xE000).contains(&second) {
                return self.fail("a low surrogate");
            }
            0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
        } else {
            first
        };
        char::from_u32(code).map_or_else(|| self.fail("a character"), Ok)
    }

    fn hex4(&mut self) -> Result<u32> {
        let digits = self
            .s
            .get(self.i..self.i + 4)
            .map_or_else(|| self.fail("four hex digits"), Ok)?;
        let text = std::str::from_utf8(digits).or_else(|_| self.fail("four hex digits"))?;
        let v = u32::from_str_radix(text, 16).or_else(|_| self.fail("four hex digits"))?;
        self.i += 4;
        Ok(v)
    }

    /// A JSON number as `f64`.
    fn number(&mut self) -> Result<f64> {
        self.peek();
        let s = self.s;
        let start = self.i;
        let mut i = start;
        let negative = s.get(i) == Some(&b'-');
        i += usize::from(negative);
        // Up to 19 digits fit a u64 exactly; longer numbers take the slow path.
        let mut mantissa: u64 = 0;
        let int_start = i;
        while i < s.len() && s[i].is_ascii_digit() {
            mantissa = mantissa.wrapping_mul(10).wrapping_add(u64::from(s[i] - b'0'));
            i += 1;
        }
        let mut digits = i - int_start;
        if digits == 0 {
            return self.fail("a number");
        }
        let mut exp10: i64 = 0;
        if s.get(i) == Some(&b'.') {
            i += 1;
            let frac_start = i;
            while i < s.len() && s[i].is_ascii_digit() {
                mantissa = mantissa.wrapping_mul(10).wrapping_add(u64::from(s[i] - b'0'));
                i += 1;
            }
            if i == frac_start {
                self.i = i;
                return self.fail("a digit after '.'");
            }
            digits += i - frac_start;
            exp10 = -((i - frac_start) as i64);
        }
        if matches!(s.get(i), Some(b'e' | b'E')) {
            i += 1;
            let minus = s.get(i) == Some(&b'-');
            i += usize::from(matches!(s.get(i), Some(b'-' | b'+')));
            let exp_start = i;
            let mut e: i64 = 0;
            while i < s.len() && s[i].is_ascii_digit() {
                e = (e * 10 + i64::from(s[i] - b'0')).min(100_000);
                i += 1;
            }
            if i == exp_start {
                self.i = i;
                return self.fail("an exponent");
            }
            exp10 += if minus { -e } else { e };
        }
        self.i = i;
        let value = if digits <= 19 && mantissa < (1 << 53) && (-22..=22).contains(&exp10) {
            let m = mantissa as f64;
            if exp10 < 0 {
                m / POW10[exp10.unsigned_abs() as usize]
            } else {
                m * POW10[exp10 as usize]
            }
        } else {
            // Long or extreme numbers: serde_json's parser, as for every
            // other answer (the standard library's would add its own tables
            // to the WASM).
            let text = std::str::from_utf8(&s[start + usize::from(negative)..i]).or_else(|_| self.fail("a number"))?;
            serde_json::from_str::<f64>(text).or_else(|_| self.fail("a number"))?
        };
        Ok(if negative { -value } else { value })
    }

    /// `[[t, v] | [t, min, max, avg], ...]` into columns.
    fn points(&mut self) -> Result<Points> {
        let mut p = Points::default();
        // A point takes at least 16 bytes on the wire (`[1790000012000,1]`).
        p.reserve((self.s.len() - self.i) / 16);
        self.eat(b'[', "'['")?;
        if self.peek() == Some(b']') {
            self.i += 1;
            return Ok(p);
        }
        loop {
            self.eat(b'[', "a point")?;
            let t = self.number()?;
            self.eat(b',', "',' after a time")?;
            let first = self.number()?;
            match self.peek() {
                Some(b']') => {
                    p.push(t as i64, first, first, first);
                }
                Some(b',') => {
                    self.i += 1;
                    let max = self.number()?;
                    self.eat(b',', "',' before the average")?;
                    let avg = self.number()?;
                    p.push(t as i64, first, max, avg);
                    p.buckets = true;
                }
                _ => return self.fail("',' or ']' in a point"),
            }
            self.eat(b']', "']' after a point")?;
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b']') => {
                    self.i += 1;
                    return Ok(p);
                }
                _ => return self.fail("',' or ']' between points"),
            }
        }
    }

    /// Any value, unread.
    fn skip(&mut self) -> Result<()> {
        match self.peek() {
            Some(b'"') => self.string().map(drop),
            Some(b'{') => self.object(|r, _| r.skip()),
            Some(b'[') => {
                self.i += 1;
                if self.peek() == Some(b']') {
                    self.i += 1;
                    return Ok(());
                }
                loop {
                    self.skip()?;
                    match self.peek() {
                        Some(b',') => self.i += 1,
                        Some(b']') => {
                            self.i += 1;
                            return Ok(());
                        }
                        _ => return self.fail("',' or ']'"),
                    }
                }
            }
            Some(b't') => self.literal(b"true"),
            Some(b'f') => self.literal(b"false"),
            Some(b'n') => self.literal(b"null"),
            _ => self.number().map(drop),
        }
    }

    fn literal(&mut self, word: &'static [u8]) -> Result<()> {
        if self.s.get(self.i..self.i + word.len()) == Some(word) {
            self.i += word.len();
            Ok(())
        } else {
            self.fail("a value")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{Range, RangePoint};

    fn range_json(points: Vec<RangePoint>) -> String {
        serde_json::to_string(&Range {
            series: "cpu_usage_percent".into(),
            unit: Unit::Percent,
            from: 1_000,
            to: 9_000,
            step_ms: 1_000,
            tier: "raw".into(),
            points,
        })
        .unwrap()
    }

    #[test]
    fn reads_what_the_server_writes() {
        let json = range_json(vec![
            RangePoint::Value(1_790_000_012_000, 3.1),
            RangePoint::Bucket(1_790_000_013_000, 2.5, 17.25, 6.4),
            RangePoint::Value(1_790_000_014_000, -0.5),
        ]);
        let d = parse_range(json.as_bytes()).unwrap();
        assert_eq!(
            (d.series.as_str(), d.unit, d.step_ms, d.tier.as_str()),
            ("cpu_usage_percent", Unit::Percent, 1_000, "raw")
        );
        assert_eq!(d.points.t, [1_790_000_012_000, 1_790_000_013_000, 1_790_000_014_000]);
        assert_eq!(d.points.min, [3.1, 2.5, -0.5]);
        assert_eq!(d.points.max, [3.1, 17.25, -0.5]);
        assert_eq!(d.points.avg, [3.1, 6.4, -0.5]);
        assert!(d.points.buckets);
        let plain = parse_range(range_json(vec![RangePoint::Value(1, 2.0)]).as_bytes()).unwrap();
        assert!(!plain.points.buckets, "single samples are no band");
    }

    #[test]
    fn numbers_read_like_before() {
        let cases = [
            "0",
            "-0",
            "3.1",
            "0.1",
            "0.3",
            "17.2",
            "99.99",
            "1e3",
            "1.5E-7",
            "123456789012345678",
            "1790000012000",
            "2.2250738585072014e-308",
            "1.7976931348623157e308",
            "9007199254740993",
            "0.000001",
            "12345.678901234567",
            "5e-324",
            "4.35",
            "1234567890123456789012",
        ];
        for text in cases {
            let mut r = Reader {
                s: text.as_bytes(),
                i: 0,
            };
            let got = r.number().unwrap();
            let before: f64 = serde_json::from_str(text).unwrap();
            assert_eq!(got.to_bits(), before.to_bits(), "{text}: as serde_json reads it");
            let exact: f64 = text.parse().unwrap();
            assert_eq!(got.to_bits(), exact.to_bits(), "{text}: correctly rounded");
            assert_eq!(r.i, text.len());
        }
        for bad in ["", "-", "1.", ".5", "1e", "x"] {
            let mut r = Reader {
                s: bad.as_bytes(),
                i: 0,
            };
            assert!(r.number().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn strings_unknown_keys_and_whitespace() {
        let json = br#" { "series" : "a\"b\\c\u00e9\ud83d\ude00" , "extra": {"x": [1, true, null, "s"]},
            "unit":"bytes_per_second", "points": [ [ 1 , 2 ] ], "tier":"1m" } "#;
        let d = parse_range(json).unwrap();
        assert_eq!(d.series, "a\"b\\c\u{e9}\u{1F600}");
        assert_eq!(d.unit, Unit::BytesPerSecond);
        assert_eq!(d.points.avg, [2.0]);
    }

    #[test]
    fn bad_answers_say_where() {
        for bad in [
            &b"{\"unit\":\"percent\",\"points\":[[1]]}"[..],
            b"{\"unit\":\"percent\",\"points\":[[1,2,3]]}",
            b"{\"unit\":\"furlongs\"}",
            b"{\"points\":[]}",
            b"{\"unit\":\"percent\"} x",
            b"[",
            b"",
        ] {
            assert!(parse_range(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
        let text = br#"{"unit":"percent","points":[[1,x]]}"#;
        let e = parse_range(text).unwrap_err();
        let x = text.iter().position(|b| *b == b'x').unwrap();
        assert_eq!(
            e,
            WireError {
                at: x,
                expected: "a number"
            }
        );
        assert_eq!(e.to_string(), format!("expected a number at byte {x}"));
    }

    #[test]
    fn error_answers_give_their_message() {
        assert_eq!(
            parse_error(br#"{"error":"unknown series \"x\"; GET /api/v1/series lists them"}"#),
            Some(ApiError::new("unknown series \"x\"; GET /api/v1/series lists them"))
        );
        assert_eq!(parse_error(b"<html>"), None);
        assert_eq!(parse_error(b"{}"), None);
    }
}
