//! Every rule family, assembled. Adding a family is one line here; adding a rule to a
//! family touches only that family.

use djcheck_linter::Rule;

/// All rules, sorted by code.
pub fn all_rules() -> Vec<&'static dyn Rule> {
    let mut rules: Vec<&'static dyn Rule> = Vec::new();
    rules.extend_from_slice(djcheck_rules_general::RULES);
    rules.extend_from_slice(djcheck_rules_migrations::RULES);
    rules.extend_from_slice(djcheck_rules_urls::RULES);
    rules.extend_from_slice(djcheck_rules_auth::RULES);
    rules.extend_from_slice(djcheck_rules_secrets::RULES);
    rules.extend_from_slice(djcheck_rules_sql::RULES);
    rules.extend_from_slice(djcheck_rules_runpython::RULES);
    rules.extend_from_slice(djcheck_rules_safe::RULES);
    rules.sort_by_key(|r| r.meta().code);
    rules
}

/// A rule by code (case-insensitive).
pub fn find(code: &str) -> Option<&'static dyn Rule> {
    all_rules()
        .into_iter()
        .find(|r| r.meta().code.eq_ignore_ascii_case(code))
}
