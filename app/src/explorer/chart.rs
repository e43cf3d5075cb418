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

/// One series on the chart: its line, and whether it has a min-max band.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    pub name: String,
    pub unit: Unit,
    /// Its points are buckets of several samples: the chart shades the
    /// range from each bucket's min to its max around the average line, so
    /// a short peak stays visible however wide the buckets are.
    pub band: bool,
}

/// What a chart is built for: its series, in order, with their units. A
/// chart is rebuilt when this changes, and only given new data otherwise.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Spec {
    pub lines: Vec<Line>,
}

/// The class of the min and max series of a band: uPlot puts it on their
/// legend rows and cursor points, which the chart's style hides.
pub const BAND_EDGE: &str = "band-edge";

impl Spec {
    /// The value axes: one per unit, in order of first use.
    pub fn units(&self) -> Vec<Unit> {
        let mut units: Vec<Unit> = Vec::new();
        for line in &self.lines {
            if !units.contains(&line.unit) {
                units.push(line.unit);
            }
        }
        units
    }

    /// uPlot's series (and data columns): time, then each line's
    /// average, min and max.
    pub fn columns(&self) -> usize {
        1 + self.lines.iter().map(|l| if l.band { 3 } else { 1 }).sum::<usize>()
    }

    /// uPlot's series index of each line's average (its min and max
    /// follow it when it has a band); index 0 is time.
    pub fn series_index(&self) -> Vec<u32> {
        let mut next = 1;
        self.lines
            .iter()
            .map(|line| {
                let i = next;
                next += if line.band { 3 } else { 1 };
                i
            })
            .collect()
    }
}

