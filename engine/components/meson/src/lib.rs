//! `wport-std-meson`: the standard component for Meson ports (MacPorts'
//! meson PortGroup). Out of source in `{work}/build`: `meson setup
//! --prefix={prefix} --libdir=lib --buildtype=release`, `ninja -j{jobs}`,
//! `meson test` when the port tests, and `meson install --destdir
//! {destroot}`.
//!
//! The logic lives in [`wport_guest_sdk::std_build::Meson`], where the
//! parameters are documented; this crate only exports it.

wport_guest_sdk::export_port!(wport_guest_sdk::std_build::Meson);
