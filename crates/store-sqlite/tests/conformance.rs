//! The storage conformance suite (`sluice_store::conformance`) run against the SQLite store, one
//! test per check, each on a fresh database in its own temporary directory.

use sluice_store::conformance::Fixture;
use sluice_store_sqlite::SqliteStore;

sluice_store::conformance_tests!(|| {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = SqliteStore::open_dir(dir.path()).expect("the SQLite store opens");
    Fixture::new(store).keeping(dir)
});
