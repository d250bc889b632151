//! Managed runtimes: a Python, Node.js or Java function's code directory run
//! with the official runtime interface client as the runtime, the way AWS's
//! base images do (`python -m awslambdaric <handler>`,
//! `node aws-lambda-ric/index.mjs <handler>`,
//! `java -cp ... com.amazonaws.services.lambda.runtime.api.client.AWSLambda <handler>`).
//!
//! The clients come from a directory laid out like this repository's
//! `.runtimes/` (which `bash scripts/setup.sh` installs):
//! `python/bin/python` (with `awslambdaric`), `node/bin/node`,
//! `node/node_modules/aws-lambda-ric/index.mjs` and `java/lib/*.jar`
//! (`aws-lambda-java-runtime-interface-client` with what it needs). It is named by
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
const JAVA_VERSIONS: &[&str] = &["17", "21", "25"];
/// The system property that makes the Java client load its JNI library from a
/// path instead of unpacking it from its jar to the fixed `/tmp/.libaws-lambda-jni.so`.
const JAVA_JNI_PROPERTY: &str =
    "com.amazonaws.services.lambda.runtime.api.client.runtimeapi.NativeClient.JNI";
/// Where setup unpacks the client's JNI library for this machine, in the clients directory.
pub const JAVA_JNI_LIB: &str = "java/jni/libaws-lambda-jni.so";

/// The Java client's entry point (`aws-lambda-java-runtime-interface-client`).
pub const JAVA_MAIN: &str = "com.amazonaws.services.lambda.runtime.api.client.AWSLambda";
/// Where JDKs are looked for, besides `JAVA_HOME`.
const JVM_DIR: &str = "/usr/lib/jvm";

/// The language of a managed runtime.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    Python,
    Node,
}

/// An interpreted managed runtime, such as `python3.12` or `nodejs22.x`
/// (Java's are [`JavaRuntime`]s; [`Runtime`] is either).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagedRuntime {
    /// The identifier as Lambda spells it (`python3.12`, `nodejs22.x`).
    pub id: String,
    pub language: Language,
    /// `3.12` for Python, `22` for Node.js.
    pub version: String,
}

impl ManagedRuntime {
    /// Parses a Python or Node.js runtime identifier; the error lists every
    /// supported one (use [`Runtime::parse`] for any runtime, Java's too).
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
        .chain(JAVA_VERSIONS.iter().map(|v| format!("java{v}")))
        .collect()
}

/// A Java managed runtime (`java17`, `java21`, `java25`): the function's
/// classes and jars run on `aws-lambda-java-runtime-interface-client`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JavaRuntime {
    /// The identifier as Lambda spells it (`java21`).
    pub id: String,
    /// The Java feature release, `21`.
    pub version: u32,
}

/// The JDK a Java runtime runs on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Jdk {
    /// Its home (`bin/java` inside).
    pub home: PathBuf,
    /// Its feature release, from its `release` file.
    pub version: u32,
}

impl JavaRuntime {
    /// `java17`, `java21` or `java25`; `None` for anything else.
    pub fn parse(id: &str) -> Option<JavaRuntime> {
        let v = id.strip_prefix("java")?;
        JAVA_VERSIONS.contains(&v).then(|| JavaRuntime {
            id: id.to_owned(),
            version: v.parse().unwrap_or(0),
        })
    }

    /// The JDK to run on, from `candidates` (JDK homes): one of the runtime's
    /// own release; else, for want of one, the oldest newer one (on a machine
    /// with JDKs 17 and 25 only, java21 runs on 25). `None` if there is none of
    /// either.
    pub fn choose_jdk(&self, candidates: &[Jdk]) -> Option<Jdk> {
        let exact = candidates.iter().find(|j| j.version == self.version);
        let newer = || {
            candidates
                .iter()
                .filter(|j| j.version > self.version)
                .min_by_key(|j| j.version)
        };
        exact.or_else(newer).cloned()
    }

