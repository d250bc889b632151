//! The five function libraries, each as its own probe function (the one the
//! shared cases run), and beside each the hand-written shutdown pattern a
//! team writes without it (`bench/alternatives/handwritten`), staged for the
//! emulator: a function directory, the managed runtime that runs it (none: a
//! `bootstrap`), its variables, and the handler name whose lines it writes.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

/// The languages, in table order: `(key, title)`.
pub const LANGUAGES: [(&str, &str); 5] = [
    ("rust", "Rust"),
    ("python", "Python"),
    ("nodejs", "Node.js"),
    ("java", "Java"),
    ("go", "Go"),
];

/// The shutdown work every setup does: one handler, 200 ms of waiting.
pub const WORK_MS: u64 = 200;

/// Library or hand-written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pattern {
    Library,
    HandWritten,
}

/// One function ready to run: a language with the library or its hand-written pattern.
#[derive(Debug)]
pub struct Setup {
    /// `<language>` for the library, `<language>-handwritten` for the pattern.
    pub subject: String,
    pub language: &'static str,
    pub pattern: Pattern,
    /// What the row says the function is.
    pub what: String,
    dir: tempfile::TempDir,
    /// `(runtime id, handler)` for a managed runtime; `None`: `bootstrap`.
    pub runtime: Option<(String, String)>,
    pub env: Vec<(String, String)>,
    /// The handler's name: it writes `start <name>` as it starts and `<name>` when done.
    pub handler: String,
}

impl Setup {
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

/// Where the functions come from.
#[derive(Debug, Clone)]
pub struct Sources {
    pub root: PathBuf,
    /// The Rust library's probe (`examples/probe`).
    pub rust_probe: PathBuf,
    /// The Go library's probe, built (`go build ./internal/probe`).
    pub go_probe: PathBuf,
    /// `Handwritten.class`, compiled from `bench/alternatives/handwritten/java`.
    pub java_handwritten: PathBuf,
}

fn stage(prefix: &str) -> anyhow::Result<tempfile::TempDir> {
    Ok(tempfile::Builder::new()
        .prefix(&format!("bench-128-{prefix}-"))
        .tempdir()?)
}

fn need(path: &Path, how: &str) -> anyhow::Result<()> {
    if !path.exists() {
        bail!("{} is missing: {how}", path.display());
    }
    Ok(())
}

fn copy(from: &Path, to: &Path) -> anyhow::Result<()> {
    std::fs::copy(from, to)
        .with_context(|| format!("copying {} to {}", from.display(), to.display()))?;
    Ok(())
}

/// Copies the tree `from` into `to` (files and directories only).
fn copy_tree(from: &Path, to: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else {
            copy(&entry.path(), &target)?;
        }
    }
    Ok(())
}

fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// Every setup, language by language, the library first; an error names
/// the first thing that is missing and how `bench/run.sh` builds it.
pub fn all(src: &Sources) -> anyhow::Result<Vec<Setup>> {
    let root = &src.root;
    let handwritten = root.join("bench/alternatives/handwritten");
    let work = format!("work:sleep={WORK_MS}");
    let library_env = vars(&[("PROBE_HANDLERS", &work)]);
    let mut setups = Vec::new();
    let setup = |subject: &str,
                 language: &'static str,
                 pattern: Pattern,
                 what: &str,
                 dir: tempfile::TempDir,
                 runtime: Option<(&str, &str)>,
                 env: Vec<(String, String)>,
                 handler: &str| Setup {
        subject: subject.to_owned(),
        language,
        pattern,
        what: what.to_owned(),
        dir,
        runtime: runtime.map(|(r, h)| (r.to_owned(), h.to_owned())),
        env,
        handler: handler.to_owned(),
    };

    // Rust: the probe as `bootstrap` (lambda_runtime plus the library).
    need(
        &src.rust_probe,
        "build it with `cargo build -p lambda-graceful-shutdown --example probe`",
    )?;
    let dir = stage("rust")?;
    copy(&src.rust_probe, &dir.path().join("bootstrap"))?;
    setups.push(setup(
        "rust",
        "rust",
        Pattern::Library,
        "library (lambda_runtime)",
        dir,
        None,
        library_env.clone(),
        "work",
    ));

    // Python: the probe on python3.12's client (awslambdaric), thread polling
    // on as Lambda's managed runtime sets it up; the library from python/src.
    let py_probe = root.join("python/tests/functions/probe/app.py");
    need(&py_probe, "the Python library's probe")?;
    let py_path = |dir: &Path| format!("{}:{}", dir.display(), root.join("python/src").display());
    let dir = stage("python")?;
    copy(&py_probe, &dir.path().join("app.py"))?;
    let mut env = library_env.clone();
    env.push(("PYTHONPATH".to_owned(), py_path(dir.path())));
    setups.push(setup(
        "python",
        "python",
        Pattern::Library,
        "library (awslambdaric, python3.12)",
        dir,
        Some(("python3.12", "app.handler")),
        env,
        "work",
    ));
    let dir = stage("python-handwritten")?;
    copy(
        &handwritten.join("python/app.py"),
        &dir.path().join("app.py"),
    )?;
    let env = vec![("PYTHONPATH".to_owned(), dir.path().display().to_string())];
    setups.push(setup(
        "python-handwritten",
        "python",
        Pattern::HandWritten,
        "signal.signal(SIGTERM, ...)",
        dir,
        Some(("python3.12", "app.handler")),
        env,
        "work",
    ));

    // Node.js: the probe on nodejs22.x's client (aws-lambda-ric), the package
    // (node/, built) linked into node_modules as a deployment would ship it.
    let node_probe = root.join("node/test/fixtures/probe/index.mjs");
    need(&node_probe, "the Node.js library's probe")?;
    need(
        &root.join("node/dist"),
        "build the package with `(cd node && pnpm run build)`",
    )?;
    let dir = stage("nodejs")?;
    copy(&node_probe, &dir.path().join("index.mjs"))?;
    std::fs::create_dir(dir.path().join("node_modules"))?;
    std::os::unix::fs::symlink(
        root.join("node"),
        dir.path().join("node_modules/lambda-graceful-shutdown"),
    )?;
    setups.push(setup(
        "nodejs",
        "nodejs",
        Pattern::Library,
        "library (aws-lambda-ric, nodejs22.x)",
        dir,
        Some(("nodejs22.x", "index.handler")),
        library_env.clone(),
        "work",
    ));
    let dir = stage("nodejs-handwritten")?;
    copy(
        &handwritten.join("node/index.mjs"),
        &dir.path().join("index.mjs"),
    )?;
    setups.push(setup(
        "nodejs-handwritten",
        "nodejs",
        Pattern::HandWritten,
        "process.on('SIGTERM', ... process.exit(0))",
        dir,
        Some(("nodejs22.x", "index.handler")),
        vec![],
        "work",
    ));

    // Java: the probe's classes beside the library's, on java17's client.
    let classes = root.join("java/target/classes");
    let probe_rel = Path::new("io/github/gracefulshutdown/lambda/probe");
    let probe_classes = root.join("java/target/test-classes").join(probe_rel);
    let mvn = "build it with `(cd java && mvn -DskipTests test-compile)`";
    need(&classes, mvn)?;
    need(&probe_classes, mvn)?;
    let dir = stage("java")?;
    copy_tree(&classes, dir.path())?;
    copy_tree(&probe_classes, &dir.path().join(probe_rel))?;
    setups.push(setup(
        "java",
        "java",
        Pattern::Library,
        "library (aws-lambda-java-runtime-interface-client, java17)",
        dir,
        Some((
            "java17",
            "io.github.gracefulshutdown.lambda.probe.Probe::handleRequest",
        )),
        library_env.clone(),
        "work",
    ));
    need(
        &src.java_handwritten.join("Handwritten.class"),
        "compile it with `javac -d <dir> bench/alternatives/handwritten/java/Handwritten.java`",
    )?;
    let dir = stage("java-handwritten")?;
    copy_tree(&src.java_handwritten, dir.path())?;
    setups.push(setup(
        "java-handwritten",
        "java",
        Pattern::HandWritten,
        "Runtime.addShutdownHook(...)",
        dir,
        Some(("java17", "Handwritten::handleRequest")),
        vec![],
        "work",
    ));

    // Go: the probe as `bootstrap` (aws-lambda-go plus the library); without
    // the library, aws-lambda-go's own lambda.WithEnableSIGTERM callback.
    need(
        &src.go_probe,
        "build it with `(cd go && go build -o <path> ./internal/probe)`",
    )?;
    let dir = stage("go")?;
    copy(&src.go_probe, &dir.path().join("bootstrap"))?;
    setups.push(setup(
        "go",
        "go",
        Pattern::Library,
        "library (aws-lambda-go)",
        dir,
        None,
        library_env,
        "work",
    ));
    let dir = stage("go-handwritten")?;
    copy(&src.go_probe, &dir.path().join("bootstrap"))?;
    let sleep = WORK_MS.to_string();
    setups.push(setup(
        "go-handwritten",
        "go",
        Pattern::HandWritten,
        "lambda.WithEnableSIGTERM(callback)",
        dir,
        None,
        vars(&[
            ("PROBE_NO_LIBRARY", "1"),
            ("PROBE_GO_SIGTERM", "1"),
            ("PROBE_GO_SIGTERM_SLEEP_MS", &sleep),
        ]),
        "sigterm-callback",
    ));
    Ok(setups)
}
