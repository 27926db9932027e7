//! The integration suite: the binary, run against fixture repositories built with git.

#[allow(dead_code)] // helpers shared by modules; not every module uses each
mod util;
mod vectors;
