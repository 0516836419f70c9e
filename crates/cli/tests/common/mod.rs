//! Helpers shared by the integration tests that declare `mod common;`.

use std::path::{Path, PathBuf};

/// A scratch folder, `<temp>/djcheck-<name>-<pid>` (the process id keeps concurrent runs
/// apart), empty when made and removed with what it holds when dropped: when the test
/// ends, pass or fail (a failed assertion unwinds).
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    /// Makes the folder, first removing what an earlier test of this process left there.
    pub fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("djcheck-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        if let Err(e) = std::fs::create_dir_all(&dir) {
            panic!("cannot create {}: {e}", dir.display());
        }
        TempDir(dir)
    }
}

impl std::ops::Deref for TempDir {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<Path> for TempDir {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
