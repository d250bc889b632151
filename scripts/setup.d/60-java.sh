#!/usr/bin/env bash
# The Java runtime interface client, which the emulator runs as the runtime of
# Java functions (lambda-emulator --runtime java17|java21|java25), the way
# Lambda's Java runtimes and AWS's base images do, and which the Java library's
# end-to-end tests run on. Installed under .runtimes/java/ (not committed):
#   .runtimes/java/lib/*.jar   aws-lambda-java-runtime-interface-client and what
#                              it needs at run time (aws-lambda-java-core,
#                              aws-lambda-java-serialization, utils-lite), from
#                              Maven Central with Maven
# Then the Java library's own build and test dependencies (Maven plugins,
# JUnit), so that its suite (scripts/test.d/85-java.sh) starts with them.
# Needs a JDK 17 or later and Maven. Safe to re-run: skipped when installed at
# these versions.
set -euo pipefail
cd "$(dirname "$0")/../.."
RIC_VERSION=2.10.1
CORE_VERSION=1.4.0
dir=.runtimes/java
stamp="$dir/.installed-$RIC_VERSION-$CORE_VERSION"
command -v mvn >/dev/null 2>&1 || { echo "setup: Maven (mvn) is needed for the Java runtime client and library" >&2; exit 1; }
command -v java >/dev/null 2>&1 || { echo "setup: a JDK (17 or later) is needed for the Java runtime client and library" >&2; exit 1; }
if [ ! -e "$stamp" ]; then
  rm -rf "$dir"
  mkdir -p "$dir"
  # A throwaway project whose runtime classpath is the client's: Maven resolves
  # what the client's own pom says it needs at run time.
  cat > "$dir/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.runtimes</groupId>
  <artifactId>java-runtime-client</artifactId>
  <version>0</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>com.amazonaws</groupId>
      <artifactId>aws-lambda-java-runtime-interface-client</artifactId>
      <version>$RIC_VERSION</version>
    </dependency>
    <dependency>
      <groupId>com.amazonaws</groupId>
      <artifactId>aws-lambda-java-core</artifactId>
      <version>$CORE_VERSION</version>
    </dependency>
  </dependencies>
</project>
POM
  mvn -q -B -f "$dir/pom.xml" dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory=lib
  touch "$stamp"
fi
ls "$dir/lib/aws-lambda-java-runtime-interface-client-$RIC_VERSION.jar" >/dev/null
# The client's JNI library for this machine, unpacked once: the emulator has
# each JVM load this file (rust/emulator/src/runtimes.rs, JAVA_JNI_LIB) instead
# of letting the client unpack it to its one fixed /tmp path at every start,
# where two JVMs starting at once rewrite it under each other.
jni="$dir/jni/libaws-lambda-jni.so"
if [ ! -s "$jni" ]; then
  case "$(uname -m)" in
    x86_64) member=jni/libaws-lambda-jni.linux-x86_64.so ;;
    aarch64) member=jni/libaws-lambda-jni.linux-aarch_64.so ;;
    *) echo "setup: no JNI library of the Java client for $(uname -m)" >&2; exit 1 ;;
  esac
  mkdir -p "$dir/jni"
  python3 - "$dir/lib/aws-lambda-java-runtime-interface-client-$RIC_VERSION.jar" "$member" "$jni" <<'PY'
import os, sys, zipfile
jar, member, out = sys.argv[1:]
tmp = f"{out}.{os.getpid()}"
with zipfile.ZipFile(jar) as z, open(tmp, "wb") as f:
    f.write(z.read(member))
os.replace(tmp, out)
PY
fi
echo "java runtime client: $(cd "$dir/lib" && ls *.jar | tr '\n' ' ')"
# The library's build and test plugins and JUnit, fetched once.
mvn -q -B -f java/pom.xml -DskipTests package >/dev/null
echo "java library: built with $(mvn -v 2>/dev/null | head -1 | sed 's/\x1b\[[0-9;]*m//g') on $(java -version 2>&1 | head -1)"
