//! End-to-end tests of the `bridle` command: the real binary, real SQLite files, one private
//! temporary directory per test (see [`support::Sandbox`]).

mod audit;
mod broker_support;
mod brokers_limits;
mod brokers_oidc_mcp;
mod brokers_openbao;
mod brokers_planted;
mod brokers_redaction;
mod cli;
mod compliance;
mod console_commands;
mod crash;
mod evidence;
mod file_importers;
mod flows;
mod graph;
mod import;
mod kubernetes_rbac;
mod malformed;
mod openbao_acl_differential;
mod opengraph;
mod roundtrip;
mod sources;
mod spire_facts;
mod support;
