//! The chart's uPlot options, as JSON. Plain data only: the function-valued
//! options (axis labels, legend values, the x range, the zoom hook) are
//! added in the browser by [`super::uplot`], which reads this with
//! `JSON.parse`. Kept apart from the bindings so it is tested natively.

use std::fmt::Write as _;

use super::units;
use crate::metrics::Unit;

/// Colors the chart draws with, read from the page's CSS variables so the
/// chart follows light and dark mode like the rest of the page.
#[derive(Clone, Debug, PartialEq)]
pub struct Theme {
    /// Axis labels.
    pub text: String,
    /// Grid lines and ticks.
    pub grid: String,
    /// One color per series, used in turn.
    pub series: Vec<String>,
}

impl Default for Theme {
    fn default() -> Self {
        Theme {
            text: "#5b6b78".into(),
            grid: "#dde3e8".into(),
            series: vec!["#2563eb".into()],
        }
    }
}

/// What a chart is built for: its series, in order, with their units. A
/// chart is rebuilt when this changes, and only given new data otherwise.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Spec {
    pub series: Vec<(String, Unit)>,
}

impl Spec {
    /// The value axes: one per unit, in order of first use.
    pub fn units(&self) -> Vec<Unit> {
        let mut units: Vec<Unit> = Vec::new();
        for (_, unit) in &self.series {
            if !units.contains(unit) {
                units.push(*unit);
            }
        }
        units
    }
}

/// The scale key of a unit's axis.
pub fn scale_key(unit: Unit) -> &'static str {
    units::name(unit)
}

/// `s` as a JSON string literal.
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// uPlot's options for `spec` at `width` x `height` CSS pixels, as JSON.
/// Written by hand rather than with `serde_json::Value`, which would add
/// its code to the WASM for this one object.
pub fn options(spec: &Spec, width: u32, height: u32, theme: &Theme) -> String {
    let font = quote("12px system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif");
    let text = quote(&theme.text);
    let grid = format!(r#"{{"stroke":{},"width":1}}"#, quote(&theme.grid));

    let mut scales = String::from(r#"{"x":{"time":true}"#);
    // Wide tick spacing on the time axis: its first label carries the date.
    let mut axes = format!(r#"[{{"stroke":{text},"grid":{grid},"ticks":{grid},"font":{font},"space":80}}"#);
    for (i, unit) in spec.units().into_iter().enumerate() {
        let key = quote(scale_key(unit));
        // Start at zero when the data is positive; percentages stay in 0..100.
        let (hard_min, hard_max) = if unit == Unit::Percent {
            (r#","hard":0"#, r#","hard":100"#)
        } else {
            ("", "")
        };
        let _ = write!(
            scales,
            r#",{key}:{{"auto":true,"range":{{"min":{{"pad":0.1,"soft":0,"mode":1{hard_min}}},"max":{{"pad":0.1,"soft":0,"mode":3{hard_max}}}}}}}"#
        );
        // Left, right, then alternating outwards; only the first draws a grid.
        let _ = write!(
            axes,
            r#",{{"scale":{key},"side":{side},"size":{size},"stroke":{text},"grid":{{"show":{show},"stroke":{gs},"width":1}},"ticks":{grid},"font":{font}"#,
            side = if i % 2 == 0 { 3 } else { 1 },
            size = units::axis_width(unit),
            show = i == 0,
            gs = quote(&theme.grid),
        );
        if let Some(steps) = units::axis_steps(unit) {
            let steps: Vec<String> = steps.iter().map(|s| format!("{s}")).collect();
            let _ = write!(axes, r#","incrs":[{}]"#, steps.join(","));
        }
        axes.push('}');
    }
    scales.push('}');
    axes.push(']');

    // The cursor's time to the second, like the axis (local, 12 h).
    let mut series = String::from(r#"[{"label":"Time","value":"{YYYY}-{MM}-{DD} {h}:{mm}:{ss}{aa}"}"#);
    for (i, (name, unit)) in spec.series.iter().enumerate() {
        let color = theme
            .series
            .get(i % theme.series.len().max(1))
            .map_or("#888", String::as_str);
        let _ = write!(
            series,
            // uPlot shows point markers by itself where points are sparse
            // (a fresh store, a deep zoom), so lone points stay visible.
            r#",{{"label":{},"scale":{},"stroke":{},"width":1.5,"spanGaps":false}}"#,
            quote(name),
            quote(scale_key(*unit)),
            quote(color)
        );
    }
    series.push(']');

    // Dragging selects a window; the page turns it into a new URL (and so
    // a new query) instead of stretching the old points.
    format!(
        r#"{{"width":{width},"height":{height},"cursor":{{"drag":{{"x":true,"y":false,"setScale":false}},"points":{{"size":7}}}},"focus":{{"alpha":0.35}},"legend":{{"live":true}},"scales":{scales},"series":{series},"axes":{axes}}}"#
    )
}

/// The chart's height for a container `width` pixels wide: shorter on phones.
pub fn height_for(width: u32) -> u32 {
    (width / 2).clamp(220, 360)
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    fn spec(series: &[(&str, Unit)]) -> Spec {
        Spec {
            series: series.iter().map(|(n, u)| (n.to_string(), *u)).collect(),
        }
    }

    #[test]
    fn one_axis_per_unit_sides_alternate() {
        let s = spec(&[
            ("cpu_usage_percent", Unit::Percent),
            ("memory_used_bytes", Unit::Bytes),
            ("memory_used_percent", Unit::Percent),
        ]);
        assert_eq!(s.units(), [Unit::Percent, Unit::Bytes]);
        let o: Value = serde_json::from_str(&options(&s, 800, 300, &Theme::default())).unwrap();
        let axes = o["axes"].as_array().unwrap();
        assert_eq!(axes.len(), 3, "x and two value axes");
        assert_eq!(
            (axes[1]["scale"].as_str(), axes[1]["side"].as_u64()),
            (Some("percent"), Some(3))
        );
        assert_eq!(
            (axes[2]["scale"].as_str(), axes[2]["side"].as_u64()),
            (Some("bytes"), Some(1))
        );
        assert!(axes[2]["incrs"].is_array(), "bytes step in powers of two");
        assert_eq!(o["series"].as_array().unwrap().len(), 4, "x plus three series");
        assert_eq!(o["series"][3]["scale"], "percent");
        assert_eq!(o["scales"]["percent"]["range"]["max"]["hard"], 100);
        assert_eq!(o["cursor"]["drag"]["setScale"], false);
    }

    #[test]
    fn names_are_escaped_and_colors_cycle() {
        let theme = Theme {
            series: vec!["red".into(), "blue".into()],
            ..Theme::default()
        };
        let s = spec(&[("a\"b", Unit::Number), ("c", Unit::Number), ("d", Unit::Number)]);
        let back: Value = serde_json::from_str(&options(&s, 100, 100, &theme)).unwrap();
        assert_eq!(back["series"][1]["label"], "a\"b");
        assert_eq!(back["series"][3]["stroke"], "red");
        assert_eq!(quote("a\\b\n"), r#""a\\b\u000a""#);
    }

    #[test]
    fn phones_get_a_shorter_chart() {
        assert_eq!(height_for(320), 220);
        assert_eq!(height_for(600), 300);
        assert_eq!(height_for(1400), 360);
    }
}
