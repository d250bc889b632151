//! Checks that a binary is a 64-bit little-endian ELF executable and which
//! architecture it was built for. Reading three header fields by hand is
//! simpler than pulling in an object-file parser for them.

use crate::arch::Arch;

/// What the first bytes of a file say about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryKind {
    /// A 64-bit little-endian ELF file for a Lambda architecture.
    Elf(Arch),
    /// A 64-bit little-endian ELF file for another machine (`e_machine`).
    OtherElf(u16),
    /// Not a 64-bit little-endian ELF file (a script, a Mach-O binary, ...).
    NotElf,
}

pub fn classify(header: &[u8]) -> BinaryKind {
    const MAGIC: &[u8] = b"\x7fELF";
    const CLASS_64: u8 = 2;
    const LITTLE_ENDIAN: u8 = 1;
    if header.len() < 20
        || &header[..4] != MAGIC
        || header[4] != CLASS_64
        || header[5] != LITTLE_ENDIAN
    {
        return BinaryKind::NotElf;
    }
    let machine = u16::from_le_bytes([header[18], header[19]]);
    Arch::from_elf_machine(machine).map_or(BinaryKind::OtherElf(machine), BinaryKind::Elf)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(machine: u16) -> Vec<u8> {
        let mut h = b"\x7fELF\x02\x01\x01".to_vec();
        h.resize(18, 0);
        h.extend_from_slice(&machine.to_le_bytes());
        h
    }

    #[test]
    fn recognises_both_architectures_and_refuses_the_rest() {
        assert_eq!(classify(&header(183)), BinaryKind::Elf(Arch::Arm64));
        assert_eq!(classify(&header(62)), BinaryKind::Elf(Arch::X86_64));
        assert_eq!(classify(&header(40)), BinaryKind::OtherElf(40));
        assert_eq!(classify(b"#!/bin/sh\necho hi\n-------"), BinaryKind::NotElf);
        assert_eq!(classify(b"\x7fELF"), BinaryKind::NotElf);
    }

    #[test]
    fn the_test_binary_itself_is_recognised() {
        let me = std::fs::read(std::env::current_exe().expect("current exe")).expect("read");
        let expected = if cfg!(target_arch = "x86_64") {
            BinaryKind::Elf(Arch::X86_64)
        } else {
            BinaryKind::Elf(Arch::Arm64)
        };
        assert_eq!(classify(&me), expected);
    }
}
