//! MIG010 against Django: which apps `makemigrations --check` finds changed, on
//! generated projects.
//!
//! `tests/conformance/mig010_projects.py generate` (in the conformance virtualenv) writes
//! projects whose migrations are Django's own `makemigrations` output (an initial round,
//! then zero to two rounds of history with renames, one-off defaults, index and option
//! changes), then changes models.py without a migration: edits Django reports (`D`),
//! edits it ignores (`I`: reordered fields, `_()` around a literal, explicit default
//! arguments, an enumeration replaced by its literal choices...), and edits djcheck can't
//! decide statically (`U`: a value computed at run time, a conditional field,
//! `add_to_class`...). Django's verdict per app comes from the autodetector as
//! `makemigrations` runs it, checked against the real `makemigrations --check --dry-run`.
//!
//! djcheck's verdict per app: `changes` when MIG010 reports in it, `none` when every
//! model of the app was compared completely (`djcheck project --format json`), else
//! `undecided`. They must agree: a change reported where Django finds none, or `none`
//! where Django finds changes, fails; `undecided` is allowed only for an app with a `U`
//! edit. The table goes to stdout and `target/conformance/mig010_report.txt`.
//!
//! The projects are cached under `target/conformance/mig010/<hash of the generator and
//! its arguments>`. Environment: `DJCHECK_SKIP_CONFORMANCE=1` skips;
//! `DJCHECK_MIG010_PROJECTS=N` generates N projects instead of the default.

#![allow(
    clippy::unwrap_used,
    clippy::disallowed_methods,
    clippy::print_stdout,
    clippy::print_stderr
)]

use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

/// An app of a generated project: its label, Django's verdict, its edits (kind, name).
type AppEdits<'a> = (String, &'a Value, Vec<(String, String)>);

const PROJECTS: usize = 24;
const APPS: usize = 12;
const SEED: u64 = 1710;

