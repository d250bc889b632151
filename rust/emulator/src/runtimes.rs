//! Managed runtimes: a Python or Node.js function's code directory run with
//! the official runtime interface client as the runtime, the way AWS's base
//! images do (`python -m awslambdaric <handler>`,
//! `node aws-lambda-ric/index.mjs <handler>`).
//!
//! The clients come from a directory laid out like this repository's
//! `.runtimes/` (which `bash scripts/setup.sh` installs):
//! `python/bin/python` (with `awslambdaric`), `node/bin/node` and
//! `node/node_modules/aws-lambda-ric/index.mjs`. It is named by
//! `LAMBDA_EMULATOR_RUNTIMES`, or else it is the first `.runtimes` directory
//! found in the current directory or one of its parents.

use std::path::{Path, PathBuf};

use anyhow::bail;

/// The variable that names the directory holding the runtime clients.
pub const RUNTIMES_ENV: &str = "LAMBDA_EMULATOR_RUNTIMES";
/// The command that installs the clients in this repository.
pub const SETUP_COMMAND: &str = "bash scripts/setup.sh";

const PYTHON_VERSIONS: &[&str] = &["3.9", "3.10", "3.11", "3.12", "3.13", "3.14"];
const NODE_VERSIONS: &[&str] = &["20", "22", "24"];

/// The language of a managed runtime.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    Python,
    Node,
}

/// A managed runtime identifier, such as `python3.12` or `nodejs22.x`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagedRuntime {
    /// The identifier as Lambda spells it (`python3.12`, `nodejs22.x`).
    pub id: String,
    pub language: Language,
    /// `3.12` for Python, `22` for Node.js.
    pub version: String,
}

impl ManagedRuntime {
    /// Parses a runtime identifier; the error lists the supported ones.
    pub fn parse(id: &str) -> anyhow::Result<ManagedRuntime> {
        if let Some(v) = id.strip_prefix("python") {
            if PYTHON_VERSIONS.contains(&v) {
                return Ok(ManagedRuntime {
                    id: id.to_owned(),
                    language: Language::Python,
                    version: v.to_owned(),
                });
            }
        }
        if let Some(v) = id.strip_prefix("nodejs").and_then(|v| v.strip_suffix(".x")) {
            if NODE_VERSIONS.contains(&v) {
                return Ok(ManagedRuntime {
                    id: id.to_owned(),
                    language: Language::Node,
                    version: v.to_owned(),
                });
            }
        }
        bail!(
            "--runtime {id:?}: not a supported runtime; use one of {} (or leave --runtime out \
             to run the function directory's executable `bootstrap`)",
            supported().join(", ")
        )
    }

    /// `AWS_EXECUTION_ENV` as Lambda sets it for this runtime.
    pub fn execution_env(&self) -> String {
        format!("AWS_Lambda_{}", self.id)
    }

    /// The program and arguments that start the runtime client with `handler`.
    pub fn command(&self, clients: &Path, handler: &str) -> anyhow::Result<(PathBuf, Vec<String>)> {
        match self.language {
            Language::Python => {
                let python = clients.join("python/bin/python");
                require(
                    &python,
                    clients,
                    "python/bin/python (a Python with awslambdaric)",
                )?;
                Ok((
                    python,
                    vec!["-m".into(), "awslambdaric".into(), handler.to_owned()],
                ))
            }
            Language::Node => {
                let node = clients.join("node/bin/node");
                let ric = clients.join("node/node_modules/aws-lambda-ric/index.mjs");
                require(&node, clients, "node/bin/node (Node.js 22 or later)")?;
                require(&ric, clients, "node/node_modules/aws-lambda-ric/index.mjs")?;
                Ok((node, vec![ric.display().to_string(), handler.to_owned()]))
            }
        }
    }

    /// The module search path Lambda sets for this runtime, from the function
    /// directory and the layers (each layer's root is what Lambda unpacks
    /// into `/opt`), keeping only the directories that exist:
    /// `("PYTHONPATH", ...)` or `("NODE_PATH", ...)`.
    pub fn search_path(&self, function_dir: &Path, layer_roots: &[PathBuf]) -> (String, String) {
        let mut dirs: Vec<PathBuf> = Vec::new();
        let (name, layer_dirs): (&str, Vec<String>) = match self.language {
            // Lambda: /var/runtime, /var/task, /opt/python/lib/pythonX.Y/site-packages, /opt/python.
            Language::Python => {
                dirs.push(function_dir.to_owned());
                (
                    "PYTHONPATH",
                    vec![
                        format!("python/lib/python{}/site-packages", self.version),
                        "python".to_owned(),
                    ],
                )
            }
            // Lambda: /opt/nodejs/nodeNN/node_modules, /opt/nodejs/node_modules, /var/runtime/node_modules, /var/task.
            Language::Node => (
                "NODE_PATH",
                vec![
                    format!("nodejs/node{}/node_modules", self.version),
                    "nodejs/node_modules".to_owned(),
                ],
            ),
        };
        // Later layers override earlier ones in /opt, so they come first.
        for root in layer_roots.iter().rev() {
            for d in &layer_dirs {
                let p = root.join(d);
                if p.is_dir() {
                    dirs.push(p);
                }
            }
        }
        if self.language == Language::Node {
            dirs.push(function_dir.to_owned());
        }
        let joined = dirs
            .iter()
            .map(|d| d.display().to_string())
            .collect::<Vec<_>>()
            .join(":");
        (name.to_owned(), joined)
    }
}

