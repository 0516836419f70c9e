//! A language server's re-check after edits to migrations ([`djcheck_linter::recheck`])
//! gives what a whole run gives: on every fixture project, chains of edits to its
//! migrations (a comment, operations added, SQL changed in place, ranges moved, a syntax
//! error, the dependencies dropped, the file as it was) are checked both ways and compared, down to
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
/// masked ranges of every file, the graph, the model state and the models comparison.
/// `moved`: the state was kept after an edit that only moved ranges, and holds the ranges
/// it recorded ([`djcheck_project::state::ModelState::range_of`] maps them when read):
/// its ranges are compared as read, the rest of it without them.
fn seen(r: &RunResult, moved: bool) -> String {
    let p = &r.project;
    let masked: Vec<(&str, &Vec<_>)> =
        p.db.iter()
            .filter(|(_, f)| !f.masked.is_empty())
            .map(|(_, f)| (f.path.as_str(), &f.masked))
            .collect();
    let state = format!("{:?}", p.state);
    let state = if moved {
        format!("{}\n{:?}", without_ranges(&state), p.state.creations)
    } else {
        state
    };
    format!(
        "{:#?}\n{:#?}\n{:#?}\n{:#?}\n{:?}\n{:?}\n{state}\n{}\n{:?}",
        r.diagnostics,
        p.problems,
        p.report,
        masked,
        r.internal_errors,
        p.graph,
        ranges_read(p),
        p.models
    )
}

/// Every range a rule reads from the model state before each node and at the end: where
/// each field was set, and the model's options.
fn ranges_read(p: &djcheck_project::Project) -> String {
    let st = &p.state;
    let mut out = String::new();
    let view = |d: &djcheck_project::state::ModelDef, out: &mut String| {
        for f in &d.fields {
            let r = st.range_of(f.set_by, f.field.range);
            out.push_str(&format!(" {}@{}:{r:?}", f.name, f.set_by));
        }
        let r = st.range_of(d.options_by, d.options_range);
        out.push_str(&format!(" options@{}:{r:?}\n", d.options_by));
    };
    for node in 0..p.graph.nodes.len() {
        for key in st.creations.keys() {
            if let Some(d) = st.model_before(node, key) {
                out.push_str(&format!("{node} {key:?}"));
                view(d, &mut out);
            }
        }
    }
    for (key, d) in st.final_models() {
        out.push_str(&format!("end {key:?}"));
        view(d, &mut out);
    }
    out
}

/// The text with every range (`12..34`) left out.
fn without_ranges(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < b.len() {
        let digits = |from: usize| b[from..].iter().take_while(|c| c.is_ascii_digit()).count();
        let n = digits(i);
        let starts = i == 0 || !b[i - 1].is_ascii_alphanumeric();
        if n > 0 && starts && b[i + n..].starts_with(b"..") && digits(i + n + 2) > 0 {
            out.push_str("_.._");
            i += n + 2 + digits(i + n + 2);
            continue;
        }
        let c = s[i..].chars().next().unwrap_or_default();
        out.push(c);
        i += c.len_utf8().max(1);
    }
    // The edits kept per migration.
    match (out.find("Shifts["), out.find(" ]")) {
        (Some(a), Some(_)) => {
            let end = out[a..].find(" ]").map_or(out.len(), |e| a + e + 2);
            out.replace_range(a..end, "");
            out
        }
        _ => out,
    }
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
        // Text put at the start of the operations, in turn.
        for head in [
            "migrations.RunSQL(\"CREATE TABLE edited (id int)\"),",
            // The same facts, ranges included, and other SQL: only the text changed.
            "migrations.RunSQL(\"DROP TABLE edited           \"),",
            // Ranges moved, nothing else: a comment among the operations, the SQL above
            // changed in length.
            "# edited\n        migrations.RunSQL(\"DROP TABLE e\"),",
            "# a longer comment\n",
        ] {
            out.push(Some(text.replacen(
                "operations = [",
                &format!("operations = [\n        {head}"),
                1,
            )));
        }
    }
    // Every range moved.
    out.push(Some(format!("# edited\n{text}")));
    // What the operations' names mean changed above them, their text as it was.
    let import = "from django.db import migrations, models";
    if text.contains(import) {
        out.push(Some(text.replacen(
            import,
            "from django.db import migrations\nfrom shop import fields as models",
            1,
        )));
        out.push(Some(format!("# edited\n{text}")));
    }
    // An operation on a model the migration names, added, then replaced by another:
    // the model's later events numbered again.
    let named = ["name='", "name=\""]
        .iter()
        .filter_map(|q| text.find(q).map(|at| (at, q.len())))
        .min()
        .and_then(|(at, len)| text[at + len..].split(['\'', '"']).next())
        .filter(|n| !n.is_empty());
    if let (Some(model), true) = (named, text.contains("operations = [")) {
        for op in [
            format!("migrations.AlterModelTable(name='{model}', table='edited'),\n        migrations.AlterModelOptions(name='{model}', options={{}}),"),
            format!("migrations.AlterModelTable(name='{model}', table='edited'),"),
        ] {
            out.push(Some(text.replacen(
                "operations = [",
                &format!("operations = [\n        {op}"),
                1,
            )));
        }
    }
    // What a field is, changed where nothing else is.
    for (from, to) in [("CharField(", "TextField("), ("null=True", "null=False")] {
        if text.contains(from) {
            out.push(Some(text.replacen(from, to, 1)));
        }
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
    let (rechecked, reloaded, with_urls, kept) = recheck_each(&roots);
    eprintln!(
        "{rechecked} re-checks ({with_urls} with URL findings, {kept} with ranges moved), \
         {reloaded} loads"
    );
    assert!(
        kept > 100,
        "{kept} re-checks kept the state with ranges moved"
    );
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
    let (rechecked, reloaded, with_urls, kept) = recheck_each(&roots);
    eprintln!(
        "{} projects: {rechecked} re-checks ({with_urls} with URL findings, {kept} with \
         ranges moved), {reloaded} loads",
        roots.len()
    );
    assert!(rechecked > 0, "no project had a migration to edit");
}

/// On each project, chains of [`edits`] to its first and last migration, each checked
/// again and compared with a whole run of the same buffers. Returns the re-checks, the
/// edits loaded whole instead (refused), the re-checks with URL findings, and those whose
/// state holds ranges an edit moved.
fn recheck_each(roots: &[PathBuf]) -> (usize, usize, usize, usize) {
    let (mut rechecked, mut reloaded) = (0, 0);
    // Re-checks whose state was kept, holding ranges an edit moved.
    let mut kept = 0;
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
                        let moved = again.project.state.fields.has_shifted_ranges();
                        kept += usize::from(moved);
                        assert_eq!(
                            seen(&again, moved),
                            seen(&whole, moved),
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
    (rechecked, reloaded, with_urls, kept)
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
