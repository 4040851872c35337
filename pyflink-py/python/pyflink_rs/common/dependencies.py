"""The Python dependencies of a job's functions, as PyFlink manages them: files, packages and
directories made importable (``add_python_file``, the option ``python.files``), third-party
packages installed from a requirements file (``set_python_requirements``,
``python.requirements``), archives unpacked for the functions to read (``add_python_archive``,
``python.archives``) and the interpreter of worker processes (``python.executable``).

Functions in thread mode run in this interpreter, so a dependency takes effect here, when it
is added: its directory joins ``sys.path``. Worker processes (``python.execution-mode:
process``) start with this interpreter's ``sys.path``, in the directory the archives are
unpacked in, so relative paths such as ``"myenv/data.txt"`` find an archive's files there.

Copies, unpacked archives and installed requirements live in one directory per program (under
the system's temporary directory, removed at exit); installed requirements are kept in a cache
(``$XDG_CACHE_HOME/pyflink-rs/requirements``, ``~/.cache`` by default), keyed by the
requirements file's text and the packages' directory, so a program run again does not install
them again.
"""

import atexit
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile

FILES = "python.files"
REQUIREMENTS = "python.requirements"
ARCHIVES = "python.archives"
EXECUTABLE = "python.executable"
CLIENT_EXECUTABLE = "python.client.executable"

# The options this module takes care of.
KEYS = frozenset({FILES, REQUIREMENTS, ARCHIVES, EXECUTABLE, CLIENT_EXECUTABLE})

# How several files, and a path and its parameter, are written in one option (as in PyFlink).
FILE_DELIMITER = ","
PARAM_DELIMITER = "#"

_state = {"directory": None, "archives": None, "executable": None}
_added = set()


def _directory():
    """This program's directory of dependencies, made on first use."""
    if _state["directory"] is None:
        _state["directory"] = tempfile.mkdtemp(prefix="pyflink-rs-python-")
        atexit.register(shutil.rmtree, _state["directory"], True)
    return _state["directory"]


def _importable(path):
    if path not in sys.path:
        sys.path.append(path)


def add_python_file(file_path):
    """Makes ``file_path`` importable: a module file (``utils.py``, imported as ``utils``), a
    package directory (imported by its name), a directory of modules, or a ``.zip``, ``.whl``
    or ``.egg`` archive of them. A copy is taken now, so later edits do not reach the job."""
    path = os.path.abspath(os.path.expanduser(file_path))
    if not os.path.exists(path):
        raise FileNotFoundError(f"the Python dependency {file_path} does not exist")
    if ("file", path) in _added:
        return
    home = tempfile.mkdtemp(prefix="file-", dir=_directory())
    name = os.path.basename(path.rstrip(os.sep))
    if os.path.isdir(path):
        shutil.copytree(path, os.path.join(home, name))
        package = os.path.exists(os.path.join(path, "__init__.py"))
        _importable(home if package else os.path.join(home, name))
    elif name.endswith((".zip", ".whl", ".egg")):
        shutil.copy(path, os.path.join(home, name))
        _importable(os.path.join(home, name))
    else:
        shutil.copy(path, os.path.join(home, name))
        _importable(home)
    _added.add(("file", path))


def set_python_requirements(requirements_file_path, requirements_cache_dir=None):
    """Installs the packages ``requirements_file_path`` lists with pip into a directory that
    joins ``sys.path``; with ``requirements_cache_dir``, only from the packages in it (no
    index is asked). A failed installation raises with pip's output."""
    requirements = os.path.abspath(os.path.expanduser(requirements_file_path))
    with open(requirements, "rb") as file:
        text = file.read()
    cache = None if requirements_cache_dir is None else os.path.abspath(os.path.expanduser(requirements_cache_dir))
    key = hashlib.sha256(text + (cache or "").encode() + sys.version.encode()).hexdigest()[:24]
    if ("requirements", key) in _added:
        return
    cache_home = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    root = os.path.join(cache_home, "pyflink-rs", "requirements")
    target = os.path.join(root, key)
    if not os.path.exists(os.path.join(target, ".complete")):
        shutil.rmtree(target, ignore_errors=True)
        command = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                   "--target", target, "-r", requirements]
        if cache is not None:
            command += ["--no-index", "--find-links", cache]
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            shutil.rmtree(target, ignore_errors=True)
            raise RuntimeError(f"installing the Python requirements of {requirements_file_path} failed:\n"
                               f"{done.stdout}{done.stderr}")
        open(os.path.join(target, ".complete"), "w").close()
    _importable(target)
    _added.add(("requirements", key))


