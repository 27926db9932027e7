//! Lines that plugin-lock adds to the work tree's top-level `.gitattributes` (the merge
//! driver's, `init`'s line-end pin): a pattern for a path of the repository, and an
//! append that keeps what is there and adds a line once.

use std::path::Path;

use crate::error::{Error, Result};

pub const FILE: &str = ".gitattributes";

/// `path` as a `.gitattributes` pattern, anchored at the root, its glob characters
/// escaped, then `glob` (unescaped: `/**`, or nothing), quoted when it holds spaces.
pub fn pattern(path: &str, glob: &str) -> String {
    let mut escaped = String::from("/");
    for c in path.chars() {
        if matches!(c, '*' | '?' | '[' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped.push_str(glob);
    if escaped.contains([' ', '\t', '"']) {
        format!("\"{}\"", escaped.replace('\\', "\\\\").replace('"', "\\\""))
    } else {
        escaped
    }
}

/// The file as it is: its text for looking lines up, and whether that text is its bytes.
pub struct Current {
    /// The text, bytes that are not UTF-8 replaced.
    pub text: String,
    /// Where the bytes stop being UTF-8, when they do: such a file is never rewritten.
    not_utf8_at: Option<usize>,
}

impl Current {
    /// Whether a line gives `pattern` (anchored, or as the README writes it without the
    /// leading `/`) the attribute `attribute`.
    pub fn has_line(&self, pattern: &str, attribute: &str) -> bool {
        self.text.lines().any(|l| {
            let mut words = l.split_whitespace();
            words
                .next()
                .is_some_and(|p| p == pattern || Some(p) == pattern.strip_prefix('/'))
                && words.any(|w| w == attribute)
        })
    }
}

/// The file, empty when there is none.
pub fn read(workdir: &Path) -> Result<Current> {
    let path = workdir.join(FILE);
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(source) => return Err(Error::Io { path, source }),
    };
    Ok(match String::from_utf8(bytes) {
        Ok(text) => Current {
            text,
            not_utf8_at: None,
        },
        Err(e) => Current {
            not_utf8_at: Some(e.utf8_error().valid_up_to()),
            text: String::from_utf8_lossy(e.as_bytes()).into_owned(),
        },
    })
}

/// Appends `lines` (after `comment`, when given) to the file, atomically. A file that is
/// not UTF-8 is refused: it would not be written back byte for byte.
pub fn append(
    workdir: &Path,
    current: &Current,
    comment: Option<&str>,
    lines: &[String],
) -> Result<()> {
    if let Some(at) = current.not_utf8_at {
        return Err(Error::Usage(format!(
            "{FILE}: not UTF-8 text (byte {at}), so plugin-lock does not rewrite it; add its line by hand"
        )));
    }
    let path = workdir.join(FILE);
    let mut new = current.text.clone();
    if !new.is_empty() && !new.ends_with('\n') {
        new.push('\n');
    }
    if let Some(comment) = comment {
        new.push_str(&format!("# {comment}\n"));
    }
    for line in lines {
        new.push_str(line);
        new.push('\n');
    }
    crate::atomic::write_atomic(&path, new.as_bytes()).map_err(|source| Error::Io { path, source })
}

/// Puts back the file [`append`] extended (no file when it was empty and there was none).
pub fn restore(workdir: &Path, previous: &Current) -> Result<()> {
    let path = workdir.join(FILE);
    let done = if previous.text.is_empty() {
        std::fs::remove_file(&path).or_else(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                Ok(())
            } else {
                Err(e)
            }
        })
    } else {
        crate::atomic::write_atomic(&path, previous.text.as_bytes())
    };
    done.map_err(|source| Error::Io { path, source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_are_anchored_escaped_and_quoted() {
        assert_eq!(pattern("plugins/PLUGINS.lock", ""), "/plugins/PLUGINS.lock");
        assert_eq!(pattern("plugins", "/**"), "/plugins/**");
        assert_eq!(pattern("a*b/c", "/**"), "/a\\*b/c/**");
        assert_eq!(pattern("my plugins", "/**"), "\"/my plugins/**\"");
        let current = |text: &str| Current {
            text: text.to_owned(),
            not_utf8_at: None,
        };
        assert!(current("plugins/** -text\n").has_line("/plugins/**", "-text"));
        assert!(!current("plugins/** text\n").has_line("/plugins/**", "-text"));
    }
}
