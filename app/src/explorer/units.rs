//! Numbers by unit, for the summary table, the chart's legend and its
//! value axes. Single values reuse [`crate::format`], so the explorer reads
//! like the overview; axis labels share one scale and one number of
//! decimals per axis, so the ticks of an axis line up (`0 B`, `512 MiB`,
//! `1.0 GiB` would not).

use crate::format;
use crate::metrics::Unit;

/// One value as the summary table and the chart legend show it.
pub fn value(unit: Unit, v: f64) -> String {
    if !v.is_finite() {
        return "–".into();
    }
    match unit {
        Unit::Percent => format::percent(v),
        Unit::Bytes => format::bytes(v.max(0.0).round() as u64),
        Unit::BytesPerSecond => format::rate(v),
        Unit::PerSecond => format!("{}/s", format::per_second(v)),
        Unit::Seconds => seconds(v),
        Unit::Number => number(v),
    }
}

/// The word for a unit, as the summary table's unit column shows it.
pub fn name(unit: Unit) -> &'static str {
    match unit {
        Unit::Percent => "percent",
        Unit::Bytes => "bytes",
        Unit::BytesPerSecond => "bytes/s",
        Unit::PerSecond => "per second",
        Unit::Seconds => "seconds",
        Unit::Number => "number",
    }
}

/// A duration: `850 µs`, `12.5 ms`, `1.25 s`, `3.0 min`.
fn seconds(v: f64) -> String {
    let a = v.abs();
    if a == 0.0 {
        "0 s".into()
    } else if a < 1e-3 {
        format!("{:.0} µs", v * 1e6)
    } else if a < 1.0 {
        format!("{:.1} ms", v * 1e3)
    } else if a < 60.0 {
        format!("{v:.2} s")
    } else {
        format!("{:.1} min", v / 60.0)
    }
}

/// A plain figure: `0.42`, `12.5`, `1234`, `12.3k`, `4.5M`.
fn number(v: f64) -> String {
    let a = v.abs();
    if a >= 1e9 {
        format!("{:.1}G", v / 1e9)
    } else if a >= 1e6 {
        format!("{:.1}M", v / 1e6)
    } else if a >= 1e4 {
        format!("{:.1}k", v / 1e3)
    } else if a >= 100.0 || v.fract() == 0.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// Labels for the ticks of one value axis: one scale (the largest tick's)
/// and the fewest decimals that still tell neighbouring ticks apart.
pub fn axis_labels(unit: Unit, ticks: &[f64]) -> Vec<String> {
    let largest = ticks.iter().fold(0.0_f64, |m, t| m.max(t.abs()));
    let (divisor, suffix) = axis_scale(unit, largest);
    let step = ticks
        .windows(2)
        .map(|w| (w[1] - w[0]).abs())
        .filter(|d| *d > 0.0)
        .fold(f64::INFINITY, f64::min);
    let decimals = if step.is_finite() {
        let scaled = step / divisor;
        // Enough decimals to show the step: 0.25 -> 2, 2.5 -> 1, 50 -> 0.
        (0..=3)
            .find(|d| {
                let x = scaled * 10f64.powi(*d);
                (x - x.round()).abs() < 1e-6 * x.max(1.0)
            })
            .unwrap_or(3)
    } else {
        0
    };
    ticks
        .iter()
        .map(|t| {
            let v = t / divisor;
            // Avoid "-0".
            let v = if v == 0.0 { 0.0 } else { v };
            format!("{v:.*}{suffix}", decimals as usize)
        })
        .collect()
}

/// What the ticks of an axis are divided by, and the suffix they carry.
fn axis_scale(unit: Unit, largest: f64) -> (f64, &'static str) {
    const BINARY: [&str; 6] = [" B", " KiB", " MiB", " GiB", " TiB", " PiB"];
    const BINARY_RATE: [&str; 6] = [" B/s", " KiB/s", " MiB/s", " GiB/s", " TiB/s", " PiB/s"];
    let binary = |names: &'static [&'static str; 6]| {
        let mut i = 0;
        while i + 1 < names.len() && largest >= 1024f64.powi(i as i32 + 1) {
            i += 1;
        }
        (1024f64.powi(i as i32), names[i])
    };
    let si = |suffixes: [&'static str; 4]| {
        if largest >= 1e9 {
            (1e9, suffixes[3])
        } else if largest >= 1e6 {
            (1e6, suffixes[2])
        } else if largest >= 1e4 {
            (1e3, suffixes[1])
        } else {
            (1.0, suffixes[0])
        }
    };
    match unit {
        Unit::Percent => (1.0, "%"),
        Unit::Bytes => binary(&BINARY),
        Unit::BytesPerSecond => binary(&BINARY_RATE),
        Unit::PerSecond => si(["/s", "k/s", "M/s", "G/s"]),
        Unit::Number => si(["", "k", "M", "G"]),
        Unit::Seconds => {
            if largest >= 120.0 {
                (60.0, " min")
            } else if largest >= 1.0 {
                (1.0, " s")
            } else if largest >= 1e-3 {
                (1e-3, " ms")
            } else {
                (1e-6, " µs")
            }
        }
    }
}

