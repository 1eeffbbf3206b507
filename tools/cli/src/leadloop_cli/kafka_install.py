"""Apache Kafka's jars: fetched once from Maven Central by deploy/kafka/pom.xml into
.tools/kafka/<version>/lib (`make kafka` runs `python -m leadloop_cli.kafka_install fetch`)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

KAFKA_VERSION = "4.4.0"  # keep in step with deploy/kafka/pom.xml
ROOT = Path(__file__).resolve().parents[4]
CONFIG_DIR = ROOT / "deploy" / "kafka"
COPY_GOAL = "org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies"


class KafkaUnavailable(RuntimeError):
    """Java, Maven or the Kafka jars are missing, or Maven Central cannot be reached."""


def kafka_home(env: Mapping[str, str] = os.environ) -> Path:
    """Where the jars live: LEADLOOP_KAFKA_HOME, or .tools/kafka/<version> in the repository."""
    return Path(env.get("LEADLOOP_KAFKA_HOME") or ROOT / ".tools" / "kafka" / KAFKA_VERSION)


def find_java(env: Mapping[str, str] = os.environ) -> str:
    """$JAVA_HOME/bin/java or `java` on PATH."""
    home = env.get("JAVA_HOME")
    if home and os.access(Path(home) / "bin" / "java", os.X_OK):
        return str(Path(home) / "bin" / "java")
    found = shutil.which("java")
    if found is None:
        raise KafkaUnavailable("java is not installed: Apache Kafka needs a JDK 17 or newer")
    return found


def fetch_kafka(home: Path | None = None) -> Path:
    """Copy Kafka's jars from Maven Central into `home`/lib, unless they are there; returns lib."""
    home = home or kafka_home()
    lib = home / "lib"
    if lib.is_dir():
        return lib
    find_java()
    mvn = shutil.which("mvn")
    if mvn is None:
        raise KafkaUnavailable("mvn is not installed: `make kafka` fetches Apache Kafka with Maven")
    partial = home / "lib.partial"  # renamed to lib when complete, so a broken fetch is redone
    shutil.rmtree(partial, ignore_errors=True)
    argv = [mvn, "-B", "-q", "-f", str(CONFIG_DIR / "pom.xml"), f"-Dkafka.lib={partial}", COPY_GOAL]
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        output = re.sub(r"\x1b\[[0-9;]*m", "", done.stdout + done.stderr)
        errors = [line for line in output.splitlines() if "ERROR" in line] or ["no output"]
        unreachable = re.search(r"transfer|resolve|UnknownHost|Connect|No plugin found", output)
        what = "cannot reach Maven Central" if unreachable else "mvn failed"
        raise KafkaUnavailable(f"{what} fetching Apache Kafka {KAFKA_VERSION}: {errors[0]}")
    partial.rename(lib)
    return lib


def main(argv: list[str]) -> int:
    """`python -m leadloop_cli.kafka_install fetch`: the Makefile's `make kafka`."""
    if argv != ["fetch"]:
        print("usage: python -m leadloop_cli.kafka_install fetch", file=sys.stderr)
        return 2
    if not (kafka_home() / "lib").is_dir():
        print(f"fetching Apache Kafka {KAFKA_VERSION} from Maven Central", flush=True)
    try:
        lib = fetch_kafka()
    except KafkaUnavailable as exc:
        print(f"make kafka: {exc}", file=sys.stderr)
        return 1
    print(f"Apache Kafka {KAFKA_VERSION}: {lib}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
