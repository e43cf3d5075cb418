//! A status page's incidents as an Atom 1.0 feed (RFC 4287), served next
//! to the page (`/status/SLUG.atom`) so people can follow a service's
//! incidents in a feed reader or a chat integration instead of polling
//! the page.
//!
//! One entry per published incident (drafts stay private), newest first,
//! its content every update as a paragraph of HTML. Everything taken from
//! incidents, the page's title and its slug is escaped, and characters
//! XML 1.0 does not allow are dropped, so no input can break the feed.

use app::status::{Incident, IncidentStatus};

/// At most this many incidents are listed.
const MAX_ENTRIES: usize = 50;

/// The Atom feed of the status page `slug` titled `title`, listing the
/// non-draft `incidents` (at most 50, newest first by their latest update).
/// `base` is the absolute origin the feed is served from, like
/// "https://status.example.com" (a trailing slash is ignored), or "" when
/// unknown: then links are relative paths and ids tag URIs. The feed's
/// `<updated>` is its newest incident's latest time, or `now` (Unix ms)
/// when it lists none.
pub(crate) fn atom(base: &str, slug: &str, title: &str, incidents: &[Incident], now: i64) -> String {
    let base = xml(base.trim_end_matches('/'));
    let slug = xml(&path_segment(slug));
    let page = format!("{base}/status/{slug}");
    let id = if base.is_empty() {
        format!("tag:vigil,2026:status/{slug}")
    } else {
        page.clone()
    };
    let title = xml(title);
    let mut shown: Vec<_> = incidents.iter().filter(|i| !i.draft).map(|i| (latest(i), i)).collect();
    shown.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.id.cmp(&a.1.id)));
    shown.truncate(MAX_ENTRIES);
    let updated = rfc3339(shown.first().map_or(now, |(ts, _)| *ts));
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n\
         <feed xmlns=\"http://www.w3.org/2005/Atom\">\n\
         <id>{id}</id>\n\
         <title>{title} status</title>\n\
         <updated>{updated}</updated>\n\
         <link rel=\"alternate\" type=\"text/html\" href=\"{page}\"/>\n\
         <link rel=\"self\" type=\"application/atom+xml\" href=\"{page}.atom\"/>\n\
         <author><name>{title}</name></author>\n"
    );
    for (ts, incident) in shown {
        let n = incident.id;
        let resolved = (incident.status == IncidentStatus::Resolved).then_some(" (Resolved)");
        out.push_str(&format!(
            "<entry>\n\
             <id>{id}#incident-{n}</id>\n\
             <title>{}{}</title>\n\
             <updated>{}</updated>\n\
             <published>{}</published>\n\
             <link rel=\"alternate\" type=\"text/html\" href=\"{page}#incident-{n}\"/>\n\
             <category term=\"{}\"/>\n\
             <content type=\"html\">{}</content>\n\
             </entry>\n",
            xml(&incident.title),
            resolved.unwrap_or_default(),
            rfc3339(ts),
            rfc3339(incident.created_at),
            incident.impact.as_str(),
            xml(&html(incident)),
        ));
    }
    out.push_str("</feed>\n");
    out
}

/// An incident's latest time: its newest update, its resolution or its
/// opening, whichever is last.
fn latest(incident: &Incident) -> i64 {
    let updates = incident.updates.iter().map(|u| u.ts);
    updates.chain(incident.resolved_at).fold(incident.created_at, i64::max)
}

/// An incident's updates as HTML, newest first: a paragraph each with the
/// status, the time and the body (escaped, line breaks kept). Without
/// updates, one paragraph with its status and opening time.
fn html(incident: &Incident) -> String {
    let mut updates = incident.updates.iter().rev().collect::<Vec<_>>();
    updates.sort_by_key(|u| std::cmp::Reverse(u.ts));
    if updates.is_empty() {
        let (status, opened) = (incident.status.label(), rfc3339(incident.created_at));
        return format!("<p><strong>{status}</strong> · {opened}</p>");
    }
    let mut out = String::new();
    for update in updates {
        let body = xml(&update.body.replace("\r\n", "\n").replace('\r', "\n")).replace('\n', "<br>");
        let (label, time) = (update.status.label(), rfc3339(update.ts));
        out.push_str(&format!("<p><strong>{label}</strong> · {time}<br>{body}</p>"));
    }
    out
}

/// Unix ms as RFC 3339 in UTC with whole seconds, `2026-12-07T04:05:06Z`;
/// times before 1970 or past jiff's last (9999-12-30T22:00:00Z) are
/// clamped to them.
fn rfc3339(ms: i64) -> String {
    let time = jiff::Timestamp::from_millisecond(ms.max(0)).unwrap_or(jiff::Timestamp::MAX);
    time.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// `text` without the characters XML 1.0 does not allow (controls other
/// than tab, LF and CR, and U+FFFE, U+FFFF), escaped for XML text and
/// attribute values (and HTML: `'` as `&#39;`). Badges use it too.
pub(super) fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if c.is_control() || c == '\u{fffe}' || c == '\u{ffff}' => {}
            c => out.push(c),
        }
    }
    out
}

