//! One cache entry on disk: a header naming what it holds, then the data; written to a
//! temporary name and renamed; read back only when the header and the CRC-32 agree.

use std::fs::{self, File};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::SystemTime;

use crate::source::Body;

const MAGIC: &[u8; 8] = b"ctqcache";
const VERSION: u8 = 1;

/// FNV-1a, 64 bits, over the names with a 0xff between them (no name holds one in UTF-8).
pub(super) fn fnv1a(names: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (i, name) in names.iter().enumerate() {
        if i > 0 {
            h ^= 0xff;
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        for b in *name {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

/// The header: magic, version, each name as a u32 length and its bytes, then the length and the
/// CRC-32 of the data that follows.
fn header(names: &[&[u8]], len: u64, crc: u32) -> Vec<u8> {
    let mut h = Vec::with_capacity(64);
    h.extend_from_slice(MAGIC);
    h.push(VERSION);
    h.push(names.len() as u8);
    for n in names {
        h.extend_from_slice(&(n.len() as u32).to_le_bytes());
        h.extend_from_slice(n);
    }
    h.extend_from_slice(&len.to_le_bytes());
    h.extend_from_slice(&crc.to_le_bytes());
    h
}

/// Write an entry: to a temporary name in the same folder, then renamed over `path`.
pub(super) fn write_entry(path: &Path, names: &[&[u8]], data: &mut dyn Read) -> io::Result<()> {
    let dir = path.parent().expect("entries are in a folder");
    fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(
        ".tmp-{}-{}",
        std::process::id(),
        NEXT_TMP.fetch_add(1, Relaxed)
    ));
    let result = (|| {
        let mut f = File::create(&tmp)?;
        // The header's length and CRC are known only at the end: write a placeholder first.
        let placeholder = header(names, 0, 0);
        f.write_all(&placeholder)?;
        let mut crc = flate2::Crc::new();
        let mut buf = vec![0u8; 64 << 10];
        let mut len = 0u64;
        loop {
            let n = match data.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            crc.update(&buf[..n]);
            f.write_all(&buf[..n])?;
            len += n as u64;
        }
        f.seek(SeekFrom::Start(0))?;
        f.write_all(&header(names, len, crc.sum()))?;
        drop(f);
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

static NEXT_TMP: AtomicU64 = AtomicU64::new(0);

/// Read an entry: None when it is missing or names something else; an error (the reason) when
/// it is damaged. The data comes in memory up to `in_memory` bytes, else as the open file
/// positioned at the data. Returns the body and the data's length.
pub(super) fn read_entry(
    path: &Path,
    names: &[&[u8]],
    in_memory: u64,
) -> Result<Option<(Body, u64)>, String> {
    let Ok(mut f) = File::open(path) else {
        return Ok(None);
    };
    let file_len = f.metadata().map_err(|e| e.to_string())?.len();
    let expect_names = header(names, 0, 0);
    let head_len = expect_names.len() as u64;
    let mut head = vec![0u8; expect_names.len()];
    if file_len < head_len || f.read_exact(&mut head).is_err() {
        return Err("shorter than its header".into());
    }
    if head[..8] != MAGIC[..] || head[8] != VERSION {
        return Err("not a ctq cache entry of this version".into());
    }
    // The names, compared without the length and CRC at the end.
    let names_end = expect_names.len() - 12;
    if head[..names_end] != expect_names[..names_end] {
        return Ok(None);
    }
    let len = u64::from_le_bytes(head[names_end..names_end + 8].try_into().unwrap());
    let crc = u32::from_le_bytes(head[names_end + 8..].try_into().unwrap());
    if file_len - head_len != len {
        return Err(format!(
            "truncated: {} bytes of data where its header says {len}",
            file_len - head_len
        ));
    }
    let mut sum = flate2::Crc::new();
    if len <= in_memory {
        let mut data = Vec::with_capacity(len as usize);
        (&mut f)
            .take(len)
            .read_to_end(&mut data)
            .map_err(|e| e.to_string())?;
        sum.update(&data);
        if sum.sum() != crc {
            return Err("its CRC-32 does not match: the bytes changed on disk".into());
        }
        return Ok(Some((Body::Memory(data), len)));
    }
    let mut buf = vec![0u8; 256 << 10];
    loop {
        let n = f.read(&mut buf).map_err(|e| e.to_string())?;
        if n == 0 {
            break;
        }
        sum.update(&buf[..n]);
    }
    if sum.sum() != crc {
        return Err("its CRC-32 does not match: the bytes changed on disk".into());
    }
    f.seek(SeekFrom::Start(head_len))
        .map_err(|e| e.to_string())?;
    Ok(Some((Body::Spooled(f, len), len)))
}

/// Mark an entry as just used (its modification time), for the least-recently-used eviction.
pub(super) fn touch(path: &Path) {
    if let Ok(f) = File::options().append(true).open(path) {
        let _ = f.set_modified(SystemTime::now());
    }
}

/// Calls `f` on every file two levels under each kind of entry in `dir`, nothing deeper.
pub(super) fn each_file(dir: &Path, mut f: impl FnMut(&fs::DirEntry)) {
    for kind in ["objects", "listings"] {
        let Ok(shards) = fs::read_dir(dir.join(kind)) else {
            continue;
        };
        for shard in shards.flatten() {
            let Ok(files) = fs::read_dir(shard.path()) else {
                continue;
            };
            files.flatten().for_each(|file| f(&file));
        }
    }
}

/// Every entry under `dir`: path, size, last use (not the temporary files being written).
pub(super) fn entries(dir: &Path) -> Vec<(PathBuf, u64, SystemTime)> {
    let mut out = Vec::new();
    each_file(dir, |f| {
        if f.file_name().as_encoded_bytes().starts_with(b".tmp-") {
            return;
        }
        if let Ok(m) = f.metadata()
            && m.is_file()
        {
            out.push((
                f.path(),
                m.len(),
                m.modified().unwrap_or(SystemTime::UNIX_EPOCH),
            ));
        }
    });
    out
}