fn fnv(data: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in data {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

#[test]
fn mig010_agrees_with_makemigrations_check() {
    djcheck_tests::progress(
        "mig010_conformance",
        "generating projects with Django's makemigrations and comparing MIG010 with `makemigrations --check` (about a minute)",
    );
    if std::env::var("DJCHECK_SKIP_CONFORMANCE").is_ok_and(|v| v == "1") {
        println!("mig010_conformance: skipped because DJCHECK_SKIP_CONFORMANCE=1");
        return;
    }
    let started = std::time::Instant::now();
    let root = djcheck_tests::workspace_root();
    let python = djcheck_tests::conformance_python().unwrap_or_else(|e| panic!("{e}"));
    let script = root.join("tests/conformance/mig010_projects.py");
    let projects: usize = std::env::var("DJCHECK_MIG010_PROJECTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(PROJECTS);
    let text = std::fs::read(&script).unwrap();
    let key = format!(
        "{:016x}",
        fnv(&[
            text.as_slice(),
            format!("{projects}/{APPS}/{SEED}").as_bytes()
        ]
        .concat())
    );
    let conf = djcheck_tests::target_dir().join("conformance");
    let out = conf.join("mig010").join(&key);
    let manifest_path = out.join("manifest.json");
    if !manifest_path.is_file() {
        let _ = std::fs::remove_dir_all(&out);
        let status = Command::new(&python)
            .arg(&script)
            .arg("generate")
            .arg(&out)
            .args(["--projects", &projects.to_string()])
            .args(["--apps", &APPS.to_string()])
            .args(["--seed", &SEED.to_string()])
            .stdin(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "the generator failed ({status})");
    }
    let generated = started.elapsed();
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(&manifest_path).unwrap()).unwrap();

    let checked = std::time::Instant::now();
    let mut table: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut per_edit: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut failures = Vec::new();
    let mut report = String::new();
    let mut samples = 0usize;
    let mut decidable = 0usize;
    let mut decided = 0usize;
    for (name, p) in manifest["projects"].as_object().unwrap() {
        let dir = out.join(name);
        let (changed, undecided) = djcheck_verdicts(&dir);
        let mut apps: Vec<AppEdits<'_>> = p["apps"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(a, v)| {
                let edits = v["edits"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|e| {
                        (
                            e[0].as_str().unwrap().to_owned(),
                            e[1].as_str().unwrap().to_owned(),
                        )
                    })
                    .collect();
                (a.clone(), &v["django"], edits)
            })
            .collect();
        apps.push(("core".to_owned(), &p["core"], Vec::new()));
        for (app, django, edits) in apps {
            samples += 1;
            let django = django.as_str().unwrap().to_owned();
            let ours = if changed.contains_key(&app) {
                "changes"
            } else if undecided.contains_key(&app) {
                "undecided"
            } else {
                "none"
            };
            *table.entry((ours.to_owned(), django.clone())).or_default() += 1;
            let has_u = edits.iter().any(|(c, _)| c == "U");
            if !has_u {
                decidable += 1;
                if ours != "undecided" {
                    decided += 1;
                }
            }
            for (c, k) in &edits {
                let e = per_edit.entry(format!("{c} {k}")).or_default();
                e.0 += 1;
                if ours == django || (ours == "undecided" && has_u) {
                    e.1 += 1;
                }
            }
            let ok = ours == django || (ours == "undecided" && has_u);
            let edits_text: Vec<String> = edits.iter().map(|(c, k)| format!("{c}:{k}")).collect();
            let _ = writeln!(
                report,
                "{name}/{app:<5} django={django:<8} djcheck={ours:<9} edits=[{}]{}",
                edits_text.join(", "),
                if ok { "" } else { "  <-- DISAGREE" }
            );
            if !ok {
                failures.push(format!(
                    "{name}/{app}: django says {django}, djcheck says {ours}; edits {edits_text:?}; MIG010: {:?}; undecided: {:?}",
                    changed.get(&app),
                    undecided.get(&app)
                ));
            }
        }
    }
    let mut summary = String::new();
    let _ = writeln!(summary, "\n(djcheck, django) -> apps");
    for ((ours, theirs), n) in &table {
        let _ = writeln!(summary, "  {ours:<9} {theirs:<8} {n}");
    }
    let _ = writeln!(summary, "edits of the last round (applied, agreeing):");
    for (k, (n, ok)) in &per_edit {
        let _ = writeln!(summary, "  {k:<28} {n:>4} {ok:>4}");
    }
    let agree = samples - failures.len();
    let _ = writeln!(
        summary,
        "total: {agree}/{samples} apps agree; apps with only decidable edits decided: {decided}/{decidable}; generation {:.1}s (cached when unchanged), djcheck {:.1}s",
        generated.as_secs_f64(),
        checked.elapsed().as_secs_f64()
    );
    report.push_str(&summary);
    print!("{summary}");
    let _ = std::fs::write(conf.join("mig010_report.txt"), &report);
    assert!(samples >= 100, "expected a few hundred apps, got {samples}");
    assert!(
        table.keys().any(|(o, d)| o == "changes" && d == "changes")
            && table.keys().any(|(o, d)| o == "none" && d == "none"),
        "the sample must hold both changed and unchanged apps"
    );
    assert!(
        failures.is_empty(),
        "MIG010 and makemigrations --check disagree on {} app(s) (see {}):\n{}",
        failures.len(),
        conf.join("mig010_report.txt").display(),
        failures.join("\n")
    );
}

/// Apps MIG010 reports in (with the messages), and apps with a model not compared
/// completely (with why).
fn djcheck_verdicts(dir: &Path) -> (BTreeMap<String, Vec<String>>, BTreeMap<String, Vec<String>>) {
    let (code, stdout, stderr) = djcheck_tests::djcheck(
        &[
            "check",
            ".",
            "--no-config",
            "--select",
            "MIG010",
            "--format",
            "json",
            "--exit-zero",
        ],
        dir,
    );
    assert_eq!(
        code,
        0,
        "djcheck check failed on {}: {stderr}",
        dir.display()
    );
    let v: Value = serde_json::from_str(&stdout).unwrap();
    let mut changed: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for d in v["diagnostics"].as_array().unwrap() {
        let path = d["path"].as_str().unwrap();
        let app = path.split('/').next().unwrap().to_owned();
        changed
            .entry(app)
            .or_default()
            .push(d["message"].as_str().unwrap().to_owned());
    }
    let (code, stdout, stderr) = djcheck_tests::djcheck(&["project", ".", "--format", "json"], dir);
    assert_eq!(
        code,
        0,
        "djcheck project failed on {}: {stderr}",
        dir.display()
    );
    let p: Value = serde_json::from_str(&stdout).unwrap();
    let mut undecided: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for m in p["models"].as_array().unwrap() {
        if !m["decided"].as_bool().unwrap() {
            undecided
                .entry(m["app"].as_str().unwrap().to_owned())
                .or_default()
                .push(format!("{}: {}", m["model"], m["undecided"]));
        }
    }
    for s in p["models_skipped_apps"].as_array().unwrap() {
        undecided
            .entry(s["app"].as_str().unwrap().to_owned())
            .or_default()
            .push(s["why"].as_str().unwrap().to_owned());
    }
    (changed, undecided)
}
