//! Command-line arguments (clap).

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// `djcheck --version`: the version and, when known, the commit it was built from:
/// `djcheck 0.1.0 (3f2a9c1d0 2025-12-05)` (set by `build.rs`).
pub const VERSION: &str = env!("DJCHECK_VERSION");

#[derive(Debug, Parser)]
#[command(name = "djcheck", version = VERSION, about = "Static analyzer for Django projects: migrations, URLs, settings", long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

// Parsed once per run: the size of the largest variant costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Analyse a project (the nearest enclosing project root of PATHS).
    Check(CheckArgs),
    /// Print a rule's documentation.
    Rule {
        /// Rule code, e.g. MIG001.
        code: String,
    },
    /// List every rule.
    Rules {
        #[arg(long, value_enum, default_value_t = ListFormat::Text)]
        format: ListFormat,
    },
    /// Print what djcheck understood of the project: the settings module and where each
    /// setting came from, installed apps, migrations, the URL tree, and what it could not
    /// analyse.
    Project(ProjectArgs),
    /// Run the language server on standard input and output (diagnostics, fixes as code
    /// actions, rule documentation on hover).
    Server(ServerArgs),
}

#[derive(Debug, Args)]
pub struct ServerArgs {
    /// Read options from this file instead of each project's.
    #[arg(long, conflicts_with = "no_config")]
    pub config: Option<PathBuf>,
    /// Ignore config files.
    #[arg(long)]
    pub no_config: bool,
}

#[derive(Debug, Args)]
pub struct ProjectArgs {
    /// A folder or file of the project (default: the current folder).
    pub path: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = ProjectFormat::Text)]
    pub format: ProjectFormat,
    /// Read options from this file instead of the project's.
    #[arg(long, conflicts_with = "no_config")]
    pub config: Option<PathBuf>,
    /// Ignore config files.
    #[arg(long)]
    pub no_config: bool,
    /// Settings module (dotted) or file.
    #[arg(long)]
    pub settings: Option<String>,
    /// The custom user model, `app_label.ModelName`.
    #[arg(long)]
    pub auth_user_model: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    Text,
    Json,
    /// Every rule's documentation in one page (`docs/rules.md`).
    Markdown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProjectFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// rustc-style diagnostics and a summary line.
    Text,
    /// djcheck's JSON schema (`version`, `diagnostics`, `summary`).
    Json,
    /// SARIF 2.1.0, for code scanning.
    Sarif,
    /// GitHub Actions workflow commands: annotations on a pull request.
    Github,
    /// GitLab Code Quality JSON.
    Gitlab,
    /// One Markdown report, for a pull request comment or a CI step summary.
    Markdown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    Error,
    Warning,
    Info,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Files or folders to report on; the whole project is analysed. `-` reads the file
    /// named by --stdin-filename from standard input.
    pub paths: Vec<PathBuf>,
    /// Rule codes or prefixes to run (default: the rules marked "on" in docs/rules.md;
    /// `ALL` runs every rule).
    #[arg(long, value_delimiter = ',')]
    pub select: Option<Vec<String>>,
    /// Rule codes or prefixes to skip.
    #[arg(long, value_delimiter = ',')]
    pub ignore: Vec<String>,
    /// Rule codes or prefixes to run in addition to --select.
    #[arg(long, value_delimiter = ',')]
    pub extend_select: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
    /// Lowest severity that makes the exit code 1 [default: warning].
    #[arg(long, value_enum)]
    pub fail_on: Option<FailOn>,
    /// Exit 0 even when there are findings.
    #[arg(long)]
    pub exit_zero: bool,
    /// The path of the buffer given on standard input (with `-`).
    #[arg(long)]
    pub stdin_filename: Option<PathBuf>,
    /// Read options from this file instead of the project's.
    #[arg(long, conflicts_with = "no_config")]
    pub config: Option<PathBuf>,
    /// Ignore config files.
    #[arg(long)]
    pub no_config: bool,
    /// Settings module (dotted) or file.
    #[arg(long)]
    pub settings: Option<String>,
    /// The custom user model, `app_label.ModelName`.
    #[arg(long)]
    pub auth_user_model: Option<String>,
    /// Print counts per rule after the diagnostics.
    #[arg(long)]
    pub statistics: bool,
    /// Print diagnostics only: no summary line.
    #[arg(long, short)]
    pub quiet: bool,
    /// Worker threads (default: one per core).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Neither read nor write the cache (`.djcheck_cache/`: per-file results and the last
    /// run's result).
    #[arg(long, conflicts_with = "cache_dir")]
    pub no_cache: bool,
    /// The cache folder [default: `cache-dir` from the config, else `.djcheck_cache` in
    /// the project root].
    #[arg(long, value_name = "PATH")]
    pub cache_dir: Option<PathBuf>,
    /// Compare with this git revision (branch, tag or commit), from where the current
    /// branch forked from it (their merge-base): report migrations renamed or deleted
    /// since (MIG004), and only diagnostics in files changed since. Without it, in a git
    /// repository, migrations renamed or deleted since `HEAD` are reported.
    #[arg(long, value_name = "REF", conflicts_with = "no_base")]
    pub base: Option<String>,
    /// Do not compare with git at all (not even with `HEAD`).
    #[arg(long)]
    pub no_base: bool,
    /// Report only on the files given; with none given, only what lies in no file (a
    /// migration deleted since `HEAD`). For hooks that pass the changed files, such as
    /// pre-commit, which passes none when a commit only deletes files.
    #[arg(long)]
    pub files_only: bool,
    /// Write the report to this file instead of standard output (the summary line goes to
    /// standard error).
    #[arg(long, value_name = "PATH")]
    pub output_file: Option<PathBuf>,
    /// Hide the findings listed in this baseline file (see --write-baseline); entries
    /// that no longer match a finding are reported at info (SUP003).
    #[arg(long, value_name = "PATH", conflicts_with = "write_baseline")]
    pub baseline: Option<PathBuf>,
    /// Write every current finding to a baseline file (default: `baseline` from the
    /// config, else djcheck-baseline.json in the project root) and exit 0.
    #[arg(
        long,
        value_name = "PATH",
        num_args = 0..=1,
        conflicts_with_all = ["base", "stdin_filename"]
    )]
    pub write_baseline: Option<Option<PathBuf>>,
    /// Apply the safe fixes, check again, and report what is left. Files are written
    /// only with this flag (with `-`, the fixed buffer goes to standard output).
    #[arg(long, conflicts_with = "write_baseline")]
    pub fix: bool,
    /// Also apply unsafe fixes (they change what the code means: `RunPython.noop`,
    /// repointed dependencies, `replaces`, merge migrations). With --fix or --diff.
    #[arg(long)]
    pub unsafe_fixes: bool,
    /// Print the fixes as a unified diff and change nothing; exit 1 when there is one.
    #[arg(long, conflicts_with_all = ["write_baseline", "fix"])]
    pub diff: bool,
    /// List the fixes applied (with --fix), or the fixes available.
    #[arg(long)]
    pub show_fixes: bool,
}
