//! Known credential formats and Django password hashes, found inside string values, and
//! the false-positive policy that keeps documentation examples and placeholders quiet.
//!
//! Every pattern is anchored on a fixed prefix or structure (`ghp_` and 36 characters,
//! `AKIA` and 16, three dot-separated base64url segments starting with `eyJ`...), so a
//! random identifier does not match. The `regex` crate runs in linear time, so a
//! pathological string costs no more than its length.

use aho_corasick::AhoCorasick;
use regex::{Regex, RegexSet};
use std::sync::LazyLock;

/// A secret found in a value: its kind and its byte range in the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub kind: &'static str,
    pub start: usize,
    pub end: usize,
}

struct Pattern {
    kind: &'static str,
    re: Regex,
    /// The capture group holding the secret itself (0: the whole match).
    group: usize,
}

/// Patterns, and a set of them all that tells in one pass which ones can match: most
/// literals of a migration are field names and match none.
struct Patterns {
    list: Vec<Pattern>,
    set: Option<RegexSet>,
}

fn compile(list: &[(&'static str, &str, usize)]) -> Patterns {
    let list: Vec<Pattern> = list
        .iter()
        .filter_map(|(kind, re, group)| {
            Regex::new(re).ok().map(|re| Pattern {
                kind,
                re,
                group: *group,
            })
        })
        .collect();
    let set = RegexSet::new(list.iter().map(|p| p.re.as_str())).ok();
    Patterns { list, set }
}

/// The length of the shortest credential of [`CREDENTIALS`] that is not a URL, and of a
/// private key header.
const SHORTEST_CREDENTIAL: usize = 15;

/// The credential formats SEC002 reports. Kept in sync with the rule's documentation.
const CREDENTIALS: &[(&str, &str, usize)] = &[
    ("AWS access key ID", r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b", 0),
    (
        "AWS secret access key",
        r"(?i:aws_?secret_?(?:access_?)?key)\W{1,4}([A-Za-z0-9/+]{40})(?:[^A-Za-z0-9/+=]|$)",
        1,
    ),
    ("GitHub token", r"\bgh[pousr]_[A-Za-z0-9]{36,251}\b", 0),
    (
        "GitHub token",
        r"\bgithub_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}\b",
        0,
    ),
    ("GitLab token", r"\bglpat-[A-Za-z0-9_\-]{20,}", 0),
    (
        "Slack token",
        r"\b(?:xoxe\.)?xox[abposre]-[A-Za-z0-9\-]{10,}",
        0,
    ),
    (
        "Slack webhook URL",
        r"https://hooks\.slack\.com/((?:services|workflows|triggers)/[A-Za-z0-9_/\-]{20,})",
        1,
    ),
    ("Stripe live key", r"\b(?:sk|rk)_live_[A-Za-z0-9]{20,}\b", 0),
    ("Google API key", r"\bAIza[A-Za-z0-9_\-]{35}", 0),
    ("Twilio API key", r"\bSK[0-9a-fA-F]{32}\b", 0),
    (
        "SendGrid API key",
        r"\bSG\.[A-Za-z0-9_\-]{22}\.[A-Za-z0-9_\-]{43}",
        0,
    ),
    (
        "JSON Web Token",
        r"\beyJ[A-Za-z0-9_\-]{10,}\.eyJ[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{16,}",
        0,
    ),
    (
        "URL with a password",
        // The password may hold `#` and `?` (written unencoded, as people do), not `/`.
        r"\b[a-zA-Z][a-zA-Z0-9+.\-]*://[^\s:/?#@]*:([^\s/@]+)@([^\s/?#:@]+)",
        1,
    ),
];

/// Django's password hash formats (`django.contrib.auth.hashers`), with enough structure
/// that only a real hash matches.
const HASHES: &[(&str, &str, usize)] = &[
    (
        "PBKDF2 password hash",
        r"\bpbkdf2_sha(?:256|1)\$\d+\$[^$\s]+\$[A-Za-z0-9+/=]{20,}",
        0,
    ),
    (
        "Argon2 password hash",
        r"\bargon2\$argon2(?:id|i|d)\$v=\d+\$m=\d+,t=\d+,p=\d+\$[A-Za-z0-9+/]{8,}\$[A-Za-z0-9+/]{16,}",
        0,
    ),
    (
        "bcrypt password hash",
        r"\bbcrypt(?:_sha256)?\$\$2[abxy]?\$\d\d\$[./A-Za-z0-9]{53}",
        0,
    ),
    (
        "scrypt password hash",
        r"\bscrypt\$\d+\$[^$\s]+\$\d+\$\d+\$[A-Za-z0-9+/=]{20,}",
        0,
    ),
    ("SHA-1 password hash", r"\bsha1\$[^$\s]*\$[0-9a-f]{40}\b", 0),
    ("MD5 password hash", r"\bmd5\$[^$\s]*\$[0-9a-f]{32}\b", 0),
    (
        "SHA-1 password hash",
        r"\bunsalted_sha1\$\$[0-9a-f]{40}\b",
        0,
    ),
];

/// A password clause of SQL: PostgreSQL's `[ENCRYPTED] PASSWORD '...'` (`CREATE`/`ALTER
/// ROLE`/`USER`), MySQL's `IDENTIFIED [WITH plugin] BY '...'` and `SET PASSWORD [FOR u] =
/// [PASSWORD(]'...'`. Group 1 or 2 is the password, single- or double-quoted.
static SQL_PASSWORD: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(
        r#"(?i)\b(?:password(?:\s+for\s+\S+)?|identified(?:\s+with\s+\w+)?\s+by)\s*(?:=\s*)?(?:password\s*\(\s*)?[en]?(?:'((?:[^'\\]|''|\\.){1,256})'|"((?:[^"\\]|""|\\.){1,256})")"#,
    )
    .ok()
});

/// Automata finding any of `words` in a literal, in any ASCII case or exactly.
fn words(words: &[&str], any_case: bool) -> Option<AhoCorasick> {
    AhoCorasick::builder()
        .ascii_case_insensitive(any_case)
        .build(words)
        .ok()
}

/// Whether `value` holds one of the words of `finder`; true when the automaton could
/// not be built (the patterns decide).
fn holds(finder: &Option<AhoCorasick>, value: &str) -> bool {
    finder.as_ref().is_none_or(|f| f.is_match(value))
}

/// The words of [`SQL_PASSWORD`], in any case.
static SQL_PASSWORD_WORDS: LazyLock<Option<AhoCorasick>> =
    LazyLock::new(|| words(&["password", "identified"], true));

/// Text every credential of [`CREDENTIALS`], and a private key's header, holds (as
/// written, in the case written): a literal without any of them holds no credential.
/// The AWS secret's name is matched in any case, by [`AWS_WORD`].
static CREDENTIAL_WORDS: LazyLock<Option<AhoCorasick>> = LazyLock::new(|| {
    words(
        &[
            "AKIA",
            "ASIA",
            "ghp_",
            "gho_",
            "ghu_",
            "ghs_",
            "ghr_",
            "github_pat_",
            "glpat-",
            "xox",
            "_live_",
            "AIza",
            "SK",
            "SG.",
            "eyJ",
            "://",
            "-----BEGIN",
        ],
        false,
    )
});
static AWS_WORD: LazyLock<Option<AhoCorasick>> = LazyLock::new(|| words(&["aws"], true));

/// Passwords written in SQL password clauses inside `value` (see [`SQL_PASSWORD`]).
pub fn sql_password_clauses(value: &str) -> Vec<Found> {
    let mut out = Vec::new();
    // The shortest clause the pattern matches, `password'x'`, is 11 characters (and so
    // at least 11 bytes).
    if value.len() < 11 {
        return out;
    }
    // Most literals name no password at all. In ASCII text the pattern can only match one
    // of its two words in some ASCII case (Unicode case folding maps other letters to
    // `s` and `k`, so text that is not ASCII goes to the pattern).
    if value.is_ascii() && !holds(&SQL_PASSWORD_WORDS, value) {
        return out;
    }
    let Some(re) = SQL_PASSWORD.as_ref() else {
        return out;
    };
    for caps in re.captures_iter(value) {
        let Some(m) = caps.get(1).or_else(|| caps.get(2)) else {
            continue;
        };
        out.push(Found {
            kind: "SQL password",
            start: m.start(),
            end: m.end(),
        });
    }
    out
}

static CREDENTIAL_PATTERNS: LazyLock<Patterns> = LazyLock::new(|| compile(CREDENTIALS));
static HASH_PATTERNS: LazyLock<Patterns> = LazyLock::new(|| compile(HASHES));
static PEM_HEADER: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----").ok());
static AWS_KEY_ID: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"^(?:AKIA|ASIA)[0-9A-Z]{16}$").ok());
static TWILIO_ACCOUNT_SID: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"^AC[0-9a-f]{32}$").ok());

