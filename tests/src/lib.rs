//! Shared helpers for djcheck's integration tests. The tests call the CLI in memory
//! through [`djcheck`], the one function that touches its API; the conformance suites
//! share the Django virtualenv ([`conformance_python`]) and the throwaway PostgreSQL
//! server ([`postgres`]).

// Test support: it reads the output of the programs it runs (tool output, not project
// files), where a lone CR never separates lines.
#![allow(clippy::disallowed_methods)]

pub mod fuzzing;

use std::path::{Path, PathBuf};

/// A scratch folder in the system temp folder, `djcheck-<name>-<random>` (made by
/// [`tempfile`], whose random suffix keeps concurrent tests and runs apart), removed with
/// what it holds when dropped: when the test ends, pass or fail (a failed assertion
/// unwinds). Keep it in a named variable while the folder is used. It derefs to its
/// [`Path`], so it goes wherever a `&Path` does.
#[derive(Debug)]
pub struct TempDir(tempfile::TempDir);

impl TempDir {
    /// Makes the folder. Panics on failure: a test cannot go on without it.
    pub fn new(name: &str) -> TempDir {
        match tempfile::Builder::new()
            .prefix(&format!("djcheck-{name}-"))
            .tempdir()
        {
            Ok(dir) => TempDir(dir),
            Err(e) => panic!("cannot create a scratch folder for {name}: {e}"),
        }
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        self.0.path()
    }
}

impl std::ops::Deref for TempDir {
    type Target = Path;
    fn deref(&self) -> &Path {
        self.0.path()
    }
}

impl AsRef<Path> for TempDir {
    fn as_ref(&self) -> &Path {
        self.0.path()
    }
}

impl AsRef<std::ffi::OsStr> for TempDir {
    fn as_ref(&self) -> &std::ffi::OsStr {
        self.0.path().as_os_str()
    }
}

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// Copies a folder tree (a fixture) to `to`, leaving out `__pycache__` folders. Panics on
/// failure: a test cannot go on without its copy.
pub fn copy_tree(from: &Path, to: &Path) {
    if let Err(e) = std::fs::create_dir_all(to) {
        panic!("cannot create {}: {e}", to.display());
    }
    let entries = match std::fs::read_dir(from) {
        Ok(e) => e,
        Err(e) => panic!("cannot list {}: {e}", from.display()),
    };
    for e in entries.flatten() {
        let (path, name) = (e.path(), e.file_name());
        if name == "__pycache__" {
            continue;
        }
        let target = to.join(&name);
        if path.is_dir() {
            copy_tree(&path, &target);
        } else if let Err(e) = std::fs::copy(&path, &target) {
            panic!("cannot copy {}: {e}", path.display());
        }
    }
}

/// Runs `djcheck ARGS` with `cwd` as working directory: `(exit code, stdout, stderr)`.
/// `djcheck check` runs without the cache (the fixtures stay as they are in the
/// repository) unless the arguments name it (`--cache-dir`, `--no-cache`).
pub fn djcheck(args: &[&str], cwd: &Path) -> (i32, String, String) {
    djcheck_cli::run_captured(&uncached(args), cwd, "")
}

/// Like [`djcheck`] with text on standard input.
pub fn djcheck_stdin(args: &[&str], cwd: &Path, stdin: &str) -> (i32, String, String) {
    djcheck_cli::run_captured(&uncached(args), cwd, stdin)
}

fn uncached<'a>(args: &[&'a str]) -> Vec<&'a str> {
    let mut out = args.to_vec();
    if args.first() == Some(&"check")
        && !args
            .iter()
            .any(|a| a.starts_with("--cache-dir") || *a == "--no-cache")
    {
        out.insert(1, "--no-cache");
    }
    out
}

/// The kinds of fixture project a rule folder holds: one that fires the rule, one that
/// must stay silent, and (for the deploy-safety rules) one that stays silent because the
/// table is new in the deploy.
pub const FIXTURE_KINDS: &[&str] = &["fires", "silent", "silent-new-table"];

