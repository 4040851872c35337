"""The wheel is tagged for the CPython its pyo3 code was compiled for, not as a universal wheel."""

import base64
import hashlib
import importlib.metadata
import importlib.util
import pathlib
import sys
import sysconfig
import zipfile

BACKEND = pathlib.Path(__file__).parents[1] / "build_backend" / "pyflink_build_backend.py"


def this_cpython():
    version = f"cp{sys.version_info.major}{sys.version_info.minor}"
    return f"{version}-{version}{sysconfig.get_config_var('ABIFLAGS') or ''}"


def test_the_installed_wheel_is_tagged_for_this_cpython():
    wheel = importlib.metadata.distribution("pyflink-rs").read_text("WHEEL")
    tags = [line.split(":", 1)[1].strip() for line in wheel.splitlines() if line.startswith("Tag:")]
    assert tags, wheel
    for tag in tags:
        python, abi, platform = tag.split("-")
        assert f"{python}-{abi}" == this_cpython(), wheel
        assert platform.startswith(("linux", "manylinux")), wheel


def load_backend(monkeypatch):
    # The hooks the backend re-exports come from maturin, which the build environment has; the
    # retagging itself needs none of them.
    fake = type(sys)("maturin")
    for hook in ("build_sdist", "get_requires_for_build_editable", "get_requires_for_build_sdist",
                 "get_requires_for_build_wheel", "prepare_metadata_for_build_editable",
                 "prepare_metadata_for_build_wheel", "build_wheel", "build_editable"):
        setattr(fake, hook, None)
    monkeypatch.setitem(sys.modules, "maturin", fake)
    spec = importlib.util.spec_from_file_location("pyflink_build_backend", BACKEND)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def record_hash(data):
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def test_retagging_rewrites_the_name_the_wheel_file_and_its_record(tmp_path, monkeypatch):
    backend = load_backend(monkeypatch)
    dist = "demo-1.0.dist-info"
    wheel_file = b"Wheel-Version: 1.0\nGenerator: maturin\nRoot-Is-Purelib: false\nTag: py3-none-manylinux_2_17_x86_64\n"
    source = tmp_path / "demo-1.0-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
    with zipfile.ZipFile(source, "w") as wheel:
        wheel.writestr("demo/__init__.py", "x = 1\n")
        wheel.writestr(f"{dist}/WHEEL", wheel_file)
        wheel.writestr(f"{dist}/RECORD", f"demo/__init__.py,sha256=abc,6\n{dist}/WHEEL,{record_hash(wheel_file)},{len(wheel_file)}\n{dist}/RECORD,,\n")

    retagged = backend.retag(source, "cp311-cp311")

    assert retagged.name == "demo-1.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
    assert not source.exists()
    with zipfile.ZipFile(retagged) as wheel:
        new_wheel_file = wheel.read(f"{dist}/WHEEL")
        record = wheel.read(f"{dist}/RECORD").decode().splitlines()
        assert wheel.read("demo/__init__.py") == b"x = 1\n"
    assert new_wheel_file.decode().splitlines() == [
        "Wheel-Version: 1.0", "Generator: maturin", "Root-Is-Purelib: false",
        "Tag: cp311-cp311-manylinux_2_17_x86_64", "Tag: cp311-cp311-manylinux2014_x86_64",
    ]
    assert record == [
        "demo/__init__.py,sha256=abc,6",
        f"{dist}/WHEEL,{record_hash(new_wheel_file)},{len(new_wheel_file)}",
        f"{dist}/RECORD,,",
    ]


def test_the_backend_builds_only_for_cpython(monkeypatch):
    backend = load_backend(monkeypatch)
    assert backend.interpreter_tag() == this_cpython()
    monkeypatch.setattr(sys.implementation, "name", "pypy")
    try:
        backend.interpreter_tag()
    except RuntimeError as error:
        assert "CPython only" in str(error)
    else:
        raise AssertionError("a PyPy build must be refused")