fn find_all(patterns: &Patterns, value: &str, out: &mut Vec<Found>) {
    let matched = patterns.set.as_ref().map(|s| s.matches(value));
    if matched.as_ref().is_some_and(|m| !m.matched_any()) {
        return;
    }
    for (i, p) in patterns.list.iter().enumerate() {
        if matched.as_ref().is_some_and(|m| !m.matched(i)) {
            continue;
        }
        for caps in p.re.captures_iter(value) {
            let Some(m) = caps.get(p.group) else { continue };
            let secret = m.as_str();
            let placeholder = if p.kind == "URL with a password" {
                let host = caps.get(2).map_or("", |h| h.as_str());
                is_placeholder_password(secret) || is_documentation_host(host)
            } else {
                is_placeholder(secret)
            };
            if !placeholder {
                out.push(Found {
                    kind: p.kind,
                    start: m.start(),
                    end: m.end(),
                });
            }
        }
    }
}

/// Credentials in a known format inside `value`, placeholders left out.
pub fn credentials(value: &str) -> Vec<Found> {
    let mut out = Vec::new();
    // Most literals are names, far shorter than any credential: every format but a URL
    // is at least [`SHORTEST_CREDENTIAL`] characters long (the Slack token
    // `xoxb-` and ten more; a private key's header is longer still). Longer ones hold
    // none of the words a credential holds. In ASCII text, that is: the AWS secret's
    // name is matched in any case, and Unicode case folding maps other letters to `s`
    // and `k`, so text that is not ASCII goes to the patterns.
    if value.len() < SHORTEST_CREDENTIAL && !value.contains("://") {
        return out;
    }
    if value.is_ascii() && !holds(&CREDENTIAL_WORDS, value) && !holds(&AWS_WORD, value) {
        return out;
    }
    find_all(&CREDENTIAL_PATTERNS, value, &mut out);
    if let Some(re) = PEM_HEADER.as_ref() {
        for m in re.find_iter(value) {
            let rest = &value[m.end()..];
            let end = rest
                .find("-----END")
                .and_then(|e| rest[e + 8..].find("-----").map(|f| m.end() + e + 8 + f + 5))
                .unwrap_or(value.len());
            let body = &value[m.end()..end];
            let base64 = body
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '+' || *c == '/')
                .count();
            // A header over `...` or a few characters is a documentation example; a short
            // or truncated key body is still key material.
            if base64 >= 16 && !is_placeholder(body) {
                out.push(Found {
                    kind: "private key",
                    start: m.start(),
                    end,
                });
            }
        }
    }
    out.sort_by_key(|f| (f.start, f.end));
    // One finding per place: an overlap (a URL holding a token) keeps the first.
    let mut kept: Vec<Found> = Vec::new();
    for f in out {
        if kept.last().is_none_or(|k| f.start >= k.end) {
            kept.push(f);
        }
    }
    kept
}

