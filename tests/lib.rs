//! Bridle's end-to-end tests live in `e2e/` (one test binary, a module per area). Cargo needs a
//! library target to accept a package made of tests only; this is it, and it is empty.
