use djcheck_linter::{declare_rule, Diagnostic, Project, Rule, RuleMeta, Span};
use djcheck_project::ProblemKind;
use djcheck_python::{TextRange, TextSize};

declare_rule! {
    /// ## What it finds
    /// A file djcheck analyses that cannot be read as Python source text: permission
    /// denied, not a regular file (a named pipe, a socket or a device, refused before it is
    /// read, since reading a named pipe waits for a writer), invalid UTF-8, a NUL byte,
    /// larger than the size limit (8 MiB), a syntax tree nested deeper than the nesting
    /// limit (2,000 levels) without brackets (brackets nested past Python's own limit are
    /// a syntax error, PARSE001), or a folder that loops back on itself through symbolic
    /// links.
    ///
    /// ## Why it matters
    /// Python refuses invalid UTF-8 and NUL bytes in source files, so Django cannot import
    /// the file. Files beyond the limits are almost always generated or corrupted; djcheck
    /// refuses them rather than risk running out of memory or stack, and analyses the
    /// rest of the project.
    ///
    /// ## Example
    /// A migration saved in Latin-1 by an editor: `"Café"` becomes the byte `0xE9`, which
    /// is not valid UTF-8.
    ///
    /// ## How to fix
    /// Re-save the file as UTF-8, remove the NUL bytes, fix its permissions, replace the
    /// named pipe or device by a regular file, or break the symbolic link loop. A file beyond the limits should be split (for a squashed
    /// migration: squash in smaller steps).
    pub struct UnreadableFile { code: "PARSE002", name: "unreadable-file", severity: Error }
}

impl Rule for UnreadableFile {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_project(&self, project: &Project, out: &mut Vec<Diagnostic>) {
        for p in &project.problems {
            let (message, range, label) = match &p.kind {
                ProblemKind::Syntax(_) => continue,
                ProblemKind::Unreadable { message, offset } => {
                    let text = &project.db.file(p.file).text;
                    let range = offset
                        .and_then(|o| {
                            let start = u32::try_from(o).ok()?;
                            let len = text.get(o..)?.chars().next().map_or(0, char::len_utf8);
                            Some(TextRange::at(
                                TextSize::new(start),
                                TextSize::new(u32::try_from(len).ok()?),
                            ))
                        })
                        .unwrap_or_default();
                    let label = if message.contains("NUL") {
                        "NUL byte"
                    } else if message.contains("UTF-8") {
                        "not UTF-8"
                    } else if message.contains("symbolic link loop") {
                        "not followed"
                    } else if message.contains("not a regular file")
                        || message.contains("larger than")
                    {
                        "refused without reading it"
                    } else {
                        "this file could not be read"
                    };
                    (message.clone(), range, label)
                }
                ProblemKind::TooDeep { limit, at } => {
                    // The first character of the node past the limit: the node itself may
                    // span most of the file.
                    let text = &project.db.file(p.file).text;
                    let o = usize::from(at.start());
                    let len = text
                        .get(o..)
                        .and_then(|t| t.chars().next())
                        .map_or(0, char::len_utf8);
                    (
                        format!(
                            "file nests deeper than {limit} levels, the limit djcheck analyses"
                        ),
                        TextRange::at(at.start(), TextSize::new(u32::try_from(len).unwrap_or(0))),
                        "nested too deep from here",
                    )
                }
            };
            out.push(
                Self::META
                    .diagnostic(format!(
                        "{} cannot be analysed: {message}",
                        p.role.describe()
                    ))
                    .at(Span::new(p.file, range), label),
            );
        }
    }
}
