"""The build backend of pyflink-rs: maturin, with the wheel tagged for the CPython it is built for.

maturin tags a wheel of uniffi bindings ``py3-none-<platform>``, as if its library spoke only the
C ABI. Ours also runs Python functions through pyo3, compiled against one CPython version's ABI
(pyo3 without its `abi3` feature), so such a tag would let pip install the wheel into another
Python version, which it cannot run in. This backend builds the
wheel with maturin for the interpreter running the build (``PYO3_PYTHON``) and retags it
``cpXY-cpXY<abiflags>-<platform>``, rewriting the WHEEL file and its line in RECORD.

Every other hook is maturin's own.
"""

from __future__ import annotations

import base64
import hashlib
import os
import sys
import sysconfig
import zipfile
from pathlib import Path

from maturin import (  # noqa: F401 (re-exported hooks)
    build_sdist,
    get_requires_for_build_editable,
    get_requires_for_build_sdist,
    get_requires_for_build_wheel,
    prepare_metadata_for_build_editable,
    prepare_metadata_for_build_wheel,
)
import maturin


def interpreter_tag() -> str:
    """The ``python-abi`` tag of the running CPython, e.g. ``cp311-cp311``."""
    if sys.implementation.name != "cpython":
        raise RuntimeError(
            f"pyflink-rs builds for CPython only; this is {sys.implementation.name}"
        )
    version = f"cp{sys.version_info.major}{sys.version_info.minor}"
    return f"{version}-{version}{sysconfig.get_config_var('ABIFLAGS') or ''}"


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return f"sha256={digest.decode()}"


def retag(wheel: Path, python_abi: str) -> Path:
    """Rewrites ``wheel`` (``name-version-py3-none-platform.whl``) as ``python_abi`` and
    returns the new file, which replaces the old one."""
    name, version, _python, _abi, platform = wheel.name[: -len(".whl")].split("-")
    retagged = wheel.with_name(f"{name}-{version}-{python_abi}-{platform}.whl")
    dist_info = f"{name}-{version}.dist-info"
    new_tags = [f"Tag: {python_abi}-{p}" for p in platform.split(".")]
    with zipfile.ZipFile(wheel) as source:
        wheel_file = source.read(f"{dist_info}/WHEEL").decode()
        lines = [line for line in wheel_file.splitlines() if not line.startswith("Tag:")]
        new_wheel_file = ("\n".join(lines + new_tags) + "\n").encode()
        record = source.read(f"{dist_info}/RECORD").decode().splitlines()
        record_line = f"{dist_info}/WHEEL,{_record_hash(new_wheel_file)},{len(new_wheel_file)}"
        new_record = "\n".join(
            record_line if line.startswith(f"{dist_info}/WHEEL,") else line for line in record
        ) + "\n"
        with zipfile.ZipFile(retagged, "w", zipfile.ZIP_DEFLATED) as target:
            for item in source.infolist():
                if item.filename == f"{dist_info}/WHEEL":
                    target.writestr(item, new_wheel_file)
                elif item.filename == f"{dist_info}/RECORD":
                    target.writestr(item, new_record.encode())
                else:
                    target.writestr(item, source.read(item))
    if retagged != wheel:
        wheel.unlink()
    return retagged


def _build(build, wheel_directory, config_settings, metadata_directory) -> str:
    # pyo3 compiles for the interpreter PYO3_PYTHON names: the one the wheel is tagged for.
    os.environ["PYO3_PYTHON"] = sys.executable
    built = build(wheel_directory, config_settings, metadata_directory)
    return retag(Path(wheel_directory) / built, interpreter_tag()).name


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None) -> str:
    """maturin's wheel, tagged for this CPython."""
    return _build(maturin.build_wheel, wheel_directory, config_settings, metadata_directory)


def build_editable(wheel_directory, config_settings=None, metadata_directory=None) -> str:
    """maturin's editable wheel, tagged for this CPython."""
    return _build(maturin.build_editable, wheel_directory, config_settings, metadata_directory)
