//! The web UI in a real browser (headless Chromium through chromedriver): signing in and
//! out, sessions that end, CSRF, the campaigns list, accessibility (axe-core, keyboard) and
//! screenshots of each page. nextest runs these in the `browser` test group (two at a time).

mod campaigns;
mod harness;
mod sign_in;
