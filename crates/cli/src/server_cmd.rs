//! `djcheck server`: the language server, with the project's configuration read the way
//! `djcheck check` reads it.

use crate::check::{
    cache_options, check_config_codes, compile_per_file_ignores, find_root, load_config,
    load_options, MODEL_CHANGES,
};
use crate::registry;
use djcheck_config::Options;
use djcheck_diagnostics::Severity;
use djcheck_linter::{RunOptions, Selection};
use djcheck_server::{Configured, Host};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

struct CliHost {
    config: Option<PathBuf>,
    no_config: bool,
}

impl Host for CliHost {
    fn root_of(&self, path: &Path) -> PathBuf {
        find_root(path)
    }

    fn configure(&self, root: &Path) -> Result<Configured, String> {
        let config = load_config(root, self.no_config, self.config.as_deref())?;
        let cfg: Options = config
            .as_ref()
            .map(|c| c.options.clone())
            .unwrap_or_default();
        let all = registry::all_rules();
        let codes: Vec<&'static str> = all.iter().map(|r| r.meta().code).collect();
        if let Some(loaded) = &config {
            check_config_codes(loaded, &codes)?;
        }
        let selection = Selection {
            select: cfg.select.clone(),
            extend_select: cfg.extend_select.clone().unwrap_or_default(),
            ignore: cfg.ignore.clone().unwrap_or_default(),
        };
        let mut severity = BTreeMap::new();
        for (code, s) in cfg.severity.clone().unwrap_or_default() {
            if let (Some(r), Some(sev)) = (registry::find(&code), Severity::parse(&s)) {
                severity.insert(r.meta().code.to_owned(), sev);
            }
        }
        let mut load = load_options(root, &cfg, None, None);
        load.base = djcheck_project::git::Base::known(djcheck_project::git::head_memo(root));
        // Kept for the next check, which re-reads only the migrations edited since.
        load.reusable = true;
        let per_file = compile_per_file_ignores(config.as_ref())?;
        // As in `check`: secret detectors always run, for what they mask elsewhere.
        let runs = |r: &&'static dyn djcheck_linter::Rule| {
            selection.runs(r.meta().code, r.meta().on_by_default)
        };
        let (rules, maskers): (Vec<_>, Vec<_>) = all
            .into_iter()
            .filter(|r| runs(r) || r.finds_secrets())
            .partition(|r| runs(r));
        // As in `check`: models.py is read only for the rule comparing it with the
        // migrations, and the per-file cache is the one `check` writes.
        load.skip_models = !rules
            .iter()
            .any(|r: &&'static dyn djcheck_linter::Rule| r.meta().code == MODEL_CHANGES);
        let dir = match &cfg.cache_dir {
            Some(d) => root.join(d),
            None => root.join(".djcheck_cache"),
        };
        // Never a folder made where there is no project (a document of a folder that
        // does not exist).
        if root.is_dir() {
            load.cache = Some(cache_options(dir, &rules, &maskers));
        }
        Ok(Configured {
            opts: RunOptions {
                load,
                rules,
                maskers,
                severity,
                threads: None,
                known_codes: codes,
                // The server keeps the project model: never a reused, reduced one.
                reuse: false,
            },
            ignored: Box::new(move |path: &str, code: &str| {
                per_file.iter().any(|(g, codes)| {
                    g.is_match(path) && codes.iter().any(|c| code.starts_with(c.as_str()))
                })
            }),
        })
    }

    fn rule_doc(&self, code: &str) -> Option<(&'static str, String)> {
        registry::find(code).map(|r| (r.meta().name, r.meta().doc_text()))
    }
}

pub(crate) fn server(a: &crate::args::ServerArgs, cwd: &Path) -> i32 {
    let abs = |p: &Path| {
        if p.is_absolute() {
            p.to_owned()
        } else {
            cwd.join(p)
        }
    };
    let host = CliHost {
        config: a.config.as_deref().map(abs),
        no_config: a.no_config,
    };
    // Requests parse files on this thread (code actions) and drop their syntax trees,
    // which are walked recursively: it gets the analysis threads' stack.
    let serve = move || djcheck_server::serve(&host);
    match std::thread::Builder::new()
        .name("djcheck-server".to_owned())
        .stack_size(djcheck_linter::STACK_SIZE)
        .spawn(serve)
    {
        Ok(h) => h.join().unwrap_or(1),
        Err(e) => {
            eprintln!("djcheck server: cannot start: {e}");
            1
        }
    }
}