/// Django password hashes inside `value`.
pub fn password_hashes(value: &str) -> Vec<Found> {
    let mut out = Vec::new();
    // Every hash format has a `$` (see [`HASHES`]).
    if !value.contains('$') {
        return out;
    }
    find_all(&HASH_PATTERNS, value, &mut out);
    out.sort_by_key(|f| (f.start, f.end));
    out.dedup_by(|b, a| b.start < a.end);
    out
}

/// An AWS access key id, the whole value.
pub fn is_aws_key_id(value: &str) -> bool {
    // The pattern's length and prefixes, checked before it runs on every literal.
    value.len() == 20
        && (value.starts_with("AKIA") || value.starts_with("ASIA"))
        && AWS_KEY_ID.as_ref().is_some_and(|r| r.is_match(value))
        && !is_placeholder(value)
}

/// What an AWS secret access key looks like: 40 base64 characters of mixed case with a
/// digit (a 40-character hex digest has no upper case, so it never matches).
pub fn looks_like_aws_secret(value: &str) -> bool {
    value.len() == 40
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'/' || b == b'+')
        && value.bytes().any(|b| b.is_ascii_uppercase())
        && value.bytes().any(|b| b.is_ascii_lowercase())
        && value.bytes().any(|b| b.is_ascii_digit())
        && !is_placeholder(value)
}

