//! Lines in the build log, through the host's `log` interface.
//!
//! Use the functions, or the `format!`-style macros [`debug!`](crate::debug),
//! [`info!`](crate::info), [`warn!`](crate::warn) and
//! [`error!`](crate::error). The host truncates long messages.

pub use crate::bindings::wport::port::log::Level;

/// Append one line at `level`.
pub fn write(level: Level, message: impl AsRef<str>) {
    crate::imports::log::write(level, message.as_ref());
}

/// Append a debug line.
pub fn debug(message: impl AsRef<str>) {
    write(Level::Debug, message);
}

/// Append an informational line.
pub fn info(message: impl AsRef<str>) {
    write(Level::Info, message);
}

/// Append a warning.
pub fn warn(message: impl AsRef<str>) {
    write(Level::Warn, message);
}

/// Append an error line (the phase's returned error is reported anyway;
/// use this for problems the port recovers from).
pub fn error(message: impl AsRef<str>) {
    write(Level::Error, message);
}

/// Log a debug line built like `format!`.
#[macro_export]
macro_rules! debug {
    ($($arg:tt)*) => { $crate::log::debug(::std::format!($($arg)*)) };
}

/// Log an informational line built like `format!`.
#[macro_export]
macro_rules! info {
    ($($arg:tt)*) => { $crate::log::info(::std::format!($($arg)*)) };
}

/// Log a warning built like `format!`.
#[macro_export]
macro_rules! warn {
    ($($arg:tt)*) => { $crate::log::warn(::std::format!($($arg)*)) };
}

/// Log an error line built like `format!`.
#[macro_export]
macro_rules! error {
    ($($arg:tt)*) => { $crate::log::error(::std::format!($($arg)*)) };
}
