//! git's pre-push protocol: the lines git writes to the hook's stdin, one per pushed ref.

use crate::error::Result;
use crate::escape;

/// One pushed ref, from a stdin line of git's pre-push hook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Update {
    /// As git passes it: a full ref name, or the expression given to `git push`
    /// (`HEAD~1`, an id). Informational only: `local_id` is what is verified.
    pub local_ref: String,
    pub local_id: String,
    pub remote_ref: String,
    /// The remote's current id; `None` when the remote has no such ref yet (all zeros).
    pub remote_id: Option<String>,
}

/// A stdin line: a ref to verify, or a deletion (nothing to verify).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    Push(Update),
    Delete { remote_ref: String },
}

#[derive(Debug, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based line number on stdin.
    pub line: usize,
    pub message: String,
}

/// A full object id: 40 (SHA-1) or 64 (SHA-256) hexadecimal digits.
fn is_object_id(s: &str) -> bool {
    (s.len() == 40 || s.len() == 64) && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// git's null id, in either length.
fn is_null(id: &str) -> bool {
    !id.is_empty() && id.bytes().all(|b| b == b'0')
}

/// Parses git's pre-push stdin: `<local-ref> SP <local-id> SP <remote-ref> SP <remote-id>`
/// per line. The three last fields never hold a space; the local ref is split from the
/// right, so an expression given to `git push` stays whole. Blank lines are skipped.
pub fn parse(input: &str) -> Result<Vec<Line>, ParseError> {
    let mut out = Vec::new();
    for (i, raw) in input.lines().enumerate() {
        if raw.trim().is_empty() {
            continue;
        }
        let error = |message: String| ParseError {
            line: i + 1,
            message,
        };
        let expected = || {
            error(format!(
                "expected `<local-ref> <local-id> <remote-ref> <remote-id>`, got `{}`",
                escape::shown(raw)
            ))
        };
        let mut fields = raw.rsplitn(4, ' ');
        let (Some(remote_id), Some(remote_ref), Some(local_id), Some(local_ref)) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            return Err(expected());
        };
        if local_ref.is_empty() || remote_ref.is_empty() {
            return Err(expected());
        }
        for (what, id) in [("local", local_id), ("remote", remote_id)] {
            if !is_object_id(id) {
                return Err(error(format!(
                    "the {what} object id `{}` is not 40 or 64 hexadecimal digits",
                    escape::shown(id)
                )));
            }
        }
        if local_ref == "(delete)" || is_null(local_id) {
            out.push(Line::Delete {
                remote_ref: remote_ref.to_owned(),
            });
            continue;
        }
        out.push(Line::Push(Update {
            local_ref: local_ref.to_owned(),
            local_id: local_id.to_ascii_lowercase(),
            remote_ref: remote_ref.to_owned(),
            remote_id: (!is_null(remote_id)).then(|| remote_id.to_ascii_lowercase()),
        }));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "1111111111111111111111111111111111111111";
    const B: &str = "2222222222222222222222222222222222222222";
    const Z40: &str = "0000000000000000000000000000000000000000";
    const Z64: &str = "0000000000000000000000000000000000000000000000000000000000000000";
    const C64: &str = "abcdefabcdefabcdefabcdefabcdefabcdefabcdefabcdefabcdefabcdefabcd";

    fn push(local_ref: &str, local_id: &str, remote_ref: &str, remote_id: Option<&str>) -> Line {
        Line::Push(Update {
            local_ref: local_ref.into(),
            local_id: local_id.into(),
            remote_ref: remote_ref.into(),
            remote_id: remote_id.map(Into::into),
        })
    }

    #[test]
    fn empty_input_is_nothing_to_verify() {
        assert_eq!(parse(""), Ok(vec![]));
        assert_eq!(parse("\n\n"), Ok(vec![]));
    }

    #[test]
    fn every_line_is_read_not_only_the_first() {
        let input = format!(
            "refs/heads/main {A} refs/heads/main {B}\nrefs/tags/v1 {B} refs/tags/v1 {Z40}\n"
        );
        assert_eq!(
            parse(&input).unwrap(),
            vec![
                push("refs/heads/main", A, "refs/heads/main", Some(B)),
                push("refs/tags/v1", B, "refs/tags/v1", None),
            ]
        );
    }

    #[test]
    fn zeros_of_both_lengths_are_null() {
        let new64 = format!("refs/heads/x {C64} refs/heads/x {Z64}\n");
        assert_eq!(
            parse(&new64).unwrap(),
            vec![push("refs/heads/x", C64, "refs/heads/x", None)]
        );
        let del40 = format!("(delete) {Z40} refs/heads/gone {A}\n");
        let del64 = format!("(delete) {Z64} refs/heads/gone {C64}\n");
        for input in [del40, del64] {
            assert_eq!(
                parse(&input).unwrap(),
                vec![Line::Delete {
                    remote_ref: "refs/heads/gone".into()
                }]
            );
        }
    }

    #[test]
    fn expressions_stay_whole_and_the_id_is_what_counts() {
        let input = format!("HEAD~1 {A} refs/heads/x {Z40}\n{B} {B} refs/heads/y {A}\r\n");
        assert_eq!(
            parse(&input).unwrap(),
            vec![
                push("HEAD~1", A, "refs/heads/x", None),
                push(B, B, "refs/heads/y", Some(A)),
            ]
        );
        // An expression with a space (`HEAD@{1 day ago}`) is split from the right.
        let spaced = format!("HEAD@{{1 day ago}} {A} refs/heads/x {B}\n");
        assert_eq!(
            parse(&spaced).unwrap(),
            vec![push("HEAD@{1 day ago}", A, "refs/heads/x", Some(B))]
        );
    }

    #[test]
    fn malformed_lines_name_their_number() {
        let ok = format!("refs/heads/a {A} refs/heads/a {B}\n");
        for bad in [
            "garbage".to_owned(),
            format!("refs/heads/a {A} refs/heads/a"),
            format!("refs/heads/a {A} refs/heads/a 1234"),
            format!("refs/heads/a xyz{} refs/heads/a {B}", &A[3..]),
            format!(" {A} refs/heads/a {B}"),
            format!("refs/heads/a {A}  {B}"),
        ] {
            let input = format!("{ok}{bad}\n");
            let err = parse(&input).unwrap_err();
            assert_eq!(err.line, 2, "{bad:?}: {err:?}");
            assert!(!err.message.is_empty());
        }
        let hostile = parse("a\x1b[31m b c d\n").unwrap_err();
        assert!(!hostile.message.contains('\x1b'), "{hostile:?}");
    }
}