/// `color` at about 20 % opacity, for a band's fill: `#rrggbb` (or
/// `#rgb`) gains an alpha; other forms are kept as they are.
pub fn faint(color: &str) -> String {
    let hex = color
        .strip_prefix('#')
        .filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit()));
    match hex {
        Some(h) if h.len() == 6 => format!("#{h}33"),
        Some(h) if h.len() == 3 => format!("#{h}3"),
        _ => color.to_string(),
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

/// Stroke widths in CSS pixels: a line, and a band's min and max edges.
pub const LINE_WIDTH: f64 = 1.5;
pub const EDGE_WIDTH: f64 = 1.0;

/// The stroke width of uPlot's series `index` (1 and up) for `spec`:
/// `dense` (more points than the plot has device pixel columns) draws
/// every line one device pixel wide (`1 / dpr`). A dense line zigzags
/// within each pixel column; stroked wider, the canvas rasterizes it in
/// software many times slower (measured: 100,000 points in 2 lines, 34 ms
/// at 1.5 px against 2.4 ms as hairlines), and it looks no different.
pub fn stroke_width(spec: &Spec, index: u32, dense: bool, dpr: f64) -> f64 {
    if dense {
        return 1.0 / dpr.max(1.0);
    }
    if spec.series_index().contains(&index) {
        LINE_WIDTH
    } else {
        EDGE_WIDTH
    }
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
    let mut bands = String::from("[");
    for ((i, line), index) in spec.lines.iter().enumerate().zip(spec.series_index()) {
        let color = theme
            .series
            .get(i % theme.series.len().max(1))
            .map_or("#888", String::as_str);
        let scale = quote(scale_key(line.unit));
        let _ = write!(
            series,
            // uPlot shows point markers by itself where points are sparse
            // (a fresh store, a deep zoom), so lone points stay visible.
            r#",{{"label":{},"scale":{scale},"stroke":{},"width":{LINE_WIDTH},"spanGaps":false}}"#,
            quote(&line.name),
            quote(color)
        );
        if line.band {
            let faint = quote(&faint(color));
            for edge in ["min", "max"] {
                let _ = write!(
                    series,
                    r#",{{"label":{},"scale":{scale},"stroke":{faint},"width":{EDGE_WIDTH},"spanGaps":false,"class":"{BAND_EDGE}","points":{{"show":false}}}}"#,
                    quote(&format!("{} {edge}", line.name)),
                );
            }
            if bands.len() > 1 {
                bands.push(',');
            }
            // Filled from the max line (index + 2) down to the min line.
            let _ = write!(bands, r#"{{"series":[{},{}],"fill":{faint}}}"#, index + 2, index + 1);
        }
    }
    series.push(']');
    bands.push(']');

    // Dragging selects a window; the page turns it into a new URL (and so
    // a new query) instead of stretching the old points.
    format!(
        r#"{{"width":{width},"height":{height},"cursor":{{"drag":{{"x":true,"y":false,"setScale":false}},"points":{{"size":7}}}},"focus":{{"alpha":0.35}},"legend":{{"live":true}},"scales":{scales},"series":{series},"bands":{bands},"axes":{axes}}}"#
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

    fn spec(lines: &[(&str, Unit, bool)]) -> Spec {
        Spec {
            lines: lines
                .iter()
                .map(|(n, u, band)| Line {
                    name: n.to_string(),
                    unit: *u,
                    band: *band,
                })
                .collect(),
        }
    }

    #[test]
    fn one_axis_per_unit_sides_alternate() {
        let s = spec(&[
            ("cpu_usage_percent", Unit::Percent, false),
            ("memory_used_bytes", Unit::Bytes, false),
            ("memory_used_percent", Unit::Percent, false),
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
        assert_eq!(o["bands"], serde_json::json!([]));
        assert_eq!(o["scales"]["percent"]["range"]["max"]["hard"], 100);
        assert_eq!(o["cursor"]["drag"]["setScale"], false);
    }

    #[test]
    fn dense_lines_are_hairlines_and_sparse_ones_keep_their_widths() {
        let s = spec(&[("a", Unit::Percent, true), ("b", Unit::Bytes, false)]);
        // Series: 1 a, 2 a min, 3 a max, 4 b.
        let widths = |dense, dpr| (1..=4).map(|i| stroke_width(&s, i, dense, dpr)).collect::<Vec<_>>();
        assert_eq!(widths(false, 2.0), [LINE_WIDTH, EDGE_WIDTH, EDGE_WIDTH, LINE_WIDTH]);
        assert_eq!(widths(true, 1.0), [1.0; 4]);
        assert_eq!(widths(true, 2.0), [0.5; 4], "one device pixel");
        assert_eq!(widths(true, 0.0), [1.0; 4], "no ratio known: one CSS pixel");
    }

    #[test]
    fn buckets_get_a_band_between_hidden_min_and_max_series() {
        let s = spec(&[
            ("cpu", Unit::Percent, true),
            ("mem", Unit::Percent, false),
            ("load", Unit::Number, true),
        ]);
        assert_eq!(s.series_index(), [1, 4, 5]);
        assert_eq!(s.columns(), 8);
        let theme = Theme {
            series: vec!["#2563eb".into(), "#d97706".into(), "#059669".into()],
            ..Theme::default()
        };
        let o: Value = serde_json::from_str(&options(&s, 800, 300, &theme)).unwrap();
        let series = o["series"].as_array().unwrap();
        let labels: Vec<&str> = series.iter().map(|s| s["label"].as_str().unwrap()).collect();
        assert_eq!(
            labels,
            ["Time", "cpu", "cpu min", "cpu max", "mem", "load", "load min", "load max"]
        );
        for edge in [2, 3, 6, 7] {
            assert_eq!(series[edge]["class"], BAND_EDGE, "hidden from the legend");
        }
        assert_eq!(series[7]["scale"], "number");
        assert_eq!(
            o["bands"],
            serde_json::json!([
                {"series": [3, 2], "fill": "#2563eb33"},
                {"series": [7, 6], "fill": "#05966933"},
            ])
        );
    }

    #[test]
    fn names_are_escaped_and_colors_cycle() {
        let theme = Theme {
            series: vec!["red".into(), "blue".into()],
            ..Theme::default()
        };
        let s = spec(&[
            ("a\"b", Unit::Number, false),
            ("c", Unit::Number, false),
            ("d", Unit::Number, false),
        ]);
        let back: Value = serde_json::from_str(&options(&s, 100, 100, &theme)).unwrap();
        assert_eq!(back["series"][1]["label"], "a\"b");
        assert_eq!(back["series"][3]["stroke"], "red");
        assert_eq!(quote("a\\b\n"), r#""a\\b\u000a""#);
    }

    #[test]
    fn faint_colors() {
        assert_eq!(faint("#2563eb"), "#2563eb33");
        assert_eq!(faint("#abc"), "#abc3");
        assert_eq!(faint("rgb(1, 2, 3)"), "rgb(1, 2, 3)");
    }

    #[test]
    fn phones_get_a_shorter_chart() {
        assert_eq!(height_for(320), 220);
        assert_eq!(height_for(600), 300);
        assert_eq!(height_for(1400), 360);
    }
}
