//! Back ends. One today: C for a Linux kernel module (`c`).

pub mod c;
