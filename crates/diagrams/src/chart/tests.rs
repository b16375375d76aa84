//! Chart tests.
