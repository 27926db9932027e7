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

/// Whether a line of `text` gives `pattern` (anchored, or as the README writes it
/// without the leading `/`) the attribute `attribute`.
pub fn has_line(text: &str, pattern: &str, attribute: &str) -> bool {
    text.lines().any(|l| {
        let mut words = l.split_whitespace();
        words
            .next()
            .is_some_and(|p| p == pattern || Some(p) == pattern.strip_prefix('/'))
            && words.any(|w| w == attribute)
    })
}

/// The file's text, empty when there is none. A file that is not UTF-8 is refused: it
/// would not be written back byte for byte.
pub fn read(workdir: &Path) -> Result<String> {
    let path = workdir.join(FILE);
    match std::fs::read(&path) {
        Ok(bytes) => String::from_utf8(bytes).map_err(|e| {
            Error::Usage(format!(
                "{FILE}: not UTF-8 text (byte {}), so plugin-lock does not rewrite it; add its line by hand",
                e.utf8_error().valid_up_to()
            ))
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
        Err(source) => Err(Error::Io { path, source }),
    }
}

/// The file's text for looking lines up only (never to write back): bytes that are not
/// UTF-8 replaced.
pub fn read_lossy(workdir: &Path) -> Result<String> {
    let path = workdir.join(FILE);
    match std::fs::read(&path) {
        Ok(bytes) => Ok(String::from_utf8_lossy(&bytes).into_owned()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
        Err(source) => Err(Error::Io { path, source }),
    }
}

/// Appends `lines` (after `comment`, when given) to the file, atomically; `current` is
/// what [`read`] returned.
pub fn append(
    workdir: &Path,
    current: &str,
    comment: Option<&str>,
    lines: &[String],
) -> Result<()> {
    let path = workdir.join(FILE);
    let mut new = current.to_owned();
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

/// Puts back what [`read`] returned (no file when it was empty and there was none).
pub fn restore(workdir: &Path, previous: &str) -> Result<()> {
    let path = workdir.join(FILE);
    let done = if previous.is_empty() {
        std::fs::remove_file(&path).or_else(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                Ok(())
            } else {
                Err(e)
            }
        })
    } else {
        crate::atomic::write_atomic(&path, previous.as_bytes())
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
        assert!(has_line("plugins/** -text\n", "/plugins/**", "-text"));
        assert!(!has_line("plugins/** text\n", "/plugins/**", "-text"));
    }
}
