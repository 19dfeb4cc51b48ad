//! fd-web
