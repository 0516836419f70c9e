// Generated from the wheels of Django 4.2.27, 5.0.14, 5.1.15, 5.2.9, 6.0.10, 6.1.3 by tests/tools/gen_contrib.py.
// Do not edit by hand: regenerate when a Django release adds contrib migrations.

/// `(app label, migration name, first Django version that ships it, dependencies)`.
/// A dependency `("__setting__", "AUTH_USER_MODEL")` is `swappable_dependency(settings.AUTH_USER_MODEL)`.
pub static CONTRIB_MIGRATIONS: &[super::ContribMigration] = &[
    ("admin", "0001_initial", "4.2", &[("__setting__", "AUTH_USER_MODEL"), ("contenttypes", "__first__")]),
    ("admin", "0002_logentry_remove_auto_add", "4.2", &[("admin", "0001_initial")]),
    ("admin", "0003_logentry_add_action_flag_choices", "4.2", &[("admin", "0002_logentry_remove_auto_add")]),
    ("auth", "0001_initial", "4.2", &[("contenttypes", "__first__")]),
    ("auth", "0002_alter_permission_name_max_length", "4.2", &[("auth", "0001_initial")]),
    ("auth", "0003_alter_user_email_max_length", "4.2", &[("auth", "0002_alter_permission_name_max_length")]),
    ("auth", "0004_alter_user_username_opts", "4.2", &[("auth", "0003_alter_user_email_max_length")]),
    ("auth", "0005_alter_user_last_login_null", "4.2", &[("auth", "0004_alter_user_username_opts")]),
    ("auth", "0006_require_contenttypes_0002", "4.2", &[("auth", "0005_alter_user_last_login_null"), ("contenttypes", "0002_remove_content_type_name")]),
    ("auth", "0007_alter_validators_add_error_messages", "4.2", &[("auth", "0006_require_contenttypes_0002")]),
    ("auth", "0008_alter_user_username_max_length", "4.2", &[("auth", "0007_alter_validators_add_error_messages")]),
    ("auth", "0009_alter_user_last_name_max_length", "4.2", &[("auth", "0008_alter_user_username_max_length")]),
    ("auth", "0010_alter_group_name_max_length", "4.2", &[("auth", "0009_alter_user_last_name_max_length")]),
    ("auth", "0011_update_proxy_permissions", "4.2", &[("auth", "0010_alter_group_name_max_length"), ("contenttypes", "0002_remove_content_type_name")]),
    ("auth", "0012_alter_user_first_name_max_length", "4.2", &[("auth", "0011_update_proxy_permissions")]),
    ("contenttypes", "0001_initial", "4.2", &[]),
    ("contenttypes", "0002_remove_content_type_name", "4.2", &[("contenttypes", "0001_initial")]),
    ("flatpages", "0001_initial", "4.2", &[("sites", "0001_initial")]),
    ("redirects", "0001_initial", "4.2", &[("sites", "0001_initial")]),
    ("redirects", "0002_alter_redirect_new_path_help_text", "4.2", &[("redirects", "0001_initial")]),
    ("sessions", "0001_initial", "4.2", &[]),
    ("sites", "0001_initial", "4.2", &[]),
    ("sites", "0002_alter_domain_unique", "4.2", &[("sites", "0001_initial")]),
];