/// A Twilio account SID (an identifier, not a secret: it marks its neighbours).
pub fn is_twilio_account_sid(value: &str) -> bool {
    value.len() == 34
        && value.starts_with("AC")
        && TWILIO_ACCOUNT_SID
            .as_ref()
            .is_some_and(|r| r.is_match(value))
        && !is_placeholder(value)
}

/// What a Twilio auth token looks like: 32 lowercase hex digits.
pub fn looks_like_twilio_token(value: &str) -> bool {
    value.len() == 32
        && value
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        && !is_placeholder(value)
}

/// Words that mark a value as a placeholder or a documentation example.
const PLACEHOLDER_WORDS: &[&str] = &[
    "example",
    "sample",
    "dummy",
    "placeholder",
    "changeme",
    "change_me",
    "change-me",
    "fake",
    "xxxx",
    "your_",
    "your-",
    "yourkey",
    "yourtoken",
    "redacted",
    "not-a-real",
    "not_a_real",
    "notreal",
    "invalid",
    "bogus",
    "mock",
    "insert_",
    "replace_",
    "12345678",
    "abcdefgh",
    "...",
    "***",
    // The signature of the example token on jwt.io.
    "sflkxwrjsmekkf2qt4fwpmejf36pok6yjv_adqssw5c",
];

/// The false-positive policy: a value is a placeholder, not a secret, when it contains
/// a placeholder word (`example`, `xxxx`, `changeme`, `dummy`, `your_`, `not-a-real`,
/// `invalid`, `mock`...), a template
/// marker (`<...>`, `{...}`, `${...}`, `%(...)s`), an obvious sequence (`12345678`,
/// `abcdefgh`), or fewer than six distinct characters (`AKIA0000000000000000`). AWS's own
/// documentation keys (`AKIAIOSFODNN7EXAMPLE`) end in `EXAMPLE`.
pub fn is_placeholder(value: &str) -> bool {
    let lower = value.to_ascii_lowercase();
    if PLACEHOLDER_WORDS.iter().any(|w| lower.contains(w)) {
        return true;
    }
    if value.contains(['<', '>', '{', '}']) || value.contains("${") || value.contains("%(") {
        return true;
    }
    let mut distinct: Vec<char> = value.chars().collect();
    distinct.sort_unstable();
    distinct.dedup();
    distinct.len() < 6
}

/// Passwords in URLs that are written as placeholders: `user:password@`, `:pass@`,
/// `:${DB_PASSWORD}@`, `:%s@`, `:***@`.
pub fn is_placeholder_password(password: &str) -> bool {
    let lower = password.to_ascii_lowercase();
    const WORDS: &[&str] = &[
        "password", "passwd", "pass", "pwd", "pw", "secret", "changeme", "xxx", "test",
    ];
    if WORDS.contains(&lower.as_str()) {
        return true;
    }
    if password.starts_with(['$', '%', '{', '<', '*']) || password.contains("${") {
        return true;
    }
    let mut distinct: Vec<char> = password.chars().collect();
    distinct.sort_unstable();
    distinct.dedup();
    distinct.len() < 2 || PLACEHOLDER_WORDS.iter().any(|w| lower.contains(w))
}

