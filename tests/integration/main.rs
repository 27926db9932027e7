//! The integration suite: the binary, run against fixture repositories built with git.

mod util;
mod vectors;
