//! `wport-std-make`: the standard component for plain-Makefile ports (bzip2,
//! tree, lua). No configure step; `make -j{jobs} <make-args> <build-target>`
//! to build, `make <test-target>` when set, and
//! `make <destroot-args> <destroot-target>` to install (destroot-args default
//! to `DESTDIR={destroot} PREFIX={prefix}`, the target to `install`).
//!
//! The logic lives in [`wport_guest_sdk::std_build::Make`], where the
//! parameters are documented; this crate only exports it.

wport_guest_sdk::export_port!(wport_guest_sdk::std_build::Make);
