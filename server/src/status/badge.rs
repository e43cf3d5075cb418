//! Status badges: small SVG images in the "flat" style of shields.io, a
//! grey label on the left and a coloured message on the right, for a
//! README or a wiki to show a status page's state with a plain `<img>`.
//!
//! The SVG is written by hand: no font is at hand on the server, so text
//! widths come from a table of Verdana's advance widths at 11px (the font
//! badges are drawn in; DejaVu Sans is close), and each `<text>` carries
//! its estimated `textLength` so a viewer with another font still fits it
//! into its box. The colours keep white text at a contrast of 4.5:1 or
//! more (WCAG AA).

/// The message part's colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Tone {
    /// Up, or uptime at or above 99%: dark green.
    Good,
    /// Degraded, or uptime at or above 95%: dark amber.
    Warn,
    /// Down, or uptime below 95%: red.
    Bad,
    /// No data: slate grey.
    Unknown,
}

impl Tone {
    fn color(self) -> &'static str {
        match self {
            Tone::Good => "#1f7a3a",
            Tone::Warn => "#a15c00",
            Tone::Bad => "#c0392b",
            Tone::Unknown => "#5f6b73",
        }
    }
}

/// The label part's colour (white text on it: 7.5:1).
const LABEL_COLOR: &str = "#555555";
/// Longer label or message texts are cut to this many characters, the
/// last one an ellipsis.
const MAX_CHARS: usize = 64;
/// Space left and right of each text, px.
const PAD: u32 = 6;

/// Advance widths of Verdana at 11px for ' ' to '~', in tenths of a px.
const WIDTHS: [u8; 95] = [
    39, 43, 51, 90, 70, 118, 80, 30, 50, 50, 70, 90, 40, 50, 40, 50, // ' ' to '/'
    70, 70, 70, 70, 70, 70, 70, 70, 70, 70, // '0' to '9'
    50, 50, 90, 90, 90, 60, 110, // ':' to '@'
    75, 75, 77, 85, 70, 63, 85, 83, 46, 50, 76, 61, 93, // 'A' to 'M'
    82, 87, 66, 87, 77, 75, 68, 81, 75, 109, 75, 68, 75, // 'N' to 'Z'
    50, 50, 50, 90, 70, 70, // '[' to '`'
    66, 69, 57, 69, 66, 39, 69, 70, 30, 38, 65, 30, 107, // 'a' to 'm'
    70, 67, 69, 69, 47, 57, 43, 70, 65, 90, 65, 65, 58, // 'n' to 'z'
    70, 50, 70, 90, // '{' to '~'
];

/// The estimated width of `c` in tenths of a px: the table for ASCII,
/// a Latin-sized guess up to U+07FF, an em (CJK, emoji) above.
fn char_width(c: char) -> u32 {
    match c as u32 {
        code @ 0x20..=0x7e => u32::from(WIDTHS[(code - 0x20) as usize]),
        0..=0x7ff => 75,
        _ => 110,
    }
}

/// The estimated width of `text` in tenths of a px.
fn text_width(text: &str) -> u32 {
    text.chars().map(char_width).sum()
}

/// `text` as one line a badge can show: tabs and line breaks as spaces,
/// other control characters (not allowed in XML) dropped, and cut to
/// [`MAX_CHARS`] with an ellipsis.
fn clean(text: &str) -> String {
    let line = text
        .chars()
        .filter_map(|c| match c {
            '\t' | '\n' | '\r' => Some(' '),
            c if c.is_control() || c == '\u{fffe}' || c == '\u{ffff}' => None,
            c => Some(c),
        })
        .collect::<String>();
    if line.chars().count() <= MAX_CHARS {
        return line;
    }
    let mut cut = line.chars().take(MAX_CHARS - 1).collect::<String>();
    cut.push('…');
    cut
}

