//! `edgewatch echo`: a small HTTP server to run as (or beside) a backend. It answers every
//! request with what it saw of the client, so the prober can check that the client's IP
//! survived the load balancer.
pub mod crc32c;
pub mod proxy_protocol;
