"""Reading an agreement's YAML without surprises: no alias bombs, no deep nesting, and only
values that JSON and PostgreSQL can hold (no bytes, NaN, infinity, huge integers, NUL).

The events of the YAML stream are checked first, without building anything: the parser is
iterative, while PyYAML's composer recurses once per nesting level and aliases make it share
nodes that everything after it (validation, JSON, the published event) would expand.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

MAX_DEPTH = 20
"""Mappings and lists nested in one another (an agreement needs about 6)."""
MAX_EXPANDED = 512 * 1024
"""Nodes plus scalar characters, every alias counted as all it stands for."""
MAX_NUMBER_CHARS = 40
"""Characters of one number (far more than any float or int an agreement needs)."""
_FORBIDDEN_CHARS = re.compile("[\x00\ud800-\udfff]")  # PostgreSQL text and JSON refuse them


class YamlRefused(ValueError):
    """The YAML is malformed or holds something an agreement may not; `where` locates it."""

    def __init__(self, where: str, reason: str) -> None:
        super().__init__(f"{where}: {reason}")
        self.where = where
        self.reason = reason


def where(mark: Any) -> str:
    """'line L, column C' of a mark, or '(document)'."""
    return f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(document)"


def _check_events(text: str) -> None:
    """Refuse deep nesting, recursive or expanding aliases and forbidden characters."""
    frames: list[list[Any]] = []  # [expanded size so far, anchor] per open collection
    sizes: dict[str, int] = {}  # anchor -> expanded size of the node it names
    expanded = 0

    def done(size: int, anchor: str | None, mark: Any) -> None:
        nonlocal expanded
        if anchor is not None:
            sizes[anchor] = size
        if frames:
            frames[-1][0] += size
            total = int(frames[-1][0])
        else:
            expanded += size
            total = expanded
        if total > MAX_EXPANDED:
            raise YamlRefused(
                where(mark), f"expands to more than {MAX_EXPANDED} nodes and characters (aliases)"
            )

    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.CollectionStartEvent):
            frames.append([1, event.anchor])
            if len(frames) > MAX_DEPTH:
                raise YamlRefused(where(event.start_mark), f"nested deeper than {MAX_DEPTH} levels")
        elif isinstance(event, yaml.CollectionEndEvent):
            size, anchor = frames.pop()
            done(size, anchor, event.start_mark)
        elif isinstance(event, yaml.ScalarEvent):
            if _FORBIDDEN_CHARS.search(event.value):
                raise YamlRefused(
                    where(event.start_mark), "a NUL character or lone surrogate is not allowed"
                )
            done(1 + len(event.value), event.anchor, event.start_mark)
        elif isinstance(event, yaml.AliasEvent):
            if event.anchor in {anchor for _, anchor in frames}:
                raise YamlRefused(
                    where(event.start_mark), f"alias *{event.anchor} refers to itself"
                )
            # An undefined alias counts as nothing here; the composer reports it.
            done(sizes.get(event.anchor or "", 0), None, event.start_mark)


class _AgreementLoader(yaml.SafeLoader):
    """SafeLoader that refuses bytes, non-finite floats, huge numbers and bad dates."""

    def _refuse(self, node: Node, reason: str) -> ConstructorError:
        return ConstructorError(None, None, reason, node.start_mark)

    def construct_yaml_binary(self, node: ScalarNode) -> bytes:
        raise self._refuse(node, "binary values (!!binary) are not allowed; write text")

    def construct_yaml_float(self, node: ScalarNode) -> float:
        if len(node.value) > MAX_NUMBER_CHARS:
            raise self._refuse(node, f"a number has at most {MAX_NUMBER_CHARS} characters")
        value = super().construct_yaml_float(node)
        if not math.isfinite(value):
            raise self._refuse(node, "numbers must be finite (no .nan, .inf or overflow)")
        return value

    def construct_yaml_int(self, node: ScalarNode) -> int:
        if len(node.value) > MAX_NUMBER_CHARS:
            raise self._refuse(node, f"a number has at most {MAX_NUMBER_CHARS} characters")
        return super().construct_yaml_int(node)

    def construct_yaml_timestamp(self, node: ScalarNode) -> Any:
        try:
            return super().construct_yaml_timestamp(node)
        except (ValueError, OverflowError) as exc:
            raise self._refuse(node, f"not a valid date or time: {exc}") from exc


for _tag, _method in {
    "binary": _AgreementLoader.construct_yaml_binary,
    "float": _AgreementLoader.construct_yaml_float,
    "int": _AgreementLoader.construct_yaml_int,
    "timestamp": _AgreementLoader.construct_yaml_timestamp,
}.items():
    _AgreementLoader.add_constructor(f"tag:yaml.org,2002:{_tag}", _method)


def read_yaml(text: str) -> Any:
    """The YAML document as Python data; YamlRefused says what is wrong and where."""
    try:
        _check_events(text)
        return yaml.load(text, Loader=_AgreementLoader)  # a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        reason = " ".join(filter(None, [exc.context, exc.problem])) or str(exc)
        if not isinstance(exc, ConstructorError):
            reason = f"not valid YAML: {reason}"
        raise YamlRefused(where(exc.problem_mark), reason) from exc
    except yaml.YAMLError as exc:
        raise YamlRefused("(document)", f"not valid YAML: {exc}") from exc
    except YamlRefused:
        raise
    except (ValueError, OverflowError, RecursionError) as exc:
        raise YamlRefused("(document)", f"not a valid agreement document: {exc}") from exc


def _is_key(loader: _AgreementLoader, node: Node, part: int | str) -> bool:
    """Whether a mapping key node is the one a location names (True is named 1, as in pydantic)."""
    if not isinstance(node, ScalarNode):
        return False
    try:
        key = loader.construct_object(node)
    except yaml.YAMLError:
        return False
    return bool(key == part or str(key) == str(part))


def written_at(text: str, loc: Sequence[int | str]) -> str | None:
    """The scalar at a validation error's location as written in the YAML (`NO`, not False);
    None when the location names no scalar. Call only on text `read_yaml` accepted."""
    loader = _AgreementLoader(text)
    try:
        node: Node | None = loader.get_single_node()
        for i, part in enumerate(loc):
            if part == "[key]":
                continue
            if isinstance(node, SequenceNode) and isinstance(part, int):
                node = node.value[part] if 0 <= part < len(node.value) else None
            elif isinstance(node, MappingNode):
                pair = next(((k, v) for k, v in node.value if _is_key(loader, k, part)), None)
                on_key = tuple(loc[i + 1 : i + 2]) == ("[key]",)
                node = None if pair is None else pair[0] if on_key else pair[1]
            else:
                return None
        return node.value if isinstance(node, ScalarNode) else None
    except yaml.YAMLError:
        return None
    finally:
        loader.dispose()
