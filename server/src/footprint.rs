//! Giving back the memory only start-up needed.
//!
//! Most of an idle Vigil's resident memory is not what it allocates (a
//! few MB) but pages of its own executable: start-up runs code from all
//! over the 20-odd MB code segment (the config, SQLite's schema, TLS, the
//! route tree, the first render) and the kernel maps 64 KB around every
//! page it faults in, so most of the binary stays resident though an idle
//! server runs a small part of it. [`release_code_pages`] asks the kernel
//! to reclaim the executable's read-only pages (`MADV_PAGEOUT`); the ones
//! the server still runs come back on their next use, from the page cache,
//! and the rest stay out until something needs them.

use std::io;

/// Pages of the executable's read-only mappings (code and constants) are
/// handed back to the kernel; returns how many bytes were advised. Linux
/// 5.4 or later; elsewhere, or on an older kernel, an error that costs
/// nothing (the pages simply stay).
pub fn release_code_pages() -> io::Result<usize> {
    #[cfg(target_os = "linux")]
    {
        linux::release()
    }
    #[cfg(not(target_os = "linux"))]
    {
        Err(io::Error::new(io::ErrorKind::Unsupported, "only on Linux"))
    }
}

#[cfg(target_os = "linux")]
mod linux {
    use std::io;
    use std::os::unix::fs::MetadataExt;

    /// One line of `/proc/self/maps`: its range, whether it is writable,
    /// and the inode of the file it maps.
    #[derive(Debug, PartialEq, Eq)]
    pub(super) struct Mapping {
        pub(super) start: usize,
        pub(super) end: usize,
        pub(super) writable: bool,
        pub(super) inode: u64,
    }

    /// Parses one line: `start-end perms offset dev inode [path]`.
    pub(super) fn parse(line: &str) -> Option<Mapping> {
        let mut fields = line.split_ascii_whitespace();
        let (start, end) = fields.next()?.split_once('-')?;
        let perms = fields.next()?;
        let _offset = fields.next()?;
        let _dev = fields.next()?;
        let inode = fields.next()?.parse().ok()?;
        Some(Mapping {
            start: usize::from_str_radix(start, 16).ok()?,
            end: usize::from_str_radix(end, 16).ok()?,
            writable: perms.as_bytes().get(1) == Some(&b'w'),
            inode,
        })
    }

    /// The read-only mappings of the running executable's file.
    pub(super) fn executable_mappings() -> io::Result<Vec<Mapping>> {
        let exe = std::fs::metadata("/proc/self/exe")?;
        let maps = std::fs::read_to_string("/proc/self/maps")?;
        Ok(maps
            .lines()
            .filter_map(parse)
            .filter(|m| m.inode == exe.ino() && !m.writable && m.end > m.start)
            .collect())
    }

    pub(super) fn release() -> io::Result<usize> {
        let mut advised = 0;
        for m in executable_mappings()? {
            let len = m.end - m.start;
            // SAFETY: the range is a whole mapping of this process, read
            // from /proc/self/maps; MADV_PAGEOUT only reclaims its pages
            // (read-only and file-backed: they are read back on use) and
            // never changes what the memory holds.
            let rc = unsafe { libc::madvise(m.start as *mut libc::c_void, len, libc::MADV_PAGEOUT) };
            if rc != 0 {
                return Err(io::Error::last_os_error());
            }
            advised += len;
        }
        Ok(advised)
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::linux::{executable_mappings, parse, Mapping};
    use super::*;

    #[test]
    fn maps_lines_parse() {
        let line = "5603739bd000-560374ff1000 r-xp 00d05000 fe:00 5451580    /srv/vigil";
        assert_eq!(
            parse(line),
            Some(Mapping {
                start: 0x5603739bd000,
                end: 0x560374ff1000,
                writable: false,
                inode: 5451580,
            })
        );
        let anon = "7f4bfe6b1000-7f4bfe6b3000 rw-p 00000000 00:00 0";
        assert!(parse(anon).unwrap().writable);
        assert_eq!(parse("garbage"), None);
    }

    /// Resident kB of the executable's read-only mappings.
    fn resident_kb() -> u64 {
        let ranges: Vec<(usize, usize)> = executable_mappings()
            .unwrap()
            .iter()
            .map(|m| (m.start, m.end))
            .collect();
        let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
        let mut ours = false;
        let mut kb = 0;
        for line in smaps.lines() {
            if let Some(m) = parse(line) {
                ours = ranges.contains(&(m.start, m.end));
            } else if let Some(rss) = line.strip_prefix("Rss:") {
                if ours {
                    kb += rss.trim().trim_end_matches("kB").trim().parse::<u64>().unwrap();
                }
            }
        }
        kb
    }

    #[test]
    fn the_executables_pages_are_handed_back() {
        let before = resident_kb();
        assert!(before > 0, "the test binary's code is resident");
        let advised = release_code_pages().expect("MADV_PAGEOUT works on this kernel");
        assert!(advised > 0);
        let after = resident_kb();
        assert!(after < before / 2, "resident {before} kB before, {after} kB after");
    }
}
