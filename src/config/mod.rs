//! What start-up loads before anything serves: the `TS_*` settings from the environment
//! (`settings`) and the clients and users of the config file (`file`).

mod file;
mod settings;

pub use self::file::Config;
pub use self::settings::{LogFormat, Settings};
