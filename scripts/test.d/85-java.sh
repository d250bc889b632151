#!/usr/bin/env bash
# The Java function library (java/, Maven io.github.graceful-shutdown:
# lambda-graceful-shutdown): its unit tests (settings and report bytes against
# the Rust encoder and spec/vectors, the runner), then the end-to-end tests: the
# shared cases of tests/cases/, run by the one driver of every language
# (shutdown-conformance), on the real Java runtime interface client
# (aws-lambda-java-runtime-interface-client) with the real shutdown layer, in
# the emulator and under AWS's Runtime Interface Emulator (needs root and
# unshare, as 40-rie.sh), on Java 17 and 25; Managed Instances; a hand-written
# hook's exit measured; then the jar. The unit tests run
# again on the JDK 25 when the machine has one.
# Self-sufficient: installs what it needs when run alone (the Java client with
# setup.d/60-java.sh, the RIE as 75-node.sh does).
set -euo pipefail
cd "$(dirname "$0")/../.."
t0=$SECONDS
lap() { printf '[85-java] %s (%ds)\n' "$1" $((SECONDS - t0)); }

# Built by 05-build.sh; a no-op then, and enough when this suite runs alone
# (the emulator is gracefulctl's lambda-emulator; the driver shutdown-conformance).
cargo build -p gracefulctl -p graceful-shutdown-extension -p graceful-shutdown-conformance
if [ ! -e .runtimes/java/lib/aws-lambda-java-runtime-interface-client-2.10.1.jar ] \
   || [ ! -s .runtimes/java/jni/libaws-lambda-jni.so ]; then
  bash scripts/setup.d/60-java.sh
fi
bash scripts/install-rie.sh >/dev/null
lap "prerequisites"

cd java
# Every test (unit and end-to-end), then the jar (mvn -q package alone makes it).
mvn -B --no-transfer-progress -De2e.required=true package
lap "tests and jar on $(java -version 2>&1 | head -1)"
jdk25=/usr/lib/jvm/temurin-25-jdk-amd64
if [ -x "$jdk25/bin/java" ]; then
  JAVA_HOME="$jdk25" mvn -B --no-transfer-progress -Dtest='ConfigTest,ReportVectorsTest,RunnerTest,ReporterTest,HandoffTest' test
  lap "unit tests on $("$jdk25/bin/java" -version 2>&1 | head -1)"
fi
ls -l target/lambda-graceful-shutdown-*.jar
