//! What customers and merchants are told. So far: the ETA engine (SPEC 6).

pub mod eta;
