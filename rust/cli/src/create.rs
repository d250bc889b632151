//! `gracefulctl create-extension`: get the extension binary (given, or built
//! with cargo-lambda), check it is for the right architecture, write the
//! layer and the settings file beside it.

use crate::arch::Arch;
use crate::build::{self, Flavour};
use crate::elf::{classify, BinaryKind};
use crate::failure::Failure;
use crate::layer::{entry_path, LayerOut};
use crate::settings::Settings;
use anyhow::Context;
use std::fs;
use std::path::{Path, PathBuf};

/// Where the extension binary comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BinarySource {
    /// A binary built beforehand (`--binary`).
    Given(PathBuf),
    /// Build it with cargo-lambda in `source`; it lands under `target_dir`.
    Build {
        source: PathBuf,
        target_dir: PathBuf,
    },
}

/// Everything the command needs, already parsed.
#[derive(Debug, Clone)]
pub struct CreateExtension {
    pub arch: Arch,
    /// The layer's flavour: the features of the build (a `--binary` is taken as it is).
    pub flavour: Flavour,
    pub binary: BinarySource,
    pub out: LayerOut,
    pub settings: Settings,
}

/// What was written.
#[derive(Debug, Clone)]
pub struct Created {
    pub layer: PathBuf,
    pub settings_file: PathBuf,
    pub binary: PathBuf,
    pub binary_bytes: u64,
}

impl CreateExtension {
    pub fn run(&self) -> Result<Created, Failure> {
        let settings_file = self.out.settings_path().ok_or_else(|| {
            Failure::Usage(format!(
                "--out {}: the layer needs a name of its own; use for example --out layer or --out layer.zip",
                self.out.path().display()
            ))
        })?;
        let binary = match &self.binary {
            BinarySource::Given(path) => path.clone(),
            BinarySource::Build { source, target_dir } => {
                if !source.join("Cargo.toml").is_file() {
                    return Err(Failure::Usage(format!(
                        "--source {}: there is no Cargo.toml there; pass the repository root with \
                         --source, or a built extension with --binary",
                        source.display()
                    )));
                }
                build::run(source, self.arch, self.flavour)?;
                let built = build::built_binary(target_dir);
                if !built.is_file() {
                    return Err(Failure::Failed(anyhow::anyhow!(
                        "the build succeeded but {} is missing",
                        built.display()
                    )));
                }
                built
            }
        };
        let bytes = read_binary(&binary, self.arch, self.flavour)?;
        self.out.write(&bytes)?;
        fs::write(&settings_file, self.settings.env_file())
            .with_context(|| format!("writing {}", settings_file.display()))?;
        Ok(Created {
            layer: self.out.path().to_path_buf(),
            settings_file,
            binary,
            binary_bytes: bytes.len() as u64,
        })
    }
}

/// Reads the extension and checks it can run as a Lambda extension on `arch`.
fn read_binary(path: &Path, arch: Arch, flavour: Flavour) -> Result<Vec<u8>, Failure> {
    let shown = path.display();
    let meta = fs::metadata(path).map_err(|e| {
        Failure::Usage(format!(
            "--binary {shown}: {e}; pass the extension built by `{}` \
             (target/lambda/extensions/graceful-shutdown), or leave out --binary to build it",
            build::command_line(arch, flavour)
        ))
    })?;
    if !meta.is_file() {
        return Err(Failure::Usage(format!(
            "--binary {shown}: not a file; pass the extension executable itself"
        )));
    }
    // A --binary that cannot be read is a wrong command line (exit 2), like a
    // missing one: the fix is another path or other permissions, not a retry.
    let bytes = fs::read(path).map_err(|e| {
        Failure::Usage(format!(
            "--binary {shown}: cannot be read ({e}); make it readable, or pass another \
             extension binary"
        ))
    })?;
    match classify(&bytes) {
        BinaryKind::Elf(found) if found == arch => Ok(bytes),
        BinaryKind::Elf(found) => Err(Failure::Usage(format!(
            "--binary {shown} is built for {found}, but --arch is {arch}; pass --arch {found}, \
             or a binary built for {arch} (`{}`)",
            build::command_line(arch, flavour)
        ))),
        BinaryKind::OtherElf(machine) => Err(Failure::Usage(format!(
            "--binary {shown} is built for ELF machine {machine}, which Lambda does not run; \
             build it for {arch} with `{}`",
            build::command_line(arch, flavour)
        ))),
        BinaryKind::NotElf => Err(Failure::Usage(format!(
            "--binary {shown} is not a 64-bit Linux executable (ELF); Lambda runs {} as a \
             native program, so pass the built extension binary",
            entry_path()
        ))),
    }
}