/// Hosts that only appear in documentation or on the developer's own machine
/// (RFC 2606 / RFC 6761 names, loopback).
pub fn is_documentation_host(host: &str) -> bool {
    let h = host.to_ascii_lowercase();
    h == "localhost"
        || h.starts_with("127.")
        || h == "0.0.0.0"
        || h == "[::1]"
        || h == "host"
        || h == "hostname"
        || h == "example.com"
        || h == "example.org"
        || h == "example.net"
        || h.ends_with(".example.com")
        || h.ends_with(".example.org")
        || h.ends_with(".example.net")
        || h.ends_with(".example")
        || h.ends_with(".test")
        || h.ends_with(".invalid")
        || h.ends_with(".localhost")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(value: &str) -> Vec<(&'static str, String)> {
        credentials(value)
            .into_iter()
            .map(|f| (f.kind, value[f.start..f.end].to_owned()))
            .collect()
    }

    fn one(value: &str, kind: &str, secret: &str) {
        assert_eq!(
            kinds(value),
            vec![(kind_of(kind), secret.to_owned())],
            "{value}"
        );
    }

    fn kind_of(kind: &str) -> &'static str {
        CREDENTIALS
            .iter()
            .map(|c| c.0)
            .chain(["private key"])
            .find(|k| *k == kind)
            .expect("known kind")
    }

    fn none(value: &str) {
        assert!(kinds(value).is_empty(), "{value}: {:?}", kinds(value));
    }

    #[test]
    fn every_pattern_compiles() {
        assert_eq!(CREDENTIAL_PATTERNS.list.len(), CREDENTIALS.len());
        assert_eq!(HASH_PATTERNS.list.len(), HASHES.len());
        assert!(CREDENTIAL_PATTERNS.set.is_some() && HASH_PATTERNS.set.is_some());
        assert!(PEM_HEADER.is_some() && AWS_KEY_ID.is_some() && TWILIO_ACCOUNT_SID.is_some());
        assert!(SQL_PASSWORD.is_some());
    }

    #[test]
    fn known_formats() {
        one(
            "AKIAQ3EGRXM2PLVNHTZW",
            "AWS access key ID",
            "AKIAQ3EGRXM2PLVNHTZW",
        );
        one(
            "aws_secret_access_key = Zq8mR2vL9xT4pW7nK1cF6hJ3bY5dG0sA/eU+iO2r",
            "AWS secret access key",
            "Zq8mR2vL9xT4pW7nK1cF6hJ3bY5dG0sA/eU+iO2r",
        );
        one(
            "token ghp_R8mK2vX9qL4tW7nZ1cF6hJ3bY5dG0sAeUiO2",
            "GitHub token",
            "ghp_R8mK2vX9qL4tW7nZ1cF6hJ3bY5dG0sAeUiO2",
        );
        one(
            "glpat-Rk2vX9qL4tW7nZ1cF6hJ",
            "GitLab token",
            "glpat-Rk2vX9qL4tW7nZ1cF6hJ",
        );
        one(
            "xoxb-2918374650-Rk2vX9qL4tW7nZ1c",
            "Slack token",
            "xoxb-2918374650-Rk2vX9qL4tW7nZ1c",
        );
        one(
            "https://hooks.slack.com/services/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",
            "Slack webhook URL",
            "services/T0QK7RW2H/B08LMXNV3KP/Rk2vX9qL4tW7nZ1cF6hJ3bY5",
        );
        one(
            "sk_live_51Hq8mR2vL9xT4pW7nK1cF6hJ",
            "Stripe live key",
            "sk_live_51Hq8mR2vL9xT4pW7nK1cF6hJ",
        );
        one(
            "AIzaSyR8mK2vX9qL4tW7nZ1cF6hJ3bY5dG0sAeU",
            "Google API key",
            "AIzaSyR8mK2vX9qL4tW7nZ1cF6hJ3bY5dG0sAeU",
        );
        one(
            "SK3f9a1c7e2b8d4f6a0c5e9b1d7f3a8c2e",
            "Twilio API key",
            "SK3f9a1c7e2b8d4f6a0c5e9b1d7f3a8c2e",
        );
        one(
            "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",
            "SendGrid API key",
            "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",
        );
        one(
            "postgres://app:S3cr3tPw9@db.internal:5432/app",
            "URL with a password",
            "S3cr3tPw9",
        );
        one(
            "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZG1pbiIsInJvbGUiOiJzdGFmZiJ9.Qm9ndXNTaWduYXR1cmVWYWx1ZTEyMw",
            "JSON Web Token",
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZG1pbiIsInJvbGUiOiJzdGFmZiJ9.Qm9ndXNTaWduYXR1cmVWYWx1ZTEyMw",
        );
        let key = format!(
            "-----BEGIN RSA PRIVATE KEY-----\n{}\n-----END RSA PRIVATE KEY-----",
            "MIIEowIBAAKCAQEAq8mR2vL9xT4pW7nK1cF6hJ3bY5dG0sAeUiO2rZq8mR2vL9xT4pW7nK1c"
        );
        one(&format!("x{key}y"), "private key", &key);
    }

    #[test]
    fn placeholders_and_lookalikes_are_silent() {
        none("AKIAIOSFODNN7EXAMPLE");
        none("AKIA0000000000000000");
        none("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
        none("ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
        none("ghp_1234567890abcdefghijklmnopqrstuvwxyz");
        none("sk_test_51Hq8mR2vL9xT4pW7nK1cF6hJ");
        none("sk_live_your_key_here_xxxxxxxxxxxxxxxx");
        none("postgres://user:password@localhost/db");
        none("postgres://user:S3cr3tPw9@localhost/db");
        none("postgres://app:S3cr3tPw9@db.example.com/app");
        none("postgres://user:${DB_PASSWORD}@db/app");
        none("https://user@github.com/org/repo.git");
        none("git+ssh://git@github.com/org/repo.git");
        none("http://localhost:8000/admin/");
        none("-----BEGIN PRIVATE KEY-----\n...\n-----END PRIVATE KEY-----");
        none("the token is shown once");
        none("SELECT id FROM auth_user WHERE password = %s");
        none("xoxb-not-a-real-token-at-all");
        none("http://host:8000/path@x");
    }

    #[test]
    fn recall() {
        one(
            "xoxb-2918374650123-4729103847561-Rk2vX9qL4tW7nZ1cF6hJ3bY5",
            "Slack token",
            "xoxb-2918374650123-4729103847561-Rk2vX9qL4tW7nZ1cF6hJ3bY5",
        );
        one(
            "xoxe.xoxp-1-Mi0yLTI5MTgzNzQ2NTAxMjMtNDcyOTEwMzg0NzU2MQ",
            "Slack token",
            "xoxe.xoxp-1-Mi0yLTI5MTgzNzQ2NTAxMjMtNDcyOTEwMzg0NzU2MQ",
        );
        one(
            "postgres://deploy:Xk9#mP2q?z@10.0.4.17:5432/app",
            "URL with a password",
            "Xk9#mP2q?z",
        );
        one(
            "postgresql://app:Tr0ub4dor@db-primary/app",
            "URL with a password",
            "Tr0ub4dor",
        );
        let short = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBq8mR2vL9xT4pW7\n-----END EC PRIVATE KEY-----";
        one(short, "private key", short);
    }

    #[test]
    fn hashes() {
        let h = "pbkdf2_sha256$600000$Rk2vX9qL4tW7$Y5dG0sAeUiO2r8mK2vX9qL4tW7nZ1cF6hJ3bY5dG0sA=";
        assert_eq!(password_hashes(h).len(), 1);
        let sql = format!("INSERT INTO auth_user (password) VALUES ('{h}')");
        let f = password_hashes(&sql);
        assert_eq!(&sql[f[0].start..f[0].end], h);
        assert!(password_hashes("pbkdf2_sha256$...").is_empty());
        assert!(password_hashes("argon2").is_empty());
        assert_eq!(
            password_hashes("md5$salt$5f4dcc3b5aa765d61d8327deb882cf99").len(),
            1
        );
        assert_eq!(
            password_hashes(
                "bcrypt_sha256$$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW"
            )
            .len(),
            1
        );
    }

    #[test]
    fn the_shortest_credentials_are_found() {
        assert_eq!(credentials("xoxb-9f3Kq7Lm2Z").len(), 1);
        assert_eq!("xoxb-9f3Kq7Lm2Z".len(), SHORTEST_CREDENTIAL);
        assert!(credentials("xoxb-9f3Kq7Lm2").is_empty());
        // The AWS secret's name in any case; other text that is not ASCII goes to the
        // patterns.
        assert_eq!(
            credentials("AWS_Secret_Access_Key = Zq8mR2vL9xT4pW7nK1cF6hJ3bY5dG0sA/eU+iO2r").len(),
            1
        );
        assert!(credentials("a long literal naming no credential at all").is_empty());
        // A URL is shorter: it goes to the patterns whatever its length.
        assert_eq!(credentials("s://:k9Zq@db").len(), 1);
    }

    #[test]
    fn the_word_search_ignores_ascii_case() {
        let sql = &SQL_PASSWORD_WORDS;
        assert!(holds(sql, "CREATE USER x PassWord 'y'"));
        assert!(holds(sql, "password"));
        assert!(!holds(sql, "passwor"));
        assert!(!holds(sql, "pass word"));
        assert!(holds(sql, "x IDENTIFIED"));
        // Not ASCII: the pattern decides (the long s folds to `s`).
        assert_eq!(pw_count("CREATE USER bob WITH PAſſWORD 'S3cr3t-pw'"), 1);
    }

    fn pw_count(sql: &str) -> usize {
        sql_password_clauses(sql).len()
    }

    #[test]
    fn the_shortest_forms_pass_the_length_checks() {
        assert_eq!(pw_count("password'x'"), 1);
        assert_eq!(pw_count("PASSWORD\"x\""), 1);
        assert_eq!(pw_count("password'x"), 0);
        assert!(is_aws_key_id("ASIAQ3EGRXM2PLVNHTZW"));
        assert!(!is_aws_key_id("ASIAQ3EGRXM2PLVNHTZ"));
        assert!(!is_aws_key_id("ASIAQ3EGRXM2PLVNHTZWX"));
        assert!(is_twilio_account_sid("AC3f9b2c7e1d4a6b8c0e2f4a6b8c0d1e3f"));
        assert!(!is_twilio_account_sid("AC3f9b2c7e1d4a6b8c0e2f4a6b8c0d1e3"));
    }

    #[test]
    fn sql_password_clauses_are_found() {
        let pw = |sql: &str| -> Vec<String> {
            sql_password_clauses(sql)
                .into_iter()
                .map(|f| sql[f.start..f.end].to_owned())
                .collect()
        };
        assert_eq!(
            pw("CREATE USER bob WITH PASSWORD 'S3cr3t-pw'"),
            ["S3cr3t-pw"]
        );
        assert_eq!(pw("ALTER ROLE app ENCRYPTED PASSWORD 'it''s'"), ["it''s"]);
        assert_eq!(
            pw("CREATE USER 'u'@'%' IDENTIFIED BY 'My$ql-pw'"),
            ["My$ql-pw"]
        );
        assert_eq!(
            pw("ALTER USER u IDENTIFIED WITH mysql_native_password BY \"n4tive\""),
            ["n4tive"]
        );
        assert_eq!(
            pw("SET PASSWORD FOR u = PASSWORD('0ld-style')"),
            ["0ld-style"]
        );
        assert!(pw("CREATE USER bob WITH PASSWORD %s").is_empty());
        assert!(pw("ALTER TABLE auth_user ALTER COLUMN password TYPE varchar(128)").is_empty());
        assert!(pw("UPDATE auth_user SET password = '' WHERE id = 1").is_empty());
    }

    #[test]
    fn pairs() {
        assert!(is_aws_key_id("AKIAQ3EGRXM2PLVNHTZW"));
        assert!(!is_aws_key_id("AKIAIOSFODNN7EXAMPLE"));
        assert!(looks_like_aws_secret(
            "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"
        ));
        assert!(!looks_like_aws_secret(
            "da39a3ee5e6b4b0d3255bfef95601890afd80709"
        ));
        assert!(is_twilio_account_sid("AC3f9a1c7e2b8d4f6a0c5e9b1d7f3a8c2e"));
        assert!(looks_like_twilio_token("9f3a1c7e2b8d4f6a0c5e9b1d7f3a8c2e"));
    }
}
