use crate::formats::{self, Found};
use crate::literal::{literals_where, mask_range, other_occurrences, redacted, LitText};
use djcheck_linter::{declare_rule, Diagnostic, FileContext, Rule, RuleMeta, Span};
use djcheck_project::migration::OpKind;
use djcheck_python::literal::{string_literals, StringLit};
use djcheck_python::{LineIndex, ParsedModule, TextRange};

declare_rule! {
    /// ## What it finds
    /// A string literal anywhere in a migration file (RunPython code, RunSQL strings,
    /// module constants, the literal parts of f-strings) that holds a credential in a
    /// known format:
    ///
    /// - AWS access key ids (`AKIA...`, `ASIA...`), and AWS secret access keys next to
    ///   them (a 40-character key within ten lines of a key id, after
    ///   `aws_secret_access_key` in the same string, or on a line that names an AWS
    ///   secret before it: `AWS_SECRET_ACCESS_KEY = "..."`);
    /// - GitHub tokens (`ghp_`, `gho_`, `ghu_`, `ghs_`, `ghr_`, `github_pat_`), GitLab
    ///   tokens (`glpat-`), Slack tokens (`xoxb-`, `xoxp-`, `xoxa-`, `xoxo-`, `xoxs-`,
    ///   `xoxr-`, `xoxe-`, and rotating `xoxe.xoxp-` tokens) and Slack webhook URLs
    ///   (`hooks.slack.com/services/...`);
    /// - Stripe live keys (`sk_live_`, `rk_live_`), Google API keys (`AIza...`), Twilio
    ///   API keys (`SK` and 32 hex digits) and auth tokens (32 hex digits within ten lines
    ///   of an account SID `AC...`), SendGrid API keys (`SG.xxx.yyy`);
    /// - PEM private keys (`-----BEGIN ... PRIVATE KEY-----` over at least 16 base64
    ///   characters, so a short or truncated key counts), JSON Web Tokens
    ///   (`eyJ...`.`eyJ...`.`...`), and URLs with a password
    ///   (`postgres://user:password@host/db`, the password possibly holding `#` or `?`).
    ///
    /// False-positive policy: a value is a placeholder, not a credential, and is not
    /// reported, when it contains a placeholder word (`example`, `sample`, `dummy`,
    /// `placeholder`, `changeme`, `fake`, `xxxx`, `your_`, `redacted`, `not-a-real`,
    /// `invalid`, `bogus`, `mock`), a template marker
    /// (`<...>`, `{...}`, `${...}`, `%(...)s`), an obvious sequence (`12345678`,
    /// `abcdefgh`), or fewer than six distinct characters. So AWS's documentation keys
    /// (`AKIAIOSFODNN7EXAMPLE`), `ghp_xxxx...` and `sk_live_your_key_here` are silent, and
    /// so are Stripe test keys (`sk_test_`), the example token of jwt.io, PEM headers over
    /// a placeholder body, and URLs whose password is a placeholder (`password`, `pass`,
    /// `secret`, `${DB_PASSWORD}`, `%s`) or whose host is local or reserved for
    /// documentation (`localhost`, `127.0.0.1`, `example.com`, `*.test`).
    ///
    /// The credential is never printed whole, in any output format: messages show at most
    /// its first four characters, then `…` and its length, and source snippets show it
    /// masked.
    ///
    /// ## Why it matters
    /// Migrations are committed, reviewed, packaged and deployed everywhere; a token in
    /// one is readable by everyone with access to the repository, its forks, its CI logs
    /// and its release artifacts, for as long as the history exists. Scanners run by the
    /// platforms (GitHub secret scanning) may revoke it for you, or an attacker may use it
    /// first.
    ///
    /// ## Example
    /// ```python
    /// def add_webhook(apps, schema_editor):
    ///     Hook = apps.get_model("alerts", "Hook")
    ///     Hook.objects.create(url="https://hooks.slack.com/services/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")
    /// ```
    ///
    /// ## How to fix
    /// Revoke the credential now (it stays in the repository's history even once the line
    /// is deleted), then read its replacement at run time, from the environment, a
    /// setting or a secrets manager:
    /// ```python
    /// Hook.objects.create(url=os.environ["ALERTS_WEBHOOK_URL"])
    /// ```
    pub struct HardcodedToken { code: "SEC002", name: "hardcoded-token", severity: Error }
}

/// How far (in lines) a key's other half may be from the key id it belongs to.
const PAIR_LINES: usize = 10;

impl Rule for HardcodedToken {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_file(&self, cx: &FileContext<'_>, out: &mut Vec<Diagnostic>) {
        let Some(m) = cx.migration else {
            return;
        };
        // Every RunSQL, nested ones included.
        let sql: Vec<TextRange> = m
            .walk()
            .into_iter()
            .filter(|w| matches!(w.op.kind, OpKind::RunSql { .. }))
            .map(|w| w.op.range)
            .collect();
        for (lit, f) in find(cx.text, cx.string_literals()) {
            out.push(diagnostic(cx, &lit, &f, &sql));
        }
    }

    fn finds_secrets(&self) -> bool {
        true
    }