    /// The command that starts the Java client with `handler`: `java` of the
    /// chosen JDK with the flags of Lambda's Java runtimes (C1 only, the serial
    /// collector), the class path of the function (its directory, its jars at
    /// the top and in `lib/`), of the layers (`java/lib/*.jar`, Lambda's
    /// `/opt/java/lib`) and of the client (`java/lib/*.jar` of the clients
    /// directory), then the client's main class and the handler
    /// (`package.Class::method`).
    pub fn command(
        &self,
        clients: &Path,
        handler: &str,
        function_dir: &Path,
        layer_roots: &[PathBuf],
    ) -> anyhow::Result<(PathBuf, Vec<String>)> {
        let ric = clients.join("java/lib");
        let has_client = std::fs::read_dir(&ric).is_ok_and(|entries| {
            entries.flatten().any(|e| {
                e.file_name()
                    .to_str()
                    .is_some_and(|n| n.starts_with("aws-lambda-java-runtime-interface-client-"))
            })
        });
        if !has_client {
            require(
                &ric.join("aws-lambda-java-runtime-interface-client-<version>.jar"),
                clients,
                "java/lib/aws-lambda-java-runtime-interface-client-<version>.jar and its dependencies",
            )?;
        }
        let jdks = installed_jdks();
        let Some(jdk) = self.choose_jdk(&jdks) else {
            bail!(
                "--runtime {}: no JDK {} or later found (looked at JAVA_HOME and {JVM_DIR}/*; found {}); \
                 install one, or set JAVA_HOME to its directory",
                self.id,
                self.version,
                if jdks.is_empty() {
                    "none".to_owned()
                } else {
                    jdks.iter()
                        .map(|j| format!("{} ({})", j.home.display(), j.version))
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            );
        };
        if jdk.version != self.version {
            eprintln!(
                "lambda-emulator: --runtime {}: no JDK {} is installed; running on the JDK {} at {}",
                self.id,
                self.version,
                jdk.version,
                jdk.home.display()
            );
        }
        let mut class_path = vec![function_dir.display().to_string()];
        let mut jars = |dir: PathBuf| {
            if dir.is_dir() {
                class_path.push(format!("{}/*", dir.display()));
            }
        };
        jars(function_dir.to_owned());
        jars(function_dir.join("lib"));
        // Later layers override earlier ones in /opt, so they come first.
        for root in layer_roots.iter().rev() {
            jars(root.join("java/lib"));
        }
        jars(ric);
        let mut args: Vec<String> = [
            "-XX:+TieredCompilation",
            "-XX:TieredStopAtLevel=1",
            "-XX:+UseSerialGC",
        ]
        .iter()
        .map(|a| (*a).to_owned())
        .collect();
        // Left to itself, the client unpacks its JNI library to one fixed file,
        // /tmp/.libaws-lambda-jni.so, and loads it from there: on Lambda every
        // environment has a /tmp of its own, but two emulated Java runtimes
        // starting at once on one machine rewrite that file under each other
        // (measured: the JVM dies of SIGBUS in the dynamic loader). With the
        // library unpacked once by setup, each JVM loads that file as it is.
        let jni = clients.join(JAVA_JNI_LIB);
        if jni.is_file() {
            args.push(format!("-D{JAVA_JNI_PROPERTY}={}", jni.display()));
        }
        args.extend([
            "-cp".to_owned(),
            class_path.join(":"),
            JAVA_MAIN.to_owned(),
            handler.to_owned(),
        ]);
        Ok((jdk.home.join("bin/java"), args))
    }
}

/// The JDKs on this machine: `JAVA_HOME`, then every directory of
/// `/usr/lib/jvm` with a `release` file and `bin/java`, in name order.
pub fn installed_jdks() -> Vec<Jdk> {
    let mut homes: Vec<PathBuf> = std::env::var_os("JAVA_HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
        .into_iter()
        .collect();
    if let Ok(entries) = std::fs::read_dir(JVM_DIR) {
        let mut found: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        found.sort();
        homes.extend(found);
    }
    let mut jdks: Vec<Jdk> = Vec::new();
    for home in homes {
        let Ok(home) = home.canonicalize() else {
            continue;
        };
        if jdks.iter().any(|j| j.home == home) || !home.join("bin/java").is_file() {
            continue;
        }
        let release = std::fs::read_to_string(home.join("release")).unwrap_or_default();
        if let Some(version) = release_version(&release) {
            jdks.push(Jdk { home, version });
        }
    }
    jdks
}

/// The feature release of a JDK's `release` file: `JAVA_VERSION="21.0.4"` is 21
/// (`"1.8.0_412"` is 8).
pub fn release_version(release: &str) -> Option<u32> {
    let line = release
        .lines()
        .find_map(|l| l.strip_prefix("JAVA_VERSION="))?;
    let v = line.trim().trim_matches('"');
    let v = v.strip_prefix("1.").unwrap_or(v);
    v.split(['.', '_', '+', '-']).next()?.parse().ok()
}

/// Any runtime `--runtime` names: Python or Node.js, or Java.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Runtime {
    Managed(ManagedRuntime),
    Java(JavaRuntime),
}

impl Runtime {
    /// Parses a runtime identifier; the error lists the supported ones.
    pub fn parse(id: &str) -> anyhow::Result<Runtime> {
        if let Some(java) = JavaRuntime::parse(id) {
            return Ok(Runtime::Java(java));
        }
        ManagedRuntime::parse(id).map(Runtime::Managed)
    }

