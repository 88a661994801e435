//! Database URLs made safe to print: the one redaction used by every message, log line and
//! `igsync config` that shows a database URL.

/// The URL with any password removed: `postgres://user:secret@host/db` →
/// `postgres://user@host/db`, and a `password=` parameter is dropped. A password that holds
/// `@`, `:`, `/` or `?` unencoded is still removed whole (the user info ends at the last
/// `@`); when in doubt, more is hidden rather than less. SQLite URLs have no password and
/// are returned as they are.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return drop_password_params(url, &[' ', '\t', '&']);
    };
    if scheme.to_ascii_lowercase().starts_with("sqlite") {
        return url.to_owned();
    }
    let (user, rest) = match rest.rfind('@') {
        Some(at) => {
            let userinfo = &rest[..at];
            let end = userinfo
                .find([':', '@', '/', '?', '#'])
                .unwrap_or(userinfo.len());
            (Some(&userinfo[..end]), &rest[at + 1..])
        }
        None => (None, rest),
    };
    let rest = match rest.split_once('?') {
        Some((main, query)) => {
            let kept: Vec<&str> = query
                .split('&')
                .filter(|kv| !is_password_param(kv))
                .collect();
            if kept.is_empty() {
                main.to_owned()
            } else {
                format!("{main}?{}", kept.join("&"))
            }
        }
        None => rest.to_owned(),
    };
    match user {
        Some(user) => format!("{scheme}://{user}@{rest}"),
        None => format!("{scheme}://{rest}"),
    }
}

fn is_password_param(kv: &str) -> bool {
    let key = kv.split('=').next().unwrap_or("").trim();
    key.eq_ignore_ascii_case("password") || key.eq_ignore_ascii_case("pass")
}

/// Text that is not a URL (e.g. `host=db password=secret`): every `password=…` up to the
/// next separator becomes `password=***`.
fn drop_password_params(text: &str, separators: &[char]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.to_ascii_lowercase().find("password=") {
        let value_start = at + "password=".len();
        out.push_str(&rest[..value_start]);
        out.push_str("***");
        let value = &rest[value_start..];
        let end = value.find(separators).unwrap_or(value.len());
        rest = &value[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn passwords_never_appear_in_shown_urls() {
        for (url, shown) in [
            (
                "postgres://igsync:s3cret@db:5432/igsync",
                "postgres://igsync@db:5432/igsync",
            ),
            // Unencoded `@`, `:`, `/` and `?` in the password.
            ("postgres://u:p@ss@h/db", "postgres://u@h/db"),
            ("postgresql://a:b:c@h/db?password=x", "postgresql://a@h/db"),
            ("postgres://u:p/ss@h:5432/db", "postgres://u@h:5432/db"),
            ("postgres://u:p?ss@h/db", "postgres://u@h/db"),
            ("postgres://u:@h/db", "postgres://u@h/db"),
            ("postgres://:pw@h/db", "postgres://@h/db"),
            // The password as a parameter, alone or among others.
            (
                "postgres://u@h/db?sslmode=require&password=s3cret",
                "postgres://u@h/db?sslmode=require",
            ),
            (
                "postgres://u@h/db?PASSWORD=s3cret&sslmode=require",
                "postgres://u@h/db?sslmode=require",
            ),
            ("postgres://h/db?password=s3cret", "postgres://h/db"),
            ("postgres://u:pw@h/db?password=a@b", "postgres://u@b"),
            // Not URLs at all, and URLs without secrets.
            (
                "host=db password=s3cret user=u",
                "host=db password=*** user=u",
            ),
            ("not a url", "not a url"),
            ("sqlite://igsync.db", "sqlite://igsync.db"),
            (
                "sqlite:///home/me@corp/igsync.db",
                "sqlite:///home/me@corp/igsync.db",
            ),
            ("postgres://u@h/db", "postgres://u@h/db"),
        ] {
            assert_eq!(redact_url(url), shown, "{url}");
        }
        for secret in ["s3cret", "p@ss", "ss@h", "p/ss", "p?ss", ":pw"] {
            for url in [
                format!("postgres://u:{secret}@h/db"),
                format!("postgres://u@h/db?password={secret}"),
            ] {
                let shown = redact_url(&url);
                assert!(!shown.contains(secret), "{url} → {shown}");
            }
        }
    }
}
