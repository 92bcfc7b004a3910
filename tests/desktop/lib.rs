//! The desktop console's end-to-end test lives in `desktop.rs`. Cargo needs a library target to
//! accept a package made of tests only; this is it, and it is empty.
