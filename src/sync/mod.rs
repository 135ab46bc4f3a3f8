//! The books brought to the platform's truth: a variant's enrolment reads what the store
//! already has (`onboard`), drift repair compares the ledger with the platform and books the
//! difference (`reconcile`), unenrolment gives the store back what the app put on it
//! (`offboard`), and the long parts run as jobs with progress a merchant can follow
//! (`jobs`). Every repair goes through the same ledger engine as a webhook, so it is atomic,
//! idempotent, and converges with webhooks arriving meanwhile.

pub mod drift;
pub mod jobs;
pub mod offboard;
pub mod onboard;
pub mod reconcile;
pub mod rework;
pub mod zone;
