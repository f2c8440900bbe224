//! Container images as shipit reads them, independent of any registry.

pub mod source;

pub use source::SourceRef;
