//! Platforms bring the components up and down and hand out endpoints.
pub mod kubernetes;
pub mod local;
