//! `wport-std-autotools`: the standard component for GNU autotools ports.
//! `./configure --prefix={prefix} <configure-args>` (param `configure-script`
//! replaces `./configure`), `make -j{jobs} <make-args> <build-target>`,
//! `make <test-target>` when set, and
//! `make <destroot-args> DESTDIR={destroot} <destroot-target>` (default
//! target `install`).
//!
//! The logic lives in [`wport_guest_sdk::std_build::Autotools`], where the
//! parameters are documented; this crate only exports it.

wport_guest_sdk::export_port!(wport_guest_sdk::std_build::Autotools);
