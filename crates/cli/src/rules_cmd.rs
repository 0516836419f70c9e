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
        "# {} {} ({})\n",
        m.code,
        m.name,
        m.severity.as_str()
    );
    let _ = write!(io.stdout, "{}", m.doc_text());
    EXIT_OK
}

#[derive(Serialize)]
struct RuleInfo {
    code: &'static str,
    name: &'static str,
    severity: &'static str,
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
                        summary: m.summary(),
                        doc: m.doc_text(),
                    }
                })
                .collect();
            let _ = serde_json::to_writer_pretty(&mut *io.stdout, &infos);
            let _ = writeln!(io.stdout);
        }
        ListFormat::Text => {
            let width = rules.iter().map(|r| r.meta().name.len()).max().unwrap_or(0);
            for r in &rules {
                let m = r.meta();
                let _ = writeln!(
                    io.stdout,
                    "{:<9} {:<width$}  {:<7}  {}",
                    m.code,
                    m.name,
                    m.severity.as_str(),
                    m.summary()
                );
            }
        }
    }
    EXIT_OK
}
