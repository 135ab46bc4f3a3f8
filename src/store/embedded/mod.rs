//! Embedded backend (placeholder, being written).
