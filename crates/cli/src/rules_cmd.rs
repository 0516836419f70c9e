//! `djcheck rule CODE` and `djcheck rules`.

use crate::args::ListFormat;
use crate::{registry, Io, EXIT_ERROR, EXIT_OK};
use serde::Serialize;

pub fn rule(code: &str, io: &mut Io<'_>) -> i32 {
    let Some(r) = registry::find(code) else {
        let _ = writeln!(
            io.stderr,
            "djcheck: unknown rule `{code}` (see `djcheck rules`)"
        );
        return EXIT_ERROR;
    };
    let m = r.meta();
    let _ = writeln!(
        io.stdout,
        "# {} {} ({}{})\n",
        m.code,
        m.name,
        m.severity.as_str(),
        if m.on_by_default {
            ""
        } else {
            ", off by default: enable it with `extend-select`"
        }
    );
    let _ = write!(io.stdout, "{}", m.doc_text());
    EXIT_OK
}

#[derive(Serialize)]
struct RuleInfo {
    code: &'static str,
    name: &'static str,
    severity: &'static str,
    /// Whether it runs when the selection does not name it.
    default: bool,
    summary: String,
    doc: String,
}

pub fn rules(format: ListFormat, io: &mut Io<'_>) -> i32 {
    let rules = registry::all_rules();
    match format {
        ListFormat::Json => {
            let infos: Vec<RuleInfo> = rules
                .iter()
                .map(|r| {
                    let m = r.meta();
                    RuleInfo {
                        code: m.code,
                        name: m.name,
                        severity: m.severity.as_str(),
                        default: m.on_by_default,
                        summary: m.summary(),
                        doc: m.doc_text(),
                    }
                })
                .collect();
            let _ = serde_json::to_writer_pretty(&mut *io.stdout, &infos);
            let _ = writeln!(io.stdout);
        }
        ListFormat::Markdown => {
            let _ = write!(io.stdout, "{}", rules_markdown(&rules));
        }
        ListFormat::Text => {
            let width = rules.iter().map(|r| r.meta().name.len()).max().unwrap_or(0);
            for r in &rules {
                let m = r.meta();
                let _ = writeln!(
                    io.stdout,
                    "{:<9} {:<width$}  {:<7}  {:<3}  {}",
                    m.code,
                    m.name,
                    m.severity.as_str(),
                    if m.on_by_default { "on" } else { "off" },
                    m.summary()
                );
            }
        }
    }
    EXIT_OK
}

/// The page `docs/rules.md`: a table of every rule, then each rule's documentation under
/// a heading named by its code, the anchor the markdown report links to.
fn rules_markdown(rules: &[&'static dyn djcheck_linter::Rule]) -> String {
    let mut out = String::from(
        "# djcheck rules\n\n\
         <!-- Written by `djcheck rules --format markdown > docs/rules.md`: edit the rules' \
         doc comments, not this file. -->\n\n\
         Rules marked *off* in the default column run only when `select` or `extend-select` \
         names them.\n\n\
         | code | name | severity | default | finds |\n|---|---|---|---|---|\n",
    );
    for r in rules {
        let m = r.meta();
        out.push_str(&format!(
            "| [{}](#{}) | {} | {} | {} | {} |\n",
            m.code,
            m.code.to_ascii_lowercase(),
            m.name,
            m.severity.as_str(),
            if m.on_by_default { "on" } else { "*off*" },
            m.summary().replace('|', "\\|").replace('\n', " ")
        ));
    }
    for r in rules {
        let m = r.meta();
        out.push_str(&format!(
            "\n## {}\n\n`{}` · {}{}\n\n",
            m.code,
            m.name,
            m.severity.as_str(),
            if m.on_by_default {
                ""
            } else {
                " · off by default"
            }
        ));
        // The doc's own sections go one level down, outside code blocks.
        let mut fenced = false;
        for line in m.doc_text().split('\n') {
            if line.trim_start().starts_with("```") {
                fenced = !fenced;
            }
            if !fenced && line.starts_with("## ") {
                out.push('#');
            }
            out.push_str(line);
            out.push('\n');
        }
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}
