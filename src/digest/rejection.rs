//! Why a plugin has no digest: the closed list of rejections (spec/DIGEST.md) and the
//! entry each one names.

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum RejectionKind {
    SymlinkEscape,
    SymlinkLoop,
    DanglingSymlink,
    UnsupportedEntry,
    UnsupportedPath,
}

impl RejectionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RejectionKind::SymlinkEscape => "symlink_escape",
            RejectionKind::SymlinkLoop => "symlink_loop",
            RejectionKind::DanglingSymlink => "dangling_symlink",
            RejectionKind::UnsupportedEntry => "unsupported_entry",
            RejectionKind::UnsupportedPath => "unsupported_path",
        }
    }
}

/// Why a plugin has no digest. `path` is the offending entry, relative to the repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub kind: RejectionKind,
    pub path: String,
    pub message: String,
}
