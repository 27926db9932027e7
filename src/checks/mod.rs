//! What a run decides. [`findings`] is the one closed list of finding kinds, with their
//! default severities and fixes; the other modules each produce findings of one concern
//! from a tree and the lock.

pub mod contract;
pub mod findings;
pub mod platform;

#[cfg(feature = "cli")]
pub mod changes;
#[cfg(feature = "cli")]
pub mod computed;
#[cfg(feature = "cli")]
pub mod integrity;
#[cfg(feature = "cli")]
pub mod ownership;
#[cfg(feature = "cli")]
pub mod pipeline;
#[cfg(feature = "cli")]
pub mod suppress;
