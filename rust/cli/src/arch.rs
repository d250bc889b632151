//! The two Lambda architectures and what each means for the build and the
//! deployment snippets.

use crate::build;
use clap::ValueEnum;
use serde::Serialize;
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
pub enum Arch {
    /// AWS Graviton (aarch64).
    #[value(name = "arm64")]
    #[serde(rename = "arm64")]
    Arm64,
    /// Intel and AMD (x86-64).
    #[value(name = "x86_64")]
    #[serde(rename = "x86_64")]
    X86_64,
}

impl Arch {
    /// The name Lambda uses (`Architectures`, `CompatibleArchitectures`).
    pub fn lambda_name(self) -> &'static str {
        match self {
            Arch::Arm64 => "arm64",
            Arch::X86_64 => "x86_64",
        }
    }

    /// The Rust target the layer binary is built for (`spec/layer.json`):
    /// musl, so that the static binary runs on Amazon Linux 2 (glibc 2.26)
    /// and 2023 alike.
    pub fn musl_target(self) -> &'static str {
        match build::spec().architectures.get(self.lambda_name()) {
            Some(spec) => &spec.rust_target,
            // Every architecture is in the spec: checked by the tests below.
            None => panic!("spec/layer.json has no architecture {self}"),
        }
    }

    /// `e_machine` of an ELF executable for this architecture.
    pub fn elf_machine(self) -> u16 {
        match self {
            Arch::Arm64 => 183, // EM_AARCH64
            Arch::X86_64 => 62, // EM_X86_64
        }
    }

    pub fn from_elf_machine(machine: u16) -> Option<Arch> {
        [Arch::Arm64, Arch::X86_64]
            .into_iter()
            .find(|a| a.elf_machine() == machine)
    }
}

impl fmt::Display for Arch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.lambda_name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_architectures_are_those_of_the_spec() {
        let ours: Vec<&str> = Arch::value_variants()
            .iter()
            .map(|a| a.lambda_name())
            .collect();
        let spec: Vec<&str> = build::spec()
            .architectures
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(ours, spec);
        for arch in Arch::value_variants() {
            assert_eq!(
                arch.to_possible_value().map(|v| v.get_name().to_string()),
                Some(arch.lambda_name().to_string())
            );
        }
    }
}
