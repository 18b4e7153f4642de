//! Small independent protocol clients, used for readiness and for checking outcomes.
pub mod http;
pub mod s3;
pub mod thrift;
