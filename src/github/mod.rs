//! GitHub: the Actions environment, check runs and pull-request approvals — the only
//! code that talks to GitHub's API, and the only async code.

pub mod actions_env;
pub mod api;
pub mod approvals;
pub mod checkrun;