/// Every fixture project: `fixtures/<family>/<CODE>_<name>/{fires,silent,...}`, sorted.
pub fn fixture_projects() -> Vec<PathBuf> {
    let mut out = Vec::new();
    let root = workspace_root().join("fixtures");
    let Ok(families) = std::fs::read_dir(&root) else {
        return out;
    };
    for fam in families.flatten() {
        let Ok(rules) = std::fs::read_dir(fam.path()) else {
            continue;
        };
        for rule in rules.flatten() {
            for kind in FIXTURE_KINDS {
                let p = rule.path().join(kind);
                if p.is_dir() {
                    out.push(p);
                }
            }
        }
    }
    out.sort();
    out
}

/// A fixture about a change (`before/` and `after/` trees, run with `--base`): it is not
/// a project by itself.
pub fn is_change_fixture(dir: &Path) -> bool {
    dir.join("after").is_dir()
}

/// The workspace's target folder (`CARGO_TARGET_DIR` when set).
pub fn target_dir() -> PathBuf {
    let root = workspace_root();
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(t) if !t.is_empty() => root.join(t),
        _ => root.join("target"),
    }
}

/// The conformance virtualenv with Django 5.2 (`tests/conformance/setup_venv.sh`, which
/// takes the locks the other conformance tests take): its python, or why it failed.
pub fn conformance_python() -> Result<PathBuf, String> {
    let conf = target_dir().join("conformance");
    let script = workspace_root().join("tests/conformance/setup_venv.sh");
    let out = std::process::Command::new("bash")
        .arg(&script)
        .arg(&conf)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| format!("cannot run bash {}: {e}", script.display()))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let python = stdout
        .lines()
        .find_map(|l| l.strip_prefix("python="))
        .map(PathBuf::from);
    match python {
        Some(py) if out.status.success() && py.exists() => Ok(py),
        _ => Err(format!(
            "conformance setup failed (it needs PyPI to install Django 5.2 into {}).\n\
             status: {}\nstdout:\n{stdout}\nstderr:\n{}",
            conf.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )),
    }
}

/// A throwaway PostgreSQL server for the tests that need the real database.
pub mod postgres {
    use std::path::{Path, PathBuf};
    use std::process::{Command, Stdio};

    /// Where the PostgreSQL programs are: `initdb` on PATH, or Debian's
    /// `/usr/lib/postgresql/<version>/bin`.
    pub fn bin_dir() -> Option<PathBuf> {
        if let Ok(out) = Command::new("sh")
            .args(["-c", "command -v initdb"])
            .output()
        {
            let p = String::from_utf8_lossy(&out.stdout).trim().to_owned();
            if !p.is_empty() {
                let p = std::fs::canonicalize(&p).unwrap_or_else(|_| PathBuf::from(&p));
                return p.parent().map(Path::to_path_buf);
            }
        }
        let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .flatten()
            .map(|e| e.path().join("bin"))
            .filter(|b| b.join("initdb").exists())
            .collect();
        found.sort();
        found.pop()
    }

    /// A PostgreSQL server on a loopback port, in a temporary folder (`initdb`,
    /// `pg_ctl`); stopped and removed on drop.
    pub struct Server {
        pub bin: PathBuf,
        pub dir: PathBuf,
        pub port: u16,
        /// Run the server programs as `postgres`: initdb refuses to run as root.
        as_postgres: bool,
    }

    impl Server {
        /// A server program (`initdb`, `pg_ctl`), run as `postgres` when we are root.
        pub fn command(&self, program: &str) -> Command {
            let mut c = if self.as_postgres {
                let mut c = Command::new("runuser");
                c.args(["-u", "postgres", "--"]).arg(self.bin.join(program));
                c
            } else {
                Command::new(self.bin.join(program))
            };
            c.stdin(Stdio::null());
            c
        }

        /// `psql` (from the server's folder, else PATH).
        pub fn psql(&self) -> Command {
            let psql = if self.bin.join("psql").exists() {
                self.bin.join("psql")
            } else {
                PathBuf::from("psql")
            };
            Command::new(psql)
        }

        /// A libpq connection string for database `postgres` as user `postgres`.
        pub fn dsn(&self) -> String {
            format!(
                "host=127.0.0.1 port={} user=postgres dbname=postgres",
                self.port
            )
        }