def add_python_archive(archive_path, target_dir=None):
    """Unpacks the zip archive ``archive_path`` into a directory named ``target_dir`` (the
    archive's file name if not given) of the workers' working directory, where functions read
    its files by relative paths, and where ``python.executable`` may name an interpreter in it
    (``"py_env.zip/py_env/bin/python"``)."""
    path = os.path.abspath(os.path.expanduser(archive_path))
    if not zipfile.is_zipfile(path):
        raise ValueError(f"the Python archive {archive_path} is not a zip file")
    name = target_dir or os.path.basename(path)
    if os.sep in name or name in ("", ".", ".."):
        raise ValueError(f"the target directory of a Python archive is a plain name, not {name!r}")
    if ("archive", name) in _added:
        return
    destination = os.path.join(working_directory(create=True), name)
    with zipfile.ZipFile(path) as archive:
        for member in archive.infolist():
            unpacked = archive.extract(member, destination)
            # Zip files keep Unix permissions in the upper bits: interpreters stay executable.
            mode = member.external_attr >> 16
            if mode:
                os.chmod(unpacked, mode & 0o7777)
    _added.add(("archive", name))


def working_directory(create=False):
    """The directory the archives are unpacked in, where worker processes run; ``None`` while
    there is none."""
    if _state["archives"] is None and create:
        _state["archives"] = os.path.join(_directory(), "archives")
        os.makedirs(_state["archives"], exist_ok=True)
    return _state["archives"]


def set_python_executable(python_exec):
    """The interpreter worker processes run: a path, or one relative to the archives'
    directory (an interpreter in an archive added with ``add_python_archive``)."""
    _state["executable"] = python_exec


def worker_executable():
    """The interpreter to start a worker process with: ``python.executable`` if set (found in
    the archives' directory when it is a path there), else this one."""
    executable = _state["executable"]
    if not executable:
        return sys.executable
    archives = working_directory()
    if archives is not None and not os.path.isabs(executable):
        candidate = os.path.join(archives, executable)
        if os.path.exists(candidate):
            return candidate
    return shutil.which(executable) or executable


class PythonDependencyMethods:
    """PyFlink's dependency methods, which the ``StreamExecutionEnvironment`` and the
    ``TableEnvironment`` both have."""

    def add_python_file(self, file_path):
        """Makes a Python file, package, directory or zip of modules importable by the job's
        functions (``python.files``)."""
        add_python_file(file_path)

    def set_python_requirements(self, requirements_file_path, requirements_cache_dir=None):
        """Installs the third-party packages of a requirements file for the job's functions,
        from ``requirements_cache_dir`` alone if given (``python.requirements``)."""
        set_python_requirements(requirements_file_path, requirements_cache_dir)

    def add_python_archive(self, archive_path, target_dir=None):
        """Unpacks a zip archive into ``target_dir`` (its file name if not given) of the
        working directory of worker processes (``python.archives``)."""
        add_python_archive(archive_path, target_dir)


def worker_environment():
    """The environment variables a worker process gets beyond this process's: for an
    interpreter other than this one, a ``PYTHONPATH`` where it finds pyflink-rs."""
    if worker_executable() == sys.executable:
        return {}
    package_home = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    paths = [os.path.dirname(package_home)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    return {"PYTHONPATH": os.pathsep.join(paths)}


def apply(options):
    """Applies the dependency options among ``options`` (a dict of a configuration's options):
    ``python.files`` (paths apart by commas), ``python.requirements`` (a file, then ``#`` and a
    cache directory if any), ``python.archives`` (paths, each with ``#`` and a target directory
    if any) and ``python.executable``; returns the other options."""
    for path in _split(options.get(FILES)):
        add_python_file(path)
    if options.get(REQUIREMENTS):
        requirements, _, cache = options[REQUIREMENTS].partition(PARAM_DELIMITER)
        set_python_requirements(requirements, cache or None)
    for entry in _split(options.get(ARCHIVES)):
        archive, _, target = entry.partition(PARAM_DELIMITER)
        add_python_archive(archive, target or None)
    if options.get(EXECUTABLE):
        set_python_executable(options[EXECUTABLE])
    return {key: value for key, value in options.items() if key not in KEYS}


def _split(value):
    return [part.strip() for part in (value or "").split(FILE_DELIMITER) if part.strip()]