/// Tick steps for a value axis. Byte axes step in powers of two, so their
/// ticks fall on round binary sizes (256 MiB, 512 MiB, 1 GiB); `None`
/// leaves uPlot's decimal steps.
pub fn axis_steps(unit: Unit) -> Option<Vec<f64>> {
    matches!(unit, Unit::Bytes | Unit::BytesPerSecond).then(|| (0..60).map(|i| 2f64.powi(i)).collect())
}

/// Room the labels of an axis need, in CSS pixels.
pub fn axis_width(unit: Unit) -> u32 {
    match unit {
        Unit::Percent => 48,
        Unit::Bytes => 70,
        Unit::BytesPerSecond => 84,
        Unit::PerSecond | Unit::Seconds => 64,
        Unit::Number => 52,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_values_read_like_the_overview() {
        assert_eq!(value(Unit::Percent, 12.345), "12.3%");
        assert_eq!(value(Unit::Bytes, 1536.0), "1.5 KiB");
        assert_eq!(value(Unit::Bytes, -3.0), "0 B");
        assert_eq!(value(Unit::BytesPerSecond, 2048.0), "2.0 KiB/s");
        assert_eq!(value(Unit::PerSecond, 1500.0), "1.5k/s");
        assert_eq!(value(Unit::Seconds, 0.0125), "12.5 ms");
        assert_eq!(value(Unit::Seconds, 0.000_25), "250 µs");
        assert_eq!(value(Unit::Seconds, 90.0), "1.5 min");
        assert_eq!(value(Unit::Number, 0.4242), "0.42");
        assert_eq!(value(Unit::Number, 7.0), "7");
        assert_eq!(value(Unit::Number, 12_345.0), "12.3k");
        assert_eq!(value(Unit::Number, f64::NAN), "–");
    }

    #[test]
    fn percent_axes_show_only_needed_decimals() {
        assert_eq!(axis_labels(Unit::Percent, &[0.0, 25.0, 50.0]), ["0%", "25%", "50%"]);
        assert_eq!(axis_labels(Unit::Percent, &[1.0, 1.5, 2.0]), ["1.0%", "1.5%", "2.0%"]);
        assert_eq!(axis_labels(Unit::Percent, &[0.1, 0.2]), ["0.1%", "0.2%"]);
    }

    #[test]
    fn byte_axes_share_the_largest_ticks_unit() {
        const MIB: f64 = 1024.0 * 1024.0;
        assert_eq!(
            axis_labels(Unit::Bytes, &[0.0, 512.0 * MIB, 1024.0 * MIB, 1536.0 * MIB]),
            ["0.0 GiB", "0.5 GiB", "1.0 GiB", "1.5 GiB"]
        );
        assert_eq!(
            axis_labels(Unit::Bytes, &[0.0, 256.0 * MIB, 512.0 * MIB, 768.0 * MIB]),
            ["0 MiB", "256 MiB", "512 MiB", "768 MiB"]
        );
        assert_eq!(
            axis_labels(Unit::BytesPerSecond, &[0.0, 512.0, 1024.0]),
            ["0.0 KiB/s", "0.5 KiB/s", "1.0 KiB/s"]
        );
        assert_eq!(
            axis_labels(Unit::Bytes, &[0.0, 100.0, 200.0]),
            ["0 B", "100 B", "200 B"]
        );
    }

    #[test]
    fn other_axes() {
        assert_eq!(
            axis_labels(Unit::PerSecond, &[0.0, 5000.0, 10_000.0]),
            ["0k/s", "5k/s", "10k/s"]
        );
        assert_eq!(
            axis_labels(Unit::Seconds, &[0.0, 0.005, 0.01]),
            ["0 ms", "5 ms", "10 ms"]
        );
        assert_eq!(
            axis_labels(Unit::Seconds, &[0.0, 120.0, 240.0]),
            ["0 min", "2 min", "4 min"]
        );
        assert_eq!(axis_labels(Unit::Number, &[0.0, 0.25, 0.5]), ["0.00", "0.25", "0.50"]);
        assert_eq!(axis_labels(Unit::Number, &[-1.0, 0.0, 1.0]), ["-1", "0", "1"]);
        assert_eq!(axis_labels(Unit::Number, &[3.0]), ["3"], "one tick");
        assert!(axis_labels(Unit::Number, &[]).is_empty());
    }

    #[test]
    fn byte_axes_step_in_powers_of_two() {
        let steps = axis_steps(Unit::Bytes).unwrap();
        assert_eq!(&steps[..4], [1.0, 2.0, 4.0, 8.0]);
        assert!(steps.contains(&((1u64 << 30) as f64)));
        assert!(axis_steps(Unit::Percent).is_none());
    }
}