/// One part's text, shadow first, centred in a part `width` px wide
/// starting at `x` px; `text_w` is the text's width in tenths of a px.
fn text(x: u32, width: u32, text_w: u32, escaped: &str) -> String {
    let centre = f64::from(x) + f64::from(width) / 2.0;
    let length = f64::from(text_w) / 10.0;
    format!(
        r##"<text x="{centre:.1}" y="15" fill="#010101" fill-opacity=".3" textLength="{length:.1}">{escaped}</text><text x="{centre:.1}" y="14" textLength="{length:.1}">{escaped}</text>"##
    )
}

/// A flat badge, 20 px high: `label` on grey, `message` on `tone`'s colour.
/// Both are cut to 64 characters and escaped; the image is named
/// "LABEL: MESSAGE" for screen readers (`role="img"`, `aria-label`,
/// `<title>`).
pub(crate) fn svg(label: &str, message: &str, tone: Tone) -> String {
    let (label, message) = (clean(label), clean(message));
    let (label_tw, message_tw) = (text_width(&label), text_width(&message));
    let label_w = label_tw.div_ceil(10) + 2 * PAD;
    let message_w = message_tw.div_ceil(10) + 2 * PAD;
    let width = label_w + message_w;
    let (label, message) = (super::feed::xml(&label), super::feed::xml(&message));
    let name = format!("{label}: {message}");
    let color = tone.color();
    let label_text = text(0, label_w, label_tw, &label);
    let message_text = text(label_w, message_w, message_tw, &message);
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="20" role="img" aria-label="{name}"><title>{name}</title><linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" stop-opacity=".1"/><stop offset="1" stop-opacity=".1"/></linearGradient><clipPath id="r"><rect width="{width}" height="20" rx="3" fill="#fff"/></clipPath><g clip-path="url(#r)"><rect width="{label_w}" height="20" fill="{LABEL_COLOR}"/><rect x="{label_w}" width="{message_w}" height="20" fill="{color}"/><rect width="{width}" height="20" fill="url(#s)"/></g><g fill="#fff" text-anchor="middle" font-family="Verdana,DejaVu Sans,Geneva,sans-serif" text-rendering="geometricPrecision" font-size="11">{label_text}{message_text}</g></svg>"##
    )
}

/// The tone of an uptime percentage: at or above 99 good, at or above 95
/// a warning, below that bad; unknown without data (or for NaN).
pub(crate) fn tone_for_uptime(pct: Option<f64>) -> Tone {
    match pct {
        Some(p) if p >= 99.0 => Tone::Good,
        Some(p) if p >= 95.0 => Tone::Warn,
        Some(p) if !p.is_nan() => Tone::Bad,
        _ => Tone::Unknown,
    }
}