/// Every supported identifier.
pub fn supported() -> Vec<String> {
    PYTHON_VERSIONS
        .iter()
        .map(|v| format!("python{v}"))
        .chain(NODE_VERSIONS.iter().map(|v| format!("nodejs{v}.x")))
        .collect()
}

fn require(path: &Path, clients: &Path, what: &str) -> anyhow::Result<()> {
    if !path.is_file() {
        bail!(
            "{} is missing: the runtime clients directory {} must hold {what}; run `{SETUP_COMMAND}` \
             in this repository to install them, or set {RUNTIMES_ENV} to a directory laid out \
             like its .runtimes/",
            path.display(),
            clients.display()
        );
    }
    Ok(())
}

/// Finds the runtime clients: `explicit` (a scenario's setting), else
/// `LAMBDA_EMULATOR_RUNTIMES`, else the first `.runtimes` in the current
/// directory or its parents.
pub fn locate(explicit: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(dir) = explicit {
        return checked_dir(dir, "the scenario's runtimes_dir");
    }
    if let Some(dir) = std::env::var_os(RUNTIMES_ENV).filter(|d| !d.is_empty()) {
        return checked_dir(Path::new(&dir), RUNTIMES_ENV);
    }
    let cwd = std::env::current_dir()?;
    for dir in cwd.ancestors() {
        let candidate = dir.join(".runtimes");
        if candidate.is_dir() {
            return Ok(candidate);
        }
    }
    bail!(
        "{RUNTIMES_ENV} is not set and there is no .runtimes directory in {} or its parents: run \
         `{SETUP_COMMAND}` in this repository (it installs awslambdaric and aws-lambda-ric under \
         .runtimes/), or set {RUNTIMES_ENV} to a directory holding python/bin/python and \
         node/bin/node with node/node_modules/aws-lambda-ric",
        cwd.display()
    )
}

fn checked_dir(dir: &Path, named_by: &str) -> anyhow::Result<PathBuf> {
    if !dir.is_dir() {
        bail!(
            "{named_by}={}: not a directory; run `{SETUP_COMMAND}` (it installs the runtime \
             clients under .runtimes/) and point {RUNTIMES_ENV} there",
            dir.display()
        );
    }
    Ok(std::path::absolute(dir)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_parse_and_bad_ones_are_named() {
        let py = ManagedRuntime::parse("python3.12").expect("test setup");
        assert_eq!(py.language, Language::Python);
        assert_eq!(py.execution_env(), "AWS_Lambda_python3.12");
        let node = ManagedRuntime::parse("nodejs22.x").expect("test setup");
        assert_eq!(node.language, Language::Node);
        assert_eq!(node.version, "22");
        for bad in ["python3.8", "nodejs18.x", "java21", "python", ""] {
            let e = ManagedRuntime::parse(bad)
                .expect_err("must fail")
                .to_string();
            assert!(e.starts_with(&format!("--runtime {bad:?}")), "{e}");
            assert!(e.contains("python3.14") && e.contains("nodejs24.x"), "{e}");
        }
    }

    #[test]
    fn search_paths_keep_existing_layer_directories_only() {
        let layer = tempfile::tempdir().expect("test setup");
        std::fs::create_dir_all(layer.path().join("python")).expect("test setup");
        std::fs::create_dir_all(layer.path().join("nodejs/node_modules")).expect("test setup");
        let roots = vec![layer.path().to_owned()];
        let py = ManagedRuntime::parse("python3.12").expect("test setup");
        let (name, value) = py.search_path(Path::new("/var/task"), &roots);
        assert_eq!(name, "PYTHONPATH");
        assert_eq!(
            value,
            format!("/var/task:{}", layer.path().join("python").display())
        );
        let node = ManagedRuntime::parse("nodejs22.x").expect("test setup");
        let (name, value) = node.search_path(Path::new("/var/task"), &roots);
        assert_eq!(name, "NODE_PATH");
        assert_eq!(
            value,
            format!(
                "{}:/var/task",
                layer.path().join("nodejs/node_modules").display()
            )
        );
    }

    #[test]
    fn missing_clients_name_the_variable_and_the_setup_command() {
        let empty = tempfile::tempdir().expect("test setup");
        let py = ManagedRuntime::parse("python3.12").expect("test setup");
        let e = py
            .command(empty.path(), "app.handler")
            .expect_err("must fail")
            .to_string();
        assert!(e.contains(RUNTIMES_ENV) && e.contains(SETUP_COMMAND), "{e}");
        let e = locate(Some(&empty.path().join("nope")))
            .expect_err("must fail")
            .to_string();
        assert!(e.contains(RUNTIMES_ENV) && e.contains(SETUP_COMMAND), "{e}");
    }
}
