//! The integration suite: one binary that starts the real portal on a random
//! port against a fresh database per test, on SQLite and (when reachable)
//! PostgreSQL, and drives it over HTTP and in headless Chromium.

mod fixtures;
mod helpers;

mod accounts;
mod auth;
mod browser;
mod fuzz;
mod health;
mod home;
mod html_check;
mod identity;
mod licenses;
mod mail;
mod orders;
mod pages;
mod sa_orders;
mod sessions;
mod statements;
