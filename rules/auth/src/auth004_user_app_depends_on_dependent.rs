use crate::user::{contrib_needs_user, needs_user, user};
use djcheck_linter::{declare_rule, Diagnostic, Project, Rule, RuleMeta, Span};
use djcheck_project::graph::Origin;

declare_rule! {
    /// ## What it finds
    /// The migration that creates the custom user model depends, directly or
    /// transitively, on a migration that itself needs the user model: one with
    /// `swappable_dependency(settings.AUTH_USER_MODEL)` or a relation to the user model
    /// (`admin.0001_initial` is one).
    ///
    /// ## Why it matters
    /// The dependent must run after the user table exists, but the user model's migration
    /// waits for it: either a `CircularDependencyError`, or (when the swappable dependency
    /// resolves to an earlier migration of the user app) a foreign key to a table that
    /// does not exist yet.
    ///
    /// ## Example
    /// ```python
    /// # users/migrations/0001_initial.py, creating User
    /// dependencies = [("admin", "0003_logentry_add_action_flag_choices")]
    /// ```
    ///
    /// ## How to fix
    /// Remove that dependency from the user model's migration. If something there really
    /// needs the other app, move it into a later migration of the user app.
    pub struct UserAppDependsOnDependent { code: "AUTH004", name: "user-app-depends-on-dependent", severity: Error }
}

impl Rule for UserAppDependsOnDependent {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_project(&self, project: &Project, out: &mut Vec<Diagnostic>) {
        let Some(user) = user(project) else { return };
        let (true, Some(c)) = (user.custom, user.creation) else {
            return;
        };
        let g = &project.graph;
        let Some(cm) = project.migrations.get(c.migration) else {
            return;
        };
        let Some(cnode) = g.node(&cm.key()) else {
            return;
        };
        let needing: Vec<usize> = g
            .ancestors(cnode)
            .into_iter()
            .filter(|&a| a != cnode)
            .filter(|&a| match g.nodes[a].origin {
                Some(Origin::Project(i)) => project
                    .migrations
                    .get(i)
                    .is_some_and(|m| needs_user(m, project.references_of(i), &user)),
                Some(Origin::Contrib) => contrib_needs_user(&g.nodes[a].key.0, &g.nodes[a].key.1),
                _ => false,
            })
            .collect();
        let Some(&first) = needing.first() else {
            return;
        };
        // Point at the dependency entry of the creating migration that leads there.
        let mut span = Span::new(cm.file, cm.class_range.unwrap_or_default());
        for d in &cm.dependencies {
            let target = g.replacement_of(&d.key);
            let node = g.node(target).or_else(|| {
                (d.key.1 == "__first__")
                    .then(|| {
                        g.root_nodes(&d.key.0)
                            .into_iter()
                            .min_by(|a, b| g.nodes[*a].key.cmp(&g.nodes[*b].key))
                    })
                    .flatten()
            });
            if let Some(n) = node {
                if n == first || g.ancestors(n).contains(&first) {
                    span = Span::new(cm.file, d.range);
                    break;
                }
            }
        }
        // No dependency of its own leads there: a `run_before` elsewhere made the user
        // app wait (`x.run_before = [y]` makes `y` depend on `x`). Find the migration
        // holding it, between the one that needs the user model and this one.
        let mut run_before: Option<(&djcheck_project::migration::Migration, Span, String)> = None;
        if span.range == cm.class_range.unwrap_or_default() {
            let on_path = |n: usize| n == cnode || g.ancestors(n).contains(&first) || n == first;
            let chain = g.ancestors(cnode);
            'find: for &x in std::iter::once(&first).chain(chain.iter()) {
                if !(x == first || g.ancestors(x).contains(&first)) {
                    continue;
                }
                let Some(Origin::Project(i)) = g.nodes[x].origin else {
                    continue;
                };
                let Some(xm) = project.migrations.get(i) else {
                    continue;
                };
                for r in &xm.run_before {
                    let Some(y) = g.node(g.replacement_of(&r.key)) else {
                        continue;
                    };
                    if (y == cnode || chain.contains(&y)) && on_path(y) {
                        run_before = Some((
                            xm,
                            Span::new(xm.file, r.range),
                            format!("{}.{}", r.key.0, r.key.1),
                        ));
                        break 'find;
                    }
                }
            }
        }
        let names: Vec<String> = needing
            .iter()
            .take(5)
            .map(|&a| format!("`{}.{}`", g.nodes[a].key.0, g.nodes[a].key.1))
            .collect();
        let mut d = Self::META
            .diagnostic(format!(
                "`{}.{}` creates the user model but depends on {}, which needs the user model",
                cm.app,
                cm.name,
                names.join(", ")
            ))
            .at(
                span,
                if run_before.is_some() {
                    "made to wait by a `run_before`"
                } else {
                    "this dependency leads to a migration that needs the user model"
                },
            );
        if let Some((xm, rs, target)) = &run_before {
            d = d.label(
                *rs,
                format!("`{}.{}` asks to run before `{target}`", xm.app, xm.name),
            );
        }
        if let Some(Origin::Project(i)) = g.nodes[first].origin {
            if let Some(m) = project.migrations.get(i) {
                d = d.label(
                    Span::new(m.file, m.class_range.unwrap_or_default()),
                    "needs the user model",
                );
            }
        }
        d = d.help(match &run_before {
            Some((xm, _, target)) => format!(
                "remove (\"{}\") from the `run_before` of `{}.{}`: the user model must be created before every migration that needs it",
                target.replacen('.', "\", \"", 1),
                xm.app,
                xm.name
            ),
            None => format!(
                "remove this dependency from `{}.{}`; move what needs it into a later migration of app `{}`",
                cm.app, cm.name, cm.app
            ),
        });
        out.push(d);
    }
}
