//! Pass 4: building the generated C into a `.ko` with the kernel's own build system.

pub mod tree;
