//! Tests of the proxy against real TCP servers on 127.0.0.1 (Toxiproxy's way: each toxic
//! against a real echo or source server), and of the HTTP mode against a tiny HTTP server.

mod fast;
mod http;
mod support;
mod switch;
mod tcp;
