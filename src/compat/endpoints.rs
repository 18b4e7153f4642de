//! Where a running environment's components listen: the platform's [`Endpoints`] under the
//! names compat has always used.
//!
//! [`Endpoints`]: crate::platform::Endpoints

pub use crate::platform::endpoints::{
    s3_text, Endpoints as EnvEndpoints, LineEndpoints as VersionEndpoints,
};
