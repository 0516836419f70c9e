//! A language server's re-check after edits to migrations ([`djcheck_linter::recheck`])
//! gives what a whole run gives: on every fixture project, chains of edits to its
//! migrations (a comment, operations added, SQL changed in place, a syntax error, the
//! dependencies dropped, the file as it was) are checked both ways and compared, down to
//! the graph and the model state.

use djcheck_linter::{RunOptions, RunResult};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn options(root: &Path, overrides: &BTreeMap<String, String>) -> RunOptions {
    let all = djcheck_cli::registry::all_rules();
    let known_codes = all.iter().map(|r| r.meta().code).collect();
    let load = djcheck_project::LoadOptions {
        root: root.to_owned(),
        overrides: overrides.clone(),
        reusable: true,
        // As the server: the snapshot of HEAD, when in a repository (the fixtures are).
        base: djcheck_project::git::Base::known(djcheck_project::git::head(root)),
        ..Default::default()
    };
    RunOptions {
        load,
        rules: all,
        maskers: Vec::new(),
        severity: BTreeMap::new(),
        threads: Some(2),
        known_codes,
        reuse: false,
    }
}

/// What a run's users see of it: the diagnostics, the problems, the report, and the
/// masked ranges of every file.
fn seen(r: &RunResult) -> String {
    let p = &r.project;
    let masked: Vec<(&str, &Vec<_>)> =
        p.db.iter()
            .filter(|(_, f)| !f.masked.is_empty())
            .map(|(_, f)| (f.path.as_str(), &f.masked))
            .collect();
    format!(
        "{:#?}\n{:#?}\n{:#?}\n{:#?}\n{:?}\n{:?}\n{:?}\n{:?}",
        r.diagnostics, p.problems, p.report, masked, r.internal_errors, p.graph, p.state, p.models
    )
}

fn projects(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.join("manage.py").is_file() {
            out.push(p);
        } else if p.is_dir() {
            projects(&p, out);
        }
    }
}

/// The edits made one after the other to a migration's text.
fn edits(text: &str) -> Vec<Option<String>> {
    let mut out = vec![Some(format!("{text}\n# edited\n"))];
    if text.contains("operations = [") {
        out.push(Some(text.replacen(
            "operations = [",
            "operations = [\n        migrations.RunSQL(\"CREATE TABLE edited (id int)\"),",
            1,
        )));
        // The same facts, ranges included, and other SQL: only the text changed.
        out.push(Some(text.replacen(
            "operations = [",
            "operations = [\n        migrations.RunSQL(\"DROP TABLE edited           \"),",
            1,
        )));
    }
    for op in [
        // A model no migration creates (an id given while replaying).
        "migrations.AddField(model_name='edited', name='edited', field=models.IntegerField(default=0)),",
        // A model created (the models created change).
        "migrations.CreateModel(name='Edited', fields=[('id', models.AutoField(primary_key=True))]),",
    ] {
        if text.contains("operations = [") {
            out.push(Some(text.replacen(
                "operations = [",
                &format!("operations = [\n        {op}"),
                1,
            )));
        }
    }
    out.push(Some(format!("{text}\nclass (\n")));
    if text.contains("dependencies = [") {
        out.push(Some(text.replacen(
            "dependencies = [",
            "dependencies = [] and [",
            1,
        )));
    }
    // Back to the file on disk.
    out.push(None);
    out.push(Some(text.replacen(
        "class Migration",
        "class NotAMigration",
        1,
    )));
    out
}

#[test]
fn a_recheck_after_migration_edits_gives_what_a_whole_run_gives() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures");
    let mut roots = Vec::new();
    projects(&fixtures, &mut roots);
    assert!(roots.len() > 100, "{} fixture projects", roots.len());
    let (rechecked, reloaded, with_urls) = recheck_each(&roots);
    eprintln!("{rechecked} re-checks ({with_urls} with URL findings), {reloaded} loads");
    assert!(rechecked > 500, "{rechecked} re-checks, {reloaded} loads");
    assert!(with_urls > 10, "{with_urls} re-checks with URL findings");
    assert!(reloaded > 50, "{rechecked} re-checks, {reloaded} loads");
}

/// The same on real projects: every folder in `DJCHECK_RECHECK_ROOTS` is one (a sweep,
/// run by hand: `cargo test --release --test recheck -- --ignored`).
#[test]
#[ignore = "needs DJCHECK_RECHECK_ROOTS, a folder of projects"]
fn real_projects_recheck_as_whole_runs() {
    let dir = std::env::var_os("DJCHECK_RECHECK_ROOTS")
        .expect("DJCHECK_RECHECK_ROOTS: a folder whose folders are projects");
    let mut roots: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("DJCHECK_RECHECK_ROOTS can be read")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    roots.sort();
    let (rechecked, reloaded, with_urls) = recheck_each(&roots);
    eprintln!(
        "{} projects: {rechecked} re-checks ({with_urls} with URL findings), {reloaded} loads",
        roots.len()
    );
    assert!(rechecked > 0, "no project had a migration to edit");
}

/// On each project, chains of [`edits`] to its first and last migration, each checked
/// again and compared with a whole run of the same buffers. Returns the re-checks, the
/// edits loaded whole instead (refused), and the re-checks with URL findings.
fn recheck_each(roots: &[PathBuf]) -> (usize, usize, usize) {
    let (mut rechecked, mut reloaded) = (0, 0);
    // Re-checks whose URL findings were taken over from the check before.
    let mut with_urls = 0;
    for root in roots {
        let mut migrations: Vec<String> = walk(root)
            .into_iter()
            .filter(|r| r.contains("migrations/0") && r.ends_with(".py"))
            .collect();
        migrations.sort();
        let picked: Vec<&String> = migrations
            .first()
            .into_iter()
            .chain(migrations.last().filter(|_| migrations.len() > 1))
            .collect();
        let mut overrides = BTreeMap::new();
        let Ok(mut prev) = djcheck_linter::run(&options(root, &overrides)) else {
            continue;
        };
        for rel in picked {
            let Ok(text) = djcheck_project::fs::read_text(&root.join(rel), &Default::default())
            else {
                continue;
            };
            for edit in edits(&text) {
                match edit {
                    Some(t) => overrides.insert(rel.clone(), t),
                    None => overrides.remove(rel),
                };
                let opts = options(root, &overrides);
                let whole = djcheck_linter::run(&opts).expect("a whole run");
                prev = match djcheck_linter::recheck(&opts, prev, std::slice::from_ref(rel)) {
                    Ok(again) => {
                        rechecked += 1;
                        with_urls += usize::from(whole.diagnostics.iter().any(|d| {
                            ["URL001", "URL002", "URL003", "URL004", "URL005", "URL006"]
                                .contains(&d.code)
                        }));
                        assert_eq!(
                            seen(&again),
                            seen(&whole),
                            "{}: {rel} edited: {:?}",
                            root.display(),
                            overrides.get(rel)
                        );
                        again
                    }
                    // Not a migration any more: loaded again, as the server does.
                    Err(_) => {
                        reloaded += 1;
                        whole
                    }
                };
            }
        }
    }
    (rechecked, reloaded, with_urls)
}

fn walk(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_owned()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(rel) = p.strip_prefix(root) {
                out.push(rel.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    out
}
