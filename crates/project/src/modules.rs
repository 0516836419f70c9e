//! Dotted module names to project files, the way Python's import system finds them
//! from the folders a Django project is run from.

use std::collections::BTreeSet;

/// Resolves dotted names against the project's source roots.
#[derive(Debug, Clone, Default)]
pub struct Modules {
    /// Source roots, relative, `""` for the project root; most likely first.
    pub roots: Vec<String>,
}

impl Modules {
    /// Source roots: folders holding `manage.py` (Django runs from there), then the
    /// project root, then `src/`.
    pub fn new(py_files: &BTreeSet<String>) -> Self {
        let mut roots: Vec<String> = Vec::new();
        let mut manage_dirs: Vec<String> = py_files
            .iter()
            .filter_map(|p| {
                if p == "manage.py" {
                    Some(String::new())
                } else {
                    p.strip_suffix("/manage.py").map(str::to_owned)
                }
            })
            .collect();
        // Shallowest first: a project's own manage.py before one in a nested example.
        manage_dirs.sort_by_key(|d| {
            (
                d.matches('/').count() + usize::from(!d.is_empty()),
                d.clone(),
            )
        });
        for d in manage_dirs {
            if !roots.contains(&d) {
                roots.push(d);
            }
        }
        for d in ["", "src"] {
            if !roots.iter().any(|r| r == d) {
                roots.push(d.to_owned());
            }
        }
        Modules { roots }
    }

    /// The file of module `dotted` (`pkg/mod.py` or `pkg/mod/__init__.py`).
    pub fn resolve(&self, py_files: &BTreeSet<String>, dotted: &str) -> Option<String> {
        self.resolve_where(dotted, |path| py_files.contains(path))
    }

    /// [`Modules::resolve`] with the project's files given by `exists` (true for the
    /// paths of the files).
    pub fn resolve_where(&self, dotted: &str, exists: impl Fn(&str) -> bool) -> Option<String> {
        if dotted.is_empty() || dotted.split('.').any(|p| p.is_empty()) {
            return None;
        }
        // One buffer for every candidate path: most names asked for are not modules
        // (attributes of a module are tried as submodules first).
        let longest_root = self.roots.iter().map(String::len).max().unwrap_or(0);
        let mut cand = String::with_capacity(longest_root + dotted.len() + "//__init__.py".len());
        for root in &self.roots {
            cand.clear();
            if !root.is_empty() {
                cand.push_str(root);
                cand.push('/');
            }
            let base = cand.len() + dotted.len();
            cand.extend(dotted.chars().map(|c| if c == '.' { '/' } else { c }));
            cand.push_str(".py");
            if exists(&cand) {
                return Some(cand);
            }
            cand.truncate(base);
            cand.push_str("/__init__.py");
            if exists(&cand) {
                return Some(cand);
            }
        }
        None
    }

    /// The folder of package `dotted`, if the project has it.
    pub fn resolve_package_dir(&self, py_files: &BTreeSet<String>, dotted: &str) -> Option<String> {
        let f = self.resolve(py_files, dotted)?;
        f.strip_suffix("/__init__.py").map(str::to_owned)
    }

    /// The dotted module name of a project file, relative to the first root containing it.
    pub fn module_name(&self, path: &str) -> Option<String> {
        for root in &self.roots {
            let rest = if root.is_empty() {
                Some(path)
            } else {
                path.strip_prefix(root.as_str())
                    .and_then(|r| r.strip_prefix('/'))
            };
            if let Some(rest) = rest {
                let rest = rest.strip_suffix(".py")?;
                let rest = rest.strip_suffix("/__init__").unwrap_or(rest);
                if rest == "__init__" {
                    return None;
                }
                return Some(rest.replace('/', "."));
            }
        }
        None
    }

    /// Resolves a `from . import` style module name relative to `current` (a dotted
    /// module name) with `level` leading dots. `is_package` says whether `current` is a
    /// package's `__init__`.
    pub fn absolute(
        current: &str,
        is_package: bool,
        level: u32,
        module: Option<&str>,
    ) -> Option<String> {
        if level == 0 {
            return module.map(str::to_owned);
        }
        let mut parts: Vec<&str> = current.split('.').collect();
        if !is_package {
            parts.pop();
        }
        for _ in 1..level {
            parts.pop()?;
        }
        let mut base = parts.join(".");
        if let Some(m) = module {
            if !base.is_empty() {
                base.push('.');
            }
            base.push_str(m);
        }
        if base.is_empty() {
            None
        } else {
            Some(base)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_imports() {
        assert_eq!(
            Modules::absolute("proj.settings.dev", false, 1, Some("base")).as_deref(),
            Some("proj.settings.base")
        );
        assert_eq!(
            Modules::absolute("proj.settings", true, 1, Some("base")).as_deref(),
            Some("proj.settings.base")
        );
        assert_eq!(
            Modules::absolute("proj.settings.dev", false, 2, Some("x")).as_deref(),
            Some("proj.x")
        );
    }

    #[test]
    fn resolve_in_roots() {
        let files: BTreeSet<String> = [
            "app/manage.py",
            "app/proj/settings.py",
            "app/proj/__init__.py",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let m = Modules::new(&files);
        assert_eq!(
            m.resolve(&files, "proj.settings").as_deref(),
            Some("app/proj/settings.py")
        );
        assert_eq!(
            m.module_name("app/proj/settings.py").as_deref(),
            Some("proj.settings")
        );
    }

    /// `resolve` as it was written first: every candidate path formatted apart.
    fn resolve_by_format(m: &Modules, py_files: &BTreeSet<String>, dotted: &str) -> Option<String> {
        if dotted.is_empty() || dotted.split('.').any(|p| p.is_empty()) {
            return None;
        }
        let rel = dotted.replace('.', "/");
        for root in &m.roots {
            let base = if root.is_empty() {
                rel.clone()
            } else {
                format!("{root}/{rel}")
            };
            for cand in [format!("{base}.py"), format!("{base}/__init__.py")] {
                if py_files.contains(&cand) {
                    return Some(cand);
                }
            }
        }
        None
    }

    #[test]
    fn resolve_finds_what_formatted_paths_find() {
        let files: BTreeSet<String> = [
            "manage.py",
            "site/manage.py",
            "site/proj/__init__.py",
            "site/proj/settings.py",
            "proj/__init__.py",
            "proj/urls.py",
            "src/lib/__init__.py",
            "src/lib/ünï/__init__.py",
            "src/lib/ünï/mod.py",
            "pkg/__init__.py",
            "pkg/pkg.py",
            "pkg/sub/__init__.py",
            "x.py",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let m = Modules::new(&files);
        assert_eq!(m.roots, ["", "site", "src"]);
        for dotted in [
            "proj",
            "proj.settings",
            "proj.urls",
            "proj.views",
            "lib",
            "lib.ünï",
            "lib.ünï.mod",
            "lib.ünï.mod.Class",
            "pkg",
            "pkg.pkg",
            "pkg.sub",
            "pkg.sub.x",
            "x",
            "x.y",
            "",
            ".",
            "proj.",
            ".proj",
            "proj..urls",
            "manage",
        ] {
            assert_eq!(
                m.resolve(&files, dotted),
                resolve_by_format(&m, &files, dotted),
                "{dotted:?}"
            );
        }
        assert_eq!(
            m.resolve(&files, "lib.ünï.mod").as_deref(),
            Some("src/lib/ünï/mod.py")
        );
        assert_eq!(
            m.resolve(&files, "proj.settings").as_deref(),
            Some("site/proj/settings.py")
        );
    }
}
