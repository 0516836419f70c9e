//! The only place djcheck reads files. Every problem becomes a [`ReadProblem`], never a
//! panic or an early return for the whole run.

use djcheck_python::{decode_owned, DecodeProblem, Limits};
use std::io::Read;
use std::path::Path;

/// Why a file could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadProblem {
    Io(String),
    /// A FIFO, socket, device or folder: opening one may block forever (a FIFO waits for
    /// a writer) or read without end (a device), so it is refused before it is read.
    NotRegular(&'static str),
    TooLarge {
        size: u64,
        limit: u64,
    },
    /// Not usable as text; `lossy` is the text with bad bytes replaced, for display only.
    Decode(DecodeProblem, String),
}

impl std::fmt::Display for ReadProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadProblem::Io(e) => write!(f, "cannot read file: {e}"),
            ReadProblem::NotRegular(kind) => write!(f, "not a regular file ({kind})"),
            ReadProblem::TooLarge { size, limit } => write!(
                f,
                "file is {size} bytes, larger than the {limit}-byte limit"
            ),
            ReadProblem::Decode(d, _) => write!(f, "file is not valid source text: {d}"),
        }
    }
}

/// What a file that is not a regular file is, for messages.
fn kind_of(t: std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "a named pipe";
        }
        if t.is_socket() {
            return "a socket";
        }
        if t.is_char_device() || t.is_block_device() {
            return "a device";
        }
    }
    if t.is_dir() {
        "a folder"
    } else {
        "a special file"
    }
}

/// Refuses anything but a regular file, following symbolic links, without opening it.
pub fn check_regular(path: &Path) -> Result<(), ReadProblem> {
    let meta = std::fs::metadata(path).map_err(|e| ReadProblem::Io(e.to_string()))?;
    if meta.is_file() {
        Ok(())
    } else {
        Err(ReadProblem::NotRegular(kind_of(meta.file_type())))
    }
}

/// Opens a file for reading. On Unix, without blocking: opening a FIFO (or a device
/// waiting for a writer) returns at once, and the caller refuses it by what it opened.
/// Elsewhere, what is not a regular file is refused before opening.
#[cfg(unix)]
fn open_without_blocking(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
}

#[cfg(not(unix))]
fn open_without_blocking(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::File::open(path)
}

/// Reads a file as text, refusing files over the size limit before reading them whole,
/// and anything that is not a regular file before reading it.
pub fn read_text(path: &Path, limits: &Limits) -> Result<String, ReadProblem> {
    #[cfg(not(unix))]
    check_regular(path)?;
    let file = match open_without_blocking(path) {
        Ok(f) => f,
        // Not opened: say what the path is when it is no file (a socket), else why.
        Err(e) => {
            check_regular(path)?;
            return Err(ReadProblem::Io(e.to_string()));
        }
    };
    let meta = file
        .metadata()
        .map_err(|e| ReadProblem::Io(e.to_string()))?;
    // Replaced between the check and the open: check what was opened.
    if !meta.is_file() {
        return Err(ReadProblem::NotRegular(kind_of(meta.file_type())));
    }
    let size = meta.len();
    if size > limits.max_file_bytes {
        return Err(ReadProblem::TooLarge {
            size,
            limit: limits.max_file_bytes,
        });
    }
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    // `take` guards against files that grow while being read.
    file.take(limits.max_file_bytes + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| ReadProblem::Io(e.to_string()))?;
    if bytes.len() as u64 > limits.max_file_bytes {
        return Err(ReadProblem::TooLarge {
            size: bytes.len() as u64,
            limit: limits.max_file_bytes,
        });
    }
    decode_owned(bytes)
        .map_err(|(d, bytes)| ReadProblem::Decode(d, String::from_utf8_lossy(&bytes).into_owned()))
}

/// Reads a small file whose failure is not worth a diagnostic (e.g. a virtualenv's
/// metadata). Returns `None` on any problem.
pub fn read_optional(path: &Path) -> Option<String> {
    read_text(path, &Limits::default()).ok()
}

/// Reads a file's bytes, up to `limit` bytes (`None` when larger or unreadable): for
/// comparing the working tree with a git revision.
pub fn read_bytes(path: &Path, limit: u64) -> Option<Vec<u8>> {
    // Checked before opening: opening a FIFO would block.
    let meta = std::fs::metadata(path).ok()?;
    if !meta.is_file() || meta.len() > limit {
        return None;
    }
    let file = std::fs::File::open(path).ok()?;
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.take(limit + 1).read_to_end(&mut bytes).ok()?;
    (bytes.len() as u64 <= limit).then_some(bytes)
}

/// The target of a symbolic link, as the bytes git stores for it.
pub fn link_target(path: &Path) -> Option<Vec<u8>> {
    let t = std::fs::read_link(path).ok()?;
    Some(t.to_string_lossy().into_owned().into_bytes())
}
