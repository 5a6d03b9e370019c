//! Smart Account Portal: orders for licensed products, assigned to holding
//! and customer smart accounts; account requests, roles and licenses.

pub mod config;
pub mod db;
pub mod demo;
pub mod device_client;
pub mod domain;
pub mod mail;
pub mod startup;
pub mod telemetry;
pub mod web;