/// An uptime percentage for a badge: two decimals ("99.95%"), "100%" for
/// exactly 100, "no data" for `None` or NaN. Out-of-range values are
/// clamped to 0–100, and anything short of 100 shows as at most "99.99%",
/// never rounded up to a perfect score it did not reach.
pub(crate) fn percent(pct: Option<f64>) -> String {
    let Some(p) = pct.filter(|p| !p.is_nan()) else {
        return "no data".to_owned();
    };
    let p = p.clamp(0.0, 100.0);
    if p == 100.0 {
        "100%".to_owned()
    } else if p > 99.99 {
        "99.99%".to_owned()
    } else {
        format!("{p:.2}%")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn width(svg: &str) -> u32 {
        let rest = &svg[svg.find("width=\"").unwrap() + 7..];
        rest[..rest.find('"').unwrap()].parse().unwrap()
    }

    #[test]
    fn escapes_label_and_message() {
        let badge = svg("<script>&\"'", "</text><script>", Tone::Bad);
        assert!(!badge.contains("<script"), "{badge}");
        assert!(!badge.contains("</text><script"), "{badge}");
        assert!(badge.contains("&lt;script&gt;&amp;&quot;&#39;"), "{badge}");
    }

    #[test]
    fn width_grows_with_text() {
        let short = width(&svg("up", "ok", Tone::Good));
        assert!(short >= 4 * PAD);
        assert!(width(&svg("uptime", "ok", Tone::Good)) > short);
        assert!(width(&svg("up", "operational", Tone::Good)) > short);
        assert!(width(&svg("up", "WWWW", Tone::Good)) > width(&svg("up", "iiii", Tone::Good)));
    }

    #[test]
    fn long_and_odd_text_is_cut_and_cleaned() {
        let long = "x".repeat(500);
        let badge = svg(&long, "a\u{0}b\u{1b}c\nd", Tone::Unknown);
        assert!(badge.contains(&format!("{}…", "x".repeat(63))));
        assert!(!badge.contains(&"x".repeat(64)));
        assert!(badge.contains(">abc d<"), "{badge}");
        assert!(!badge.chars().any(|c| c.is_control()));
        assert!(width(&badge) < 600);
        assert!(svg("", "", Tone::Unknown).contains(r#"aria-label=": ""#));
        assert!(width(&svg("状態", "🟢", Tone::Good)) > width(&svg("a", "b", Tone::Good)));
    }

    #[test]
    fn names_the_image() {
        let badge = svg("uptime", "99.95%", Tone::Good);
        assert!(badge.starts_with(r#"<svg xmlns="http://www.w3.org/2000/svg" "#));
        assert!(badge.contains(r#"role="img" aria-label="uptime: 99.95%""#));
        assert!(badge.contains("<title>uptime: 99.95%</title>"));
        assert!(badge.contains(r#"height="20""#));
        assert!(badge.contains("#1f7a3a"));
        assert!(svg("a", "b", Tone::Bad).contains("#c0392b"));
    }

    #[test]
    fn colours_keep_white_text_readable() {
        fn luminance(hex: &str) -> f64 {
            let hex = hex.trim_start_matches('#');
            let channel = |i: usize| {
                let c = f64::from(u8::from_str_radix(&hex[i..i + 2], 16).unwrap()) / 255.0;
                if c <= 0.03928 {
                    c / 12.92
                } else {
                    ((c + 0.055) / 1.055).powf(2.4)
                }
            };
            0.2126 * channel(0) + 0.7152 * channel(2) + 0.0722 * channel(4)
        }
        let tones = [Tone::Good, Tone::Warn, Tone::Bad, Tone::Unknown];
        for color in tones.map(Tone::color).into_iter().chain([LABEL_COLOR]) {
            assert!(1.05 / (luminance(color) + 0.05) >= 4.5, "{color}");
        }
    }

    #[test]
    fn tone_thresholds() {
        assert_eq!(tone_for_uptime(Some(100.0)), Tone::Good);
        assert_eq!(tone_for_uptime(Some(99.0)), Tone::Good);
        assert_eq!(tone_for_uptime(Some(98.99)), Tone::Warn);
        assert_eq!(tone_for_uptime(Some(95.0)), Tone::Warn);
        assert_eq!(tone_for_uptime(Some(94.99)), Tone::Bad);
        assert_eq!(tone_for_uptime(Some(0.0)), Tone::Bad);
        assert_eq!(tone_for_uptime(None), Tone::Unknown);
        assert_eq!(tone_for_uptime(Some(f64::NAN)), Tone::Unknown);
    }

    #[test]
    fn percent_formatting() {
        assert_eq!(percent(Some(99.95)), "99.95%");
        assert_eq!(percent(Some(100.0)), "100%");
        assert_eq!(percent(None), "no data");
        assert_eq!(percent(Some(f64::NAN)), "no data");
        assert_eq!(percent(Some(99.999)), "99.99%");
        assert_eq!(percent(Some(99.994)), "99.99%");
        assert_eq!(percent(Some(50.0)), "50.00%");
        assert_eq!(percent(Some(0.0)), "0.00%");
        assert_eq!(percent(Some(-3.0)), "0.00%");
        assert_eq!(percent(Some(120.0)), "100%");
    }
}
