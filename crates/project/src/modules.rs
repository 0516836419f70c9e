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
        if dotted.is_empty() || dotted.split('.').any(|p| p.is_empty()) {
            return None;
        }
        let rel = dotted.replace('.', "/");
        for root in &self.roots {
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
}
