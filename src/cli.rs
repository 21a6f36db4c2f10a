//! Command-line definition (clap). PENDING.
