//! gracefulctl: the graceful-shutdown layer and its deployment snippets for
//! people who deploy Lambda functions without the CDK.
//!
//! The binary (`src/main.rs`) parses the command line (`args`) and runs one
//! command: `create` (create-extension), `render` or `emulate` (whose command
//! line is also the `lambda-emulator` binary, `src/bin/lambda-emulator.rs`).

pub mod arch;
pub mod args;
pub mod build;
pub mod create;
pub mod elf;
pub mod emulate;
pub mod failure;
pub mod layer;
pub mod render;
pub mod settings;
pub mod values;
