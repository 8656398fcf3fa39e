pub mod yaml;
pub mod decode;
pub mod diag;
pub mod raw;
pub mod time;
pub mod expr;