/// `text` as one URL path segment: bytes other than RFC 3986's unreserved
/// characters percent-encoded.
fn path_segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::status::*;
    use IncidentStatus::*;

    const BASE: &str = "https://status.example.com";
    /// 2026-12-07T04:05:06Z.
    const T: i64 = 1_796_616_306_000;

    fn incident(id: i64, title: &str, created_at: i64, updates: &[(i64, IncidentStatus, &str)]) -> Incident {
        let updates = updates.iter().map(|&(ts, status, body)| IncidentUpdate {
            ts,
            status,
            body: body.into(),
        });
        let updates = updates.collect::<Vec<_>>();
        let last = updates.last();
        let (status, resolved_at) = (last.map_or(Investigating, |u| u.status), last.map(|u| u.ts));
        let resolved_at = resolved_at.filter(|_| status == Resolved);
        Incident {
            id,
            page: "main".into(),
            title: title.into(),
            impact: Impact::Major,
            status,
            draft: false,
            created_at,
            resolved_at,
            updates,
        }
    }

    #[test]
    fn leaves_drafts_out() {
        let mut draft = incident(2, "Secret draft", T + 5000, &[]);
        draft.draft = true;
        let feed = atom(BASE, "main", "Acme", &[incident(1, "Public", T, &[]), draft], T + 9000);
        assert!(feed.contains("<title>Public</title>"));
        assert!(!feed.contains("Secret draft"));
        assert!(!feed.contains("#incident-2"));
        assert_eq!(feed.matches("<entry>").count(), 1);
        // The feed's time is the published incident's, not the draft's or now.
        assert!(feed.contains("<updated>2026-12-07T04:05:06Z</updated>\n<link"));
    }

    #[test]
    fn newest_first_by_latest_update() {
        let old_but_updated = incident(1, "Old", T, &[(T, Investigating, "a"), (T + 60_000, Resolved, "b")]);
        let newer = incident(2, "Newer", T + 1000, &[(T + 1000, Identified, "c")]);
        let mut all = vec![newer, old_but_updated];
        all.extend((3..80).map(|id| incident(id, "Filler", T - 1000 * id, &[])));
        let feed = atom(BASE, "main", "Acme", &all, 0);
        assert!(feed.find("<title>Old (Resolved)</title>").unwrap() < feed.find("Newer").unwrap());
        assert!(feed.contains("<updated>2026-12-07T04:06:06Z</updated>"));
        assert!(feed.contains("<published>2026-12-07T04:05:06Z</published>"));
        assert_eq!(feed.matches("<entry>").count(), 50);
        // Updates newest first inside the entry.
        assert!(feed.find("Resolved&lt;/strong&gt;").unwrap() < feed.find("Investigating&lt;").unwrap());
    }

    #[test]
    fn escapes_title_and_body_twice() {
        let body = "a < b & c\n<script>alert(1)</script>";
        let one = incident(7, "<script>x</script> & co", T, &[(T, Identified, body)]);
        let feed = atom(BASE, "a&b", "<script>Acme & Co", &[one], T);
        assert!(!feed.contains("<script"), "{feed}");
        assert!(feed.contains("<title>&lt;script&gt;x&lt;/script&gt; &amp; co</title>"));
        assert!(feed.contains("<title>&lt;script&gt;Acme &amp; Co status</title>"));
        assert!(feed.contains("a &amp;lt; b &amp;amp; c&lt;br&gt;&amp;lt;script&amp;gt;"));
        let html = "&lt;p&gt;&lt;strong&gt;Identified&lt;/strong&gt; · 2026-12-07T04:05:06Z&lt;br&gt;a &amp;lt; b";
        assert!(feed.contains(html));
        assert!(feed.contains("<id>https://status.example.com/status/a%26b#incident-7</id>"));
        assert!(feed.contains("<category term=\"major\"/>"));
    }

    #[test]
    fn strips_control_characters() {
        let one = incident(1, "bad\u{0}ti\u{1b}tle\u{7}", T, &[(T, Monitoring, "x\u{8}y\u{ffff}")]);
        let feed = atom(BASE, "main", "Ac\u{1}me", &[one], T);
        assert!(feed.contains("<title>badtitle</title>"));
        assert!(feed.contains("<title>Acme status</title>"));
        assert!(feed.contains("&lt;br&gt;xy&lt;/p&gt;"));
        assert!(!feed.chars().any(|c| (c.is_control() && c != '\n') || c == '\u{ffff}'));
    }

    #[test]
    fn empty_feed_uses_now() {
        let feed = atom(BASE, "main", "Acme", &[], T);
        let head = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\">";
        assert!(feed.starts_with(head));
        assert!(feed.contains("<updated>2026-12-07T04:05:06Z</updated>"));
        assert!(!feed.contains("<entry>"));
        assert!(feed.trim_end().ends_with("</feed>"));
    }

    #[test]
    fn links_are_absolute_with_a_base_and_relative_without() {
        let one = [incident(3, "x", T, &[])];
        let feed = atom("https://status.example.com/", "main", "Acme", &one, T);
        assert!(feed.contains("<id>https://status.example.com/status/main</id>"));
        assert!(feed.contains("rel=\"alternate\" type=\"text/html\" href=\"https://status.example.com/status/main\"/>"));
        assert!(feed.contains("href=\"https://status.example.com/status/main.atom\"/>"));
        assert!(feed.contains("href=\"https://status.example.com/status/main#incident-3\"/>"));
        let feed = atom("", "main", "Acme", &one, T);
        assert!(feed.contains("<id>tag:vigil,2026:status/main</id>"));
        assert!(feed.contains("<id>tag:vigil,2026:status/main#incident-3</id>"));
        assert!(feed.contains("type=\"text/html\" href=\"/status/main\"/>"));
        assert!(feed.contains("href=\"/status/main.atom\"/>"));
        assert!(feed.contains("href=\"/status/main#incident-3\"/>"));
        assert!(!feed.contains("https:"));
    }

    #[test]
    fn odd_times_are_clamped() {
        let one = incident(1, "x", i64::MIN, &[(i64::MAX, Resolved, "")]);
        let feed = atom("", "main", "Acme", &[one], i64::MIN);
        assert!(feed.contains("<published>1970-01-01T00:00:00Z</published>"));
        assert!(feed.contains("<updated>9999-12-30T22:00:00Z</updated>"));
    }
}
