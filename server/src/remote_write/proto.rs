//! The Prometheus remote-write 1.0 wire format: a protobuf `WriteRequest`
//! (declared by hand with prost's derive, so no `protoc` and no build
//! script) compressed with snappy's block format.
//!
//! ```proto
//! message WriteRequest { repeated TimeSeries timeseries = 1; }
//! message TimeSeries { repeated Label labels = 1; repeated Sample samples = 2; }
//! message Label { string name = 1; string value = 2; }
//! message Sample { double value = 1; int64 timestamp = 2; }  // Unix ms
//! ```

use prost::Message;

/// `Content-Type` of a request body.
pub const CONTENT_TYPE: &str = "application/x-protobuf";
/// `Content-Encoding` of a request body.
pub const CONTENT_ENCODING: &str = "snappy";
/// `X-Prometheus-Remote-Write-Version` of remote write 1.0.
pub const VERSION: &str = "0.1.0";

/// One request: any number of series with their samples.
#[derive(Clone, PartialEq, Message)]
pub struct WriteRequest {
    #[prost(message, repeated, tag = "1")]
    pub timeseries: Vec<TimeSeries>,
}

/// One series: its labels (sorted by name, so `__name__` comes first) and
/// its samples in time order.
#[derive(Clone, PartialEq, Message)]
pub struct TimeSeries {
    #[prost(message, repeated, tag = "1")]
    pub labels: Vec<Label>,
    #[prost(message, repeated, tag = "2")]
    pub samples: Vec<PromSample>,
}

#[derive(Clone, PartialEq, Eq, Message)]
pub struct Label {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(string, tag = "2")]
    pub value: String,
}

#[derive(Clone, PartialEq, Message)]
pub struct PromSample {
    #[prost(double, tag = "1")]
    pub value: f64,
    /// Unix time in milliseconds.
    #[prost(int64, tag = "2")]
    pub timestamp: i64,
}

/// The request body: protobuf, then snappy (block format, not framed).
pub fn encode(request: &WriteRequest) -> Vec<u8> {
    compress(&request.encode_to_vec())
}

/// Snappy block compression of `raw`.
pub fn compress(raw: &[u8]) -> Vec<u8> {
    snap::raw::Encoder::new()
        .compress_vec(raw)
        .expect("snappy compresses any input below 4 GiB")
}

/// What a receiver does with a body: the inverse of [`encode`].
pub fn decode(body: &[u8]) -> Result<WriteRequest, String> {
    let raw = snap::raw::Decoder::new()
        .decompress_vec(body)
        .map_err(|e| format!("snappy: {e}"))?;
    WriteRequest::decode(raw.as_slice()).map_err(|e| format!("protobuf: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn label(name: &str, value: &str) -> Label {
        Label {
            name: name.into(),
            value: value.into(),
        }
    }

    #[test]
    fn a_request_survives_protobuf_and_snappy() {
        let request = WriteRequest {
            timeseries: vec![TimeSeries {
                labels: vec![label("__name__", "vigil_load_average"), label("period", "1m")],
                samples: vec![
                    PromSample {
                        value: 0.25,
                        timestamp: 1_700_000_000_000,
                    },
                    PromSample {
                        value: -1.5e300,
                        timestamp: 1_700_000_001_000,
                    },
                ],
            }],
        };
        let raw = request.encode_to_vec();
        assert_eq!(WriteRequest::decode(raw.as_slice()).unwrap(), request);
        let body = encode(&request);
        assert_eq!(
            snap::raw::Decoder::new().decompress_vec(&body).unwrap(),
            raw,
            "block format, not framed"
        );
        assert_eq!(decode(&body).unwrap(), request);
    }

    #[test]
    fn field_numbers_match_the_spec() {
        // Label{name=1,value=2}: 0x0a len "a" 0x12 len "b".
        assert_eq!(label("a", "b").encode_to_vec(), [0x0a, 1, b'a', 0x12, 1, b'b']);
        // PromSample{value=1 (fixed64), timestamp=2 (varint)}.
        let s = PromSample {
            value: 1.0,
            timestamp: 5,
        }
        .encode_to_vec();
        assert_eq!(s[0], 0x09);
        assert_eq!(&s[9..], [0x10, 5]);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(decode(b"not snappy at all").is_err());
    }
}
