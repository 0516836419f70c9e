//! Third-party apps installed in the project's virtualenv: their migration names, read
//! from file names only (their code is neither parsed nor reported on).

use crate::fs::read_optional;
use std::collections::BTreeMap;
use std::path::Path;
use walkdir::WalkDir;

/// Label to sorted migration names, for every package in the virtualenvs' site-packages
/// that has a `migrations` package.
pub fn scan(root: &Path, venvs: &[std::path::PathBuf]) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for v in venvs {
        for sp in site_packages(&root.join(v)) {
            for entry in WalkDir::new(&sp)
                .max_depth(5)
                .sort_by_file_name()
                .into_iter()
                .filter_entry(|e| {
                    let n = e.file_name().to_string_lossy();
                    !(n.ends_with(".dist-info")
                        || n == "__pycache__"
                        || n == "tests"
                        || n.starts_with('.'))
                })
                .flatten()
            {
                if !entry.file_type().is_dir() || entry.file_name() != "migrations" {
                    continue;
                }
                let dir = entry.path();
                if !dir.join("__init__.py").is_file() {
                    continue;
                }
                let Some(app_dir) = dir.parent() else {
                    continue;
                };
                let label = label_from_apps_py(&app_dir.join("apps.py")).or_else(|| {
                    app_dir
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                });
                let Some(label) = label else { continue };
                let mut names: Vec<String> = std::fs::read_dir(dir)
                    .into_iter()
                    .flatten()
                    .flatten()
                    .filter_map(|f| {
                        let n = f.file_name().to_string_lossy().into_owned();
                        let stem = n.strip_suffix(".py")?;
                        (!stem.starts_with('_') && !stem.starts_with('~')).then(|| stem.to_owned())
                    })
                    .collect();
                names.sort();
                out.entry(label).or_default().extend(names);
            }
        }
    }
    for names in out.values_mut() {
        names.sort();
        names.dedup();
    }
    out
}

fn site_packages(venv: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for lib in ["lib", "lib64", "Lib"] {
        let l = venv.join(lib);
        if lib == "Lib" {
            let sp = l.join("site-packages");
            if sp.is_dir() {
                out.push(sp);
            }
            continue;
        }
        let Ok(rd) = std::fs::read_dir(&l) else {
            continue;
        };
        let mut dirs: Vec<_> = rd.flatten().map(|e| e.path()).collect();
        dirs.sort();
        for d in dirs {
            let sp = d.join("site-packages");
            if sp.is_dir() && !out.contains(&sp) {
                out.push(sp);
            }
        }
    }
    out
}

/// `label = "x"` in an installed app's apps.py, found without parsing (installed code is
/// never reported on, and a cheap look is enough for the label).
pub(crate) fn label_from_apps_py(path: &Path) -> Option<String> {
    let text = read_optional(path)?;
    label_in_text(&text)
}

/// The `label = "x"` line of an apps.py text.
pub(crate) fn label_in_text(text: &str) -> Option<String> {
    for line in text.split('\n') {
        let t = line.trim();
        if let Some(rest) = t.strip_prefix("label") {
            let rest = rest.trim_start();
            if let Some(rest) = rest.strip_prefix('=') {
                let v = rest.trim().trim_end_matches(';');
                let q = v.chars().next()?;
                if q == '"' || q == '\'' {
                    let inner = &v[1..];
                    if let Some(end) = inner.find(q) {
                        return Some(inner[..end].to_owned());
                    }
                }
            }
        }
    }
    None
}
