//! The cache folder as a whole: `ctq cache info` and `ctq cache clear`, and where `--cache`
//! puts it by default.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::entry::{each_file, entries};

/// `ctq cache …`: the folder is --cache=DIR, else CTQ_CACHE, else the default one.
#[derive(Debug, Clone, Copy, clap::Subcommand)]
pub enum CacheCommand {
    /// Where the cache is, how many objects and listings it holds, and their size
    Info,
    /// Remove every entry of the cache
    Clear,
}

/// What `ctq cache info` says about a cache folder.
pub struct Info {
    pub objects: u64,
    pub listings: u64,
    pub bytes: u64,
    pub oldest: Option<SystemTime>,
    pub newest: Option<SystemTime>,
}

pub fn info(dir: &Path) -> Info {
    let all = entries(dir);
    let listings = dir.join("listings");
    let n_listings = all.iter().filter(|e| e.0.starts_with(&listings)).count() as u64;
    Info {
        objects: all.len() as u64 - n_listings,
        listings: n_listings,
        bytes: all.iter().map(|e| e.1).sum(),
        oldest: all.iter().map(|e| e.2).min(),
        newest: all.iter().map(|e| e.2).max(),
    }
}

/// Remove every entry of the cache in `dir` (and the temporary files of runs that died):
/// the entries it removed and their bytes. Only the cache's own folders are touched.
pub fn clear(dir: &Path) -> io::Result<(u64, u64)> {
    let (mut n, mut bytes) = (0, 0);
    each_file(dir, |f| {
        let size = f.metadata().map(|m| m.len()).unwrap_or(0);
        if fs::remove_file(f.path()).is_ok() {
            n += 1;
            bytes += size;
        }
    });
    Ok((n, bytes))
}

/// Where `--cache` with no folder keeps it: `$XDG_CACHE_HOME/ctq`, else `~/.cache/ctq` (on
/// macOS `~/Library/Caches/ctq`).
pub fn default_dir() -> Option<PathBuf> {
    if let Some(x) = std::env::var_os("XDG_CACHE_HOME").filter(|x| !x.is_empty()) {
        return Some(PathBuf::from(x).join("ctq"));
    }
    let home = PathBuf::from(std::env::var_os("HOME").filter(|h| !h.is_empty())?);
    Some(if cfg!(target_os = "macos") {
        home.join("Library/Caches/ctq")
    } else {
        home.join(".cache/ctq")
    })
}

/// `ctq cache info` and `ctq cache clear`, on stdout.
pub fn command(what: CacheCommand, dir: &std::path::Path) -> anyhow::Result<crate::exit::Outcome> {
    use std::fmt::Write as _;
    let mut out = String::new();
    let dir_text = dir.display().to_string();
    let shown = crate::escape::escape_control(&dir_text);
    match what {
        CacheCommand::Info => {
            let i = info(dir);
            let when = |t: Option<std::time::SystemTime>| {
                t.and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                    .map_or("-".to_string(), |d| {
                        crate::time::format_time(d.as_micros() as crate::time::Micros)
                    })
            };
            let _ = writeln!(out, "folder: {shown}");
            let _ = writeln!(out, "objects: {}", i.objects);
            let _ = writeln!(out, "listings: {}", i.listings);
            let _ = writeln!(
                out,
                "size: {} ({})",
                i.bytes,
                crate::progress::human_bytes(i.bytes)
            );
            let _ = writeln!(out, "least recently used: {}", when(i.oldest));
            let _ = writeln!(out, "most recently used: {}", when(i.newest));
        }
        CacheCommand::Clear => {
            let (n, bytes) = clear(dir)?;
            let _ = writeln!(
                out,
                "removed {n} entries ({}) from {shown}",
                crate::progress::human_bytes(bytes)
            );
        }
    }
    crate::render::print_text(out.as_bytes(), "the cache's summary")?;
    Ok(crate::exit::Outcome::default())
}