        /// Starts a server; `tag` names its temporary folder.
        pub fn start(tag: &str) -> Result<Server, String> {
            let bin = bin_dir().ok_or("initdb not found (apt-get install postgresql to run it)")?;
            let uid = Command::new("id")
                .arg("-u")
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
                .unwrap_or_default();
            let dir = std::env::temp_dir().join(format!("djcheck-{tag}-pg-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .map_err(|e| e.to_string())?
                .port();
            let server = Server {
                bin,
                dir,
                port,
                as_postgres: uid == "0",
            };
            if server.as_postgres {
                let ok = Command::new("chown")
                    .arg("postgres:")
                    .arg(&server.dir)
                    .status()
                    .is_ok_and(|s| s.success());
                if !ok {
                    return Err(
                        "running as root and cannot hand the data folder to the `postgres` user"
                            .into(),
                    );
                }
            }
            let data = server.dir.join("data");
            let out = server
                .command("initdb")
                .args([
                    "-A",
                    "trust",
                    "-U",
                    "postgres",
                    "-E",
                    "UTF8",
                    "--no-sync",
                    "-D",
                ])
                .arg(&data)
                .output()
                .map_err(|e| format!("initdb: {e}"))?;
            if !out.status.success() {
                return Err(format!(
                    "initdb failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                ));
            }
            let opts = format!(
                "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off \
                 -c synchronous_commit=off",
                server.port,
                server.dir.display()
            );
            let out = server
                .command("pg_ctl")
                .args(["-w", "-t", "60", "-D"])
                .arg(&data)
                .arg("-l")
                .arg(server.dir.join("log"))
                .args(["-o", &opts, "start"])
                .output()
                .map_err(|e| format!("pg_ctl: {e}"))?;
            if !out.status.success() {
                return Err(format!(
                    "pg_ctl start failed: {}{}",
                    String::from_utf8_lossy(&out.stderr),
                    std::fs::read_to_string(server.dir.join("log")).unwrap_or_default()
                ));
            }
            Ok(server)
        }
    }

    impl Drop for Server {
        fn drop(&mut self) {
            let _ = self
                .command("pg_ctl")
                .args(["-m", "immediate", "-D"])
                .arg(self.dir.join("data"))
                .arg("stop")
                .output();
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    /// psycopg2 in the conformance virtualenv, installed under the venv lock the other
    /// conformance tests take when it is missing.
    pub fn ensure_psycopg2(python: &Path) -> Result<(), String> {
        let has = || {
            Command::new(python)
                .args(["-c", "import psycopg2"])
                .stdin(Stdio::null())
                .output()
                .is_ok_and(|o| o.status.success())
        };
        if has() {
            return Ok(());
        }
        let conf = super::target_dir().join("conformance");
        std::fs::create_dir_all(&conf).map_err(|e| e.to_string())?;
        let lock = std::fs::File::create(conf.join(".venv.lock")).map_err(|e| e.to_string())?;
        lock.lock().map_err(|e| e.to_string())?;
        if has() {
            return Ok(());
        }
        let out = Command::new(python)
            .args([
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                "--quiet",
                "psycopg2-binary",
            ])
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run pip: {e}"))?;
        if out.status.success() && has() {
            Ok(())
        } else {
            Err(format!(
                "`pip install psycopg2-binary` failed (is PyPI reachable?): {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        }
    }
}

/// SQL fixtures whose SQL writes into tables Django's own operations create (a model's
/// table, a many-to-many table): their SQL cannot run alone, so `sql_postgres` leaves
/// them out and `auth_conformance` runs them through Django's `migrate`, applied,
/// unapplied and applied again, on SQLite and PostgreSQL.
pub const SQL_FIXTURES_RUN_BY_MIGRATE: &[&str] = &[
    "SQL004_insert-without-conflict-handling-django-tables",
    "SQL005_irreversible-runsql-empty-reverse",
];

/// Whether a fixture project is one of [`SQL_FIXTURES_RUN_BY_MIGRATE`].
pub fn run_by_migrate(dir: &Path) -> bool {
    dir.parent()
        .and_then(Path::file_name)
        .is_some_and(|n| SQL_FIXTURES_RUN_BY_MIGRATE.iter().any(|f| n == *f))
}

/// Says on the terminal what a slow test is doing, while it runs: written straight to
/// standard error, past the test harness's capture (which shows `println!` output only
/// after a test ends, and only when it fails).
pub fn progress(test: &str, what: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{test}: {what}");
}
