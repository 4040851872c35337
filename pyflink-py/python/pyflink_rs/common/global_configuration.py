"""The configuration file of a Flink installation, read as Flink's local environments read it:
``config.yaml`` (Flink 2's nested YAML) or else ``flink-conf.yaml`` (Flink 1's flat
``key: value`` lines) in the directory ``FLINK_CONF_DIR`` names. Every environment a program
creates starts with these options, and the program's own settings override them. This is how
a job's checkpointing, state backend or restore point (``execution.savepoint.path``) can be set
without changing the program, as with PyFlink. The options of the ``pyflink-rs run`` command's
flags (``-D``, ``-p``, ``-s``, ``-py*``) come on top, as ``flink run``'s do.

Only the YAML a Flink configuration uses is understood: mappings (nested by indentation or
written as dotted keys), scalars (plain or quoted), lists in ``[a, b]`` or ``- item`` form
(given to the engine as ``a;b``, as Flink does) and ``#`` comments. Anything else raises a
``ValueError`` naming the file and line."""

import json
import os

FILE_NAMES = ("config.yaml", "flink-conf.yaml")

# The environment variable through which the ``pyflink-rs run`` command hands the options of its
# flags (JSON) to the job's program; they override the file's.
COMMAND_LINE_OPTIONS = "PYFLINK_RS_OPTIONS"


def load():
    """The options of ``$FLINK_CONF_DIR``'s configuration file (nothing when the variable is
    unset or the directory has no such file), overridden by those of the ``pyflink-rs`` command
    line."""
    options = _file_options()
    given = os.environ.get(COMMAND_LINE_OPTIONS)
    if given:
        try:
            options.update({str(key): str(value) for key, value in json.loads(given).items()})
        except (ValueError, AttributeError) as error:
            raise ValueError(f"${COMMAND_LINE_OPTIONS} must be a JSON object of options: {error}") from None
    return options


def _file_options():
    directory = os.environ.get("FLINK_CONF_DIR")
    if not directory:
        return {}
    for name in FILE_NAMES:
        path = os.path.join(directory, name)
        if os.path.isfile(path):
            with open(path, encoding="utf-8") as file:
                return parse(file.read(), path)
    return {}


def parse(text, source="<config>"):
    """The flat options (``a.b.c`` -> text) of a configuration file's ``text``."""
    options = {}
    # The keys of the mappings that enclose the current line, with their indentation.
    parents = []
    pending_list = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = _strip_comment(raw).rstrip()
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip(" "))
        content = line.strip()

        def error(what):
            return ValueError(f"{source}, line {number}: {what}: {raw.strip()!r}")

        if "\t" in line[:indent + 1]:
            raise error("indent with spaces, not tabs")
        if content.startswith("- ") or content == "-":
            if pending_list is None:
                raise error("a list item outside a list")
            key, items = pending_list
            items.append(_scalar(content[1:].strip(), error))
            options[key] = ";".join(items)
            continue
        pending_list = None
        key, separator, value = content.partition(":")
        if not separator or not key.strip():
            raise error("expected 'key: value'")
        key = _scalar(key.strip(), error)
        while parents and parents[-1][1] >= indent:
            parents.pop()
        full_key = ".".join([parent for parent, _ in parents] + [key])
        value = value.strip()
        if not value:
            # A nested mapping, or a list in '- item' form, follows.
            parents.append((key, indent))
            pending_list = (full_key, [])
            continue
        if value.startswith("["):
            if not value.endswith("]"):
                raise error("a list that does not end on its line")
            items = [_scalar(item.strip(), error) for item in value[1:-1].split(",") if item.strip()]
            options[full_key] = ";".join(items)
        elif value.startswith("{"):
            raise error("write a mapping on the lines below its key")
        else:
            options[full_key] = _scalar(value, error)
    return options


def _strip_comment(line):
    """``line`` without its ``#`` comment (a ``#`` inside quotes is kept)."""
    quote = None
    for index, char in enumerate(line):
        if quote:
            if char == quote:
                quote = None
        elif char in "'\"":
            quote = char
        elif char == "#" and (index == 0 or line[index - 1] in " \t"):
            return line[:index]
    return line


def _scalar(text, error):
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    if text[:1] in "'\"":
        raise error("a quoted value without its closing quote")
    return text