    fn secret_ranges(&self, text: &str, parsed: &ParsedModule, out: &mut Vec<TextRange>) {
        for (lit, f) in find(text, &string_literals(parsed.body())) {
            out.extend(masks(text, &lit, &f));
        }
    }
}

/// Every credential of the module's literals, by format or by the key id next to it.
fn find(text: &str, lits: &[StringLit<'_>]) -> Vec<(LitText, Found)> {
    // Only literals some test below can accept are mapped to the source (most of a
    // module's strings are none).
    let worth = |v: &str| {
        let t = v.trim();
        !formats::credentials(v).is_empty()
            || formats::is_aws_key_id(t)
            || formats::is_twilio_account_sid(t)
            || formats::looks_like_aws_secret(t)
            || formats::looks_like_twilio_token(t)
    };
    let lits = literals_where(lits, text, &worth);
    if lits.is_empty() {
        return Vec::new();
    }
    let mut found: Vec<(usize, Found)> = Vec::new();
    for (i, lit) in lits.iter().enumerate() {
        for f in formats::credentials(lit.value()) {
            found.push((i, f));
        }
    }
    // The halves that are only recognisable next to their key id.
    let index = LineIndex::new(text);
    let line_of = |r: TextRange| index.line_of(r.start());
    let aws_ids: Vec<usize> = lits
        .iter()
        .filter(|l| formats::is_aws_key_id(l.value().trim()))
        .map(|l| line_of(l.range))
        .collect();
    let twilio_sids: Vec<usize> = lits
        .iter()
        .filter(|l| formats::is_twilio_account_sid(l.value().trim()))
        .map(|l| line_of(l.range))
        .collect();
    let near = |ids: &[usize], line: usize| ids.iter().any(|i| i.abs_diff(line) <= PAIR_LINES);
    for (i, lit) in lits.iter().enumerate() {
        let v = lit.value().trim();
        let start = lit.value().len() - lit.value().trim_start().len();
        let kind = if formats::looks_like_aws_secret(v)
            && (near(&aws_ids, line_of(lit.range)) || named_aws_secret(text, lit.range))
        {
            "AWS secret access key"
        } else if formats::looks_like_twilio_token(v) && near(&twilio_sids, line_of(lit.range)) {
            "Twilio auth token"
        } else {
            continue;
        };
        if found.iter().any(|(l, _)| *l == i) {
            continue;
        }
        found.push((
            i,
            Found {
                kind,
                start,
                end: start + v.len(),
            },
        ));
    }
    found
        .into_iter()
        .map(|(i, f)| (lits[i].clone(), f))
        .collect()
}

/// The ranges a credential's finding masks: where it is, and wherever else it is written.
fn masks(text: &str, lit: &LitText, f: &Found) -> Vec<TextRange> {
    let secret = &lit.value()[f.start..f.end];
    let mask = mask_range(text, lit.source_range(f.start, f.end));
    let mut out = vec![mask];
    out.extend(
        other_occurrences(text, secret, mask)
            .into_iter()
            .map(|r| mask_range(text, r)),
    );
    out
}

/// The literal is assigned to, keyed by or passed as a name saying it is an AWS secret
/// key (`AWS_SECRET_ACCESS_KEY = "..."`, `"aws_secret_access_key": "..."`): the source
/// of its line before it names both.
fn named_aws_secret(text: &str, lit: TextRange) -> bool {
    let start = usize::from(lit.start());
    let Some(before) = text.get(..start) else {
        return false;
    };
    let line_start = before.rfind(['\n', '\r']).map_or(0, |i| i + 1);
    let head = before[line_start..].to_ascii_lowercase();
    head.contains("aws") && head.contains("secret")
}

fn diagnostic(cx: &FileContext<'_>, lit: &LitText, f: &Found, sql: &[TextRange]) -> Diagnostic {
    let secret = &lit.value()[f.start..f.end];
    let range = lit.source_range(f.start, f.end);
    let primary = if range == lit.content() {
        lit.range
    } else {
        range
    };
    let shown = redacted(secret);
    let message = match f.kind {
        "URL with a password" => format!("hardcoded password {shown} in a URL"),
        "Slack webhook URL" => format!("hardcoded Slack webhook URL, path {shown}"),
        kind => format!("hardcoded {kind} {shown}"),
    };
    let mut d = HardcodedToken::META
        .diagnostic(message)
        .at(
            Span::new(cx.file, primary),
            format!("{} in clear text", label_kind(f.kind)),
        )
        .help("revoke it now (it stays in the repository's history once deleted), then read its replacement at run time: from the environment, a setting or a secrets manager");
    if sql.iter().any(|s| s.contains_range(lit.range)) {
        d = d.note("it is in the SQL of a `RunSQL` operation: it runs, and is logged, on every database the migration is applied to");
    }
    for m in masks(cx.text, lit, f) {
        d = d.redact(Span::new(cx.file, m));
    }
    d
}

fn label_kind(kind: &str) -> &str {
    match kind {
        "URL with a password" => "the password of a database or service",
        "Slack webhook URL" => "a Slack webhook",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{check, fires, migration, silent};

    const RULE: HardcodedToken = HardcodedToken;

    #[test]
    fn tokens_in_runpython_runsql_and_constants() {
        let src = migration(
            r#"GITHUB = "ghp_R8mK2vX9qL4tW7nZ1cF6hJ3bY5dG0sAeUiO2"

def forwards(apps, schema_editor):
    Hook = apps.get_model("alerts", "Hook")
    Hook.objects.get_or_create(url="https://hooks.slack.com/services/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")
    Hook.objects.get_or_create(url=f"postgres://app:S3cr3tPw9@db.internal/{schema_editor}")"#,
            r#"migrations.RunPython(forwards, migrations.RunPython.noop),
        migrations.RunSQL(
            "INSERT INTO keys (name, value) VALUES ('stripe', 'sk_live_51Hq8mR2vL9xT4pW7nK1cF6hJ') ON CONFLICT DO NOTHING",
            migrations.RunSQL.noop,
        ),"#,
        );
        let out = fires(&RULE, &src);
        let shown: Vec<&str> = out.iter().map(|(l, _)| l.as_str()).collect();
        assert_eq!(
            shown,
            [
                "\"ghp_R8mK2vX9qL4tW7nZ1cF6hJ3bY5dG0sAeUiO2\"",
                "services/T0QK7RW2H/B08LMXNV3KP/Rk2vX9qL4tW7nZ1cF6hJ3bY5",
                "S3cr3tPw9",
                "sk_live_51Hq8mR2vL9xT4pW7nK1cF6hJ",
            ]
        );
        assert_eq!(out[0].1, "hardcoded GitHub token \"ghp_…\" (40 characters)");
        assert_eq!(
            out[2].1,
            "hardcoded password \"S3cr…\" (9 characters) in a URL"
        );
        let diags = check(&RULE, &src);
        assert!(diags[3].notes[0].contains("RunSQL"));
        for (d, (lit, _)) in diags.iter().zip(&out) {
            assert!(!d.message.contains(lit.trim_matches('"')));
        }
    }

    #[test]
    fn aws_keys_pair_with_their_id() {
        let src = migration(
            r#"def forwards(apps, schema_editor):
    apps.get_model("conf", "Storage").objects.update_or_create(
        name="s3",
        defaults={
            "key_id": "AKIAQ3EGRXM2PLVNHTZW",
            "key": "Zq8mR2vL9xT4pW7nK1cF6hJ3bY5dG0sA/eU+iO2r",
        },
    )"#,
            "migrations.RunPython(forwards, migrations.RunPython.noop),",
        );
        let out = fires(&RULE, &src);
        assert_eq!(out.len(), 2);
        assert!(out[0]
            .1
            .starts_with("hardcoded AWS access key ID \"AKIA…\""));
        assert!(out[1]
            .1
            .starts_with("hardcoded AWS secret access key \"Zq8m…\" (40"));
    }

    #[test]
    fn aws_secret_keys_by_name() {
        let src = migration(
            r#"AWS_SECRET_ACCESS_KEY = "Zq8mR2vL9xT4pW7nK1cF6hJ3bY5dG0sA/eU+iO2r"

def forwards(apps, schema_editor):
    apps.get_model("conf", "Storage").objects.create(aws_secret_key="Yq8mR2vL9xT4pW7nK1cF6hJ3bY5dG0sA/eU+iO2s")"#,
            "migrations.RunPython(forwards, migrations.RunPython.noop),",
        );
        let out = fires(&RULE, &src);
        assert_eq!(out.len(), 2, "{out:?}");
        assert!(out
            .iter()
            .all(|(_, m)| m.starts_with("hardcoded AWS secret access key")));
    }

    #[test]
    fn many_literals_cost_linear_time() {
        // Lines were counted from the start of the file for every literal: quadratic.
        let constants: String = (0..50_000)
            .map(|i| format!("C{i} = \"value {i}\"\n"))
            .collect();
        let src = migration(
            &format!("{constants}KEY_ID = \"AKIAQ3EGRXM2PLVNHTZW\""),
            "migrations.RunPython(migrations.RunPython.noop, migrations.RunPython.noop),",
        );
        let t = std::time::Instant::now();
        let out = check(&RULE, &src);
        assert_eq!(out.len(), 1);
        assert!(t.elapsed().as_secs() < 20, "{:?}", t.elapsed());
    }

    #[test]
    fn placeholders_are_silent() {
        silent(
            &RULE,
            &migration(
                r#"def forwards(apps, schema_editor):
    Conf = apps.get_model("conf", "Conf")
    Conf.objects.get_or_create(
        aws="AKIAIOSFODNN7EXAMPLE",
        aws_secret="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        github="ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        stripe="sk_test_51Hq8mR2vL9xT4pW7nK1cF6hJ",
        db="postgres://user:password@localhost/db",
        sha="da39a3ee5e6b4b0d3255bfef95601890afd80709",
        doc="-----BEGIN RSA PRIVATE KEY-----\n...\n-----END RSA PRIVATE KEY-----",
    )"#,
                "migrations.RunPython(forwards, migrations.RunPython.noop),",
            ),
        );
    }
}
