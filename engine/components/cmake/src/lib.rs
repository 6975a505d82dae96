//! `wport-std-cmake`: the standard component for CMake ports (MacPorts'
//! cmake PortGroup). Out of source in `{work}/build`: `cmake -S {worksrc}
//! -B {work}/build -DCMAKE_INSTALL_PREFIX={prefix} ...`, `cmake --build
//! --parallel {jobs}`, `ctest` when the port tests, and `cmake --install`
//! with `DESTDIR={destroot}`.
//!
//! The logic lives in [`wport_guest_sdk::std_build::CMake`], where the
//! parameters are documented; this crate only exports it.

wport_guest_sdk::export_port!(wport_guest_sdk::std_build::CMake);
