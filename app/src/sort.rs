//! Tables sorted through the URL (`?sort=COLUMN&dir=asc|desc`), so a
//! sorted view can be shared, reloaded and used without JavaScript. Each
//! table names its columns; reading the order, a click on a header and the
//! `dir` word are the same for all of them.

/// A column a table sorts by.
pub trait Column: Copy + Eq + 'static {
    /// Every column, for parsing.
    const ALL: &'static [Self];
    /// Its name in the URL.
    fn as_str(self) -> &'static str;
    /// The first direction a click on it sorts in.
    fn default_desc(self) -> bool;

    fn parse(s: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|k| k.as_str() == s)
    }
}

/// The column and direction the URL asks for; `default` when it names
/// none (or junk), in that column's own direction unless `dir` says.
pub fn read<K: Column>(get: &impl Fn(&str) -> Option<String>, default: K) -> (K, bool) {
    let sort = get("sort").as_deref().and_then(K::parse).unwrap_or(default);
    let desc = match get("dir").as_deref() {
        Some("asc") => false,
        Some("desc") => true,
        _ => sort.default_desc(),
    };
    (sort, desc)
}

/// The direction after a click on `key`'s header while sorted by `sort`:
/// the current column flips, another starts in its own direction.
pub fn clicked<K: Column>(sort: K, desc: bool, key: K) -> bool {
    if key == sort {
        !desc
    } else {
        key.default_desc()
    }
}

/// The `dir` word of a direction.
pub fn dir(desc: bool) -> &'static str {
    if desc {
        "desc"
    } else {
        "asc"
    }
}

/// The `aria-sort` of `key`'s header while sorted by `sort`.
pub fn aria<K: Column>(sort: K, desc: bool, key: K) -> &'static str {
    match (sort == key, desc) {
        (false, _) => "none",
        (true, true) => "descending",
        (true, false) => "ascending",
    }
}
