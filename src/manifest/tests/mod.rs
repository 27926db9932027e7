//! The manifest check, one file per format, through [`crate::manifest::check`] as the
//! inventory calls it.

mod front_matter;
mod json;
mod rules;
mod yaml;