    /// `AWS_EXECUTION_ENV` as Lambda sets it for this runtime (`AWS_Lambda_java21`).
    pub fn execution_env(&self) -> String {
        match self {
            Runtime::Managed(m) => m.execution_env(),
            Runtime::Java(j) => format!("AWS_Lambda_{}", j.id),
        }
    }

    /// A handler to show in a hint.
    pub fn example_handler(&self) -> &'static str {
        match self {
            Runtime::Managed(m) => match m.language {
                Language::Python => "app.handler",
                Language::Node => "index.handler",
            },
            Runtime::Java(_) => "example.Handler::handleRequest",
        }
    }

    /// The program and arguments that start the runtime client with `handler`.
    pub fn command(
        &self,
        clients: &Path,
        handler: &str,
        function_dir: &Path,
        layer_roots: &[PathBuf],
    ) -> anyhow::Result<(PathBuf, Vec<String>)> {
        match self {
            Runtime::Managed(m) => m.command(clients, handler),
            Runtime::Java(j) => j.command(clients, handler, function_dir, layer_roots),
        }
    }

    /// The module search path variable Lambda sets, if the runtime has one
    /// (Java's class path is on its command line).
    pub fn search_path(
        &self,
        function_dir: &Path,
        layer_roots: &[PathBuf],
    ) -> Option<(String, String)> {
        match self {
            Runtime::Managed(m) => Some(m.search_path(function_dir, layer_roots)),
            Runtime::Java(_) => None,
        }
    }
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
         `{SETUP_COMMAND}` in this repository (it installs awslambdaric, aws-lambda-ric and the Java client under \
         .runtimes/), or set {RUNTIMES_ENV} to a directory holding python/bin/python, \
         node/bin/node with node/node_modules/aws-lambda-ric, and java/lib with the Java client",
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
        for bad in ["python3.8", "nodejs18.x", "java11", "java", "python", ""] {
            for e in [
                ManagedRuntime::parse(bad)
                    .expect_err("must fail")
                    .to_string(),
                Runtime::parse(bad).expect_err("must fail").to_string(),
            ] {
                assert!(e.starts_with(&format!("--runtime {bad:?}")), "{e}");
                assert!(
                    e.contains("python3.14") && e.contains("nodejs24.x") && e.contains("java25"),
                    "{e}"
                );
            }
        }
    }

    #[test]
    fn java_identifiers_parse_with_lambdas_execution_env() {
        for (id, version) in [("java17", 17), ("java21", 21), ("java25", 25)] {
            let rt = Runtime::parse(id).expect("test setup");
            assert_eq!(
                rt,
                Runtime::Java(JavaRuntime {
                    id: id.to_owned(),
                    version
                })
            );
            assert_eq!(rt.execution_env(), format!("AWS_Lambda_{id}"));
            assert_eq!(rt.search_path(Path::new("/var/task"), &[]), None);
        }
        // Python and Node.js stay what they were.
        let py = Runtime::parse("python3.12").expect("test setup");
        assert_eq!(py.execution_env(), "AWS_Lambda_python3.12");
        assert!(ManagedRuntime::parse("java21").is_err());
    }

    #[test]
    fn the_jdk_is_the_runtimes_own_release_or_the_oldest_newer_one() {
        let jdk = |v: u32| Jdk {
            home: PathBuf::from(format!("/jvm/{v}")),
            version: v,
        };
        let installed = [jdk(25), jdk(17)];
        let pick = |id: &str| {
            JavaRuntime::parse(id)
                .expect("test setup")
                .choose_jdk(&installed)
                .map(|j| j.version)
        };
        assert_eq!(pick("java17"), Some(17));
        assert_eq!(pick("java21"), Some(25), "no 21 here: the oldest newer one");
        assert_eq!(pick("java25"), Some(25));
        let old = [jdk(11)];
        assert_eq!(
            JavaRuntime::parse("java17")
                .expect("test setup")
                .choose_jdk(&old),
            None
        );
        assert_eq!(release_version("JAVA_VERSION=\"17.0.15\"\n"), Some(17));
        assert_eq!(
            release_version("IMPLEMENTOR=\"x\"\nJAVA_VERSION=\"25\"\n"),
            Some(25)
        );
        assert_eq!(release_version("JAVA_VERSION=\"1.8.0_412\""), Some(8));
        assert_eq!(release_version("nothing"), None);
    }

    #[test]
    fn the_java_command_has_the_function_layers_and_client_on_its_class_path() {
        let clients = tempfile::tempdir().expect("test setup");
        let lib = clients.path().join("java/lib");
        std::fs::create_dir_all(&lib).expect("test setup");
        std::fs::write(
            lib.join("aws-lambda-java-runtime-interface-client-2.10.1.jar"),
            b"",
        )
        .expect("test setup");
        let function = tempfile::tempdir().expect("test setup");
        std::fs::create_dir_all(function.path().join("lib")).expect("test setup");
        let layer = tempfile::tempdir().expect("test setup");
        std::fs::create_dir_all(layer.path().join("java/lib")).expect("test setup");
        let rt = Runtime::parse("java17").expect("test setup");
        let Ok((java, args)) = rt.command(
            clients.path(),
            "example.Handler::handleRequest",
            function.path(),
            &[layer.path().to_owned()],
        ) else {
            // No JDK 17 or later on this machine: the error says so.
            let e = rt
                .command(clients.path(), "h", function.path(), &[])
                .expect_err("no JDK");
            assert!(e.to_string().contains("no JDK 17 or later"), "{e}");
            return;
        };
        assert!(java.ends_with("bin/java"), "{java:?}");
        let cp = &args[args.iter().position(|a| a == "-cp").expect("-cp") + 1];
        let f = function.path().display();
        assert_eq!(
            cp,
            &format!(
                "{f}:{f}/*:{f}/lib/*:{}/java/lib/*:{}/*",
                layer.path().display(),
                lib.display()
            )
        );
        assert_eq!(
            &args[args.len() - 2..],
            [JAVA_MAIN, "example.Handler::handleRequest"]
        );
        // Without the unpacked JNI library the client unpacks its own; with
        // it, every JVM loads that one file.
        assert!(
            !args.iter().any(|a| a.contains(JAVA_JNI_PROPERTY)),
            "{args:?}"
        );
        let jni = clients.path().join(JAVA_JNI_LIB);
        std::fs::create_dir_all(jni.parent().expect("a parent")).expect("test setup");
        std::fs::write(&jni, b"").expect("test setup");
        let (_, args) = rt
            .command(clients.path(), "h", function.path(), &[])
            .expect("the same JDK");
        let flag = format!("-D{JAVA_JNI_PROPERTY}={}", jni.display());
        let at = args.iter().position(|a| *a == flag).expect("the JNI flag");
        assert!(
            at < args.iter().position(|a| a == "-cp").expect("-cp"),
            "{args:?}"
        );
        let empty = tempfile::tempdir().expect("test setup");
        let e = rt
            .command(empty.path(), "h", function.path(), &[])
            .expect_err("must fail")
            .to_string();
        assert!(
            e.contains("aws-lambda-java-runtime-interface-client") && e.contains(SETUP_COMMAND),
            "{e}"
        );
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
