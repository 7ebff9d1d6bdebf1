//! The identity an authenticating proxy sends in request headers, read with Dagu's rules: exactly
//! one user value, bounded and printable; groups as comma-separated values with CSV quoting,
//! bounded in size and count. The Engine only believes them from a trusted peer (`http` checks).

const MAX_USER_BYTES: usize = 255;
const MAX_GROUP_BYTES: usize = 512;
const MAX_GROUPS_HEADER_BYTES: usize = 64 * 1024;
const MAX_GROUPS: usize = 1000;

/// Why the headers name nobody usable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderProblem {
    /// No user header, or an empty one: 401 "proxy identity unavailable".
    Missing,
    /// Several user values, too long, unprintable, or groups that do not parse: 400.
    Malformed,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyIdentity {
    pub user: String,
    /// In first-seen order, without repeats.
    pub groups: Vec<String>,
}

/// `user_lines` and `group_lines` are every line of the two headers, in the order received.
pub fn read_identity(
    user_lines: &[&str],
    group_lines: &[&str],
) -> Result<ProxyIdentity, HeaderProblem> {
    let user = match user_lines {
        [] => return Err(HeaderProblem::Missing),
        [one] => trim_ows(one),
        _ => return Err(HeaderProblem::Malformed),
    };
    if user.is_empty() {
        return Err(HeaderProblem::Missing);
    }
    if user.len() > MAX_USER_BYTES || !printable(user) {
        return Err(HeaderProblem::Malformed);
    }
    Ok(ProxyIdentity {
        user: user.to_string(),
        groups: read_groups(group_lines)?,
    })
}

fn read_groups(lines: &[&str]) -> Result<Vec<String>, HeaderProblem> {
    if lines.iter().map(|line| line.len()).sum::<usize>() > MAX_GROUPS_HEADER_BYTES {
        return Err(HeaderProblem::Malformed);
    }
    let mut groups: Vec<String> = Vec::new();
    let mut named = 0;
    for line in lines {
        for field in csv_record(line).ok_or(HeaderProblem::Malformed)? {
            let group = trim_ows(&field);
            if group.is_empty() {
                continue;
            }
            named += 1;
            if named > MAX_GROUPS || group.len() > MAX_GROUP_BYTES || !printable(group) {
                return Err(HeaderProblem::Malformed);
            }
            if !groups.iter().any(|known| known == group) {
                groups.push(group.to_string());
            }
        }
    }
    Ok(groups)
}

/// One CSV record (RFC 4180): fields split at commas, a field that starts with `"` runs to its
/// closing quote with `""` for a quote inside. A quote anywhere else, text after a closing quote,
/// an unclosed quote or a line break is `None`. An empty line is no fields.
fn csv_record(line: &str) -> Option<Vec<String>> {
    if line.is_empty() {
        return Some(Vec::new());
    }
    if line.contains(['\r', '\n']) {
        return None;
    }
    let mut fields = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        let mut field = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next()? {
                    '"' if chars.peek() == Some(&'"') => {
                        chars.next();
                        field.push('"');
                    }
                    '"' => break,
                    c => field.push(c),
                }
            }
            match chars.next() {
                None => {
                    fields.push(field);
                    return Some(fields);
                }
                Some(',') => fields.push(field),
                Some(_) => return None,
            }
        } else {
            loop {
                match chars.next() {
                    None => {
                        fields.push(field);
                        return Some(fields);
                    }
                    Some(',') => break,
                    Some('"') => return None,
                    Some(c) => field.push(c),
                }
            }
            fields.push(field);
        }
    }
}

/// HTTP's optional whitespace around a value: spaces and tabs.
fn trim_ows(text: &str) -> &str {
    text.trim_matches([' ', '\t'])
}

fn printable(text: &str) -> bool {
    !text.chars().any(char::is_control)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn groups(names: &[&str]) -> Vec<String> {
        names.iter().map(|name| name.to_string()).collect()
    }

    #[test]
    fn one_user_value_with_groups_reads_as_an_identity() {
        let identity = read_identity(&[" alice "], &["ops, dev", "dev,admins"]).expect("reads");
        assert_eq!(identity.user, "alice");
        assert_eq!(identity.groups, groups(&["ops", "dev", "admins"]));
    }

    #[test]
    fn a_missing_or_empty_user_is_unavailable() {
        assert_eq!(read_identity(&[], &[]), Err(HeaderProblem::Missing));
        assert_eq!(read_identity(&["  "], &[]), Err(HeaderProblem::Missing));
    }

    #[test]
    fn duplicated_oversized_or_unprintable_users_are_malformed() {
        assert_eq!(
            read_identity(&["a", "b"], &[]),
            Err(HeaderProblem::Malformed)
        );
        let long = "a".repeat(256);
        assert_eq!(read_identity(&[&long], &[]), Err(HeaderProblem::Malformed));
        assert!(read_identity(&[&"a".repeat(255)], &[]).is_ok());
        assert_eq!(
            read_identity(&["a\u{7}b"], &[]),
            Err(HeaderProblem::Malformed)
        );
    }

    #[test]
    fn quoted_groups_may_hold_commas_and_quotes() {
        let identity =
            read_identity(&["bob"], &[r#""Ops, EU","say ""hi""",plain"#]).expect("reads");
        assert_eq!(
            identity.groups,
            groups(&["Ops, EU", r#"say "hi""#, "plain"])
        );
    }

    #[test]
    fn broken_csv_and_too_many_groups_are_malformed() {
        for bad in [r#""unclosed"#, r#"a"b"#, r#""x"y"#] {
            assert_eq!(
                read_identity(&["bob"], &[bad]),
                Err(HeaderProblem::Malformed),
                "{bad}"
            );
        }
        let many = (0..1001)
            .map(|n| format!("g{n}"))
            .collect::<Vec<_>>()
            .join(",");
        assert_eq!(
            read_identity(&["bob"], &[&many]),
            Err(HeaderProblem::Malformed)
        );
        let big = "g".repeat(513);
        assert_eq!(
            read_identity(&["bob"], &[&big]),
            Err(HeaderProblem::Malformed)
        );
    }
}
