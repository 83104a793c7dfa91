"""YAML loading for untrusted descriptors.

``yaml.safe_load`` already refuses arbitrary Python tags, but it happily builds a billion-laughs
graph (aliases are shared references, so the bomb only explodes later, when the value is dumped
or walked), accepts duplicate keys silently and recurses without a bound. We compose the node
graph first and measure it before constructing any Python value.
"""

from __future__ import annotations

from typing import Any

import yaml

from service.errors import Problem

MAX_DEPTH = 64
MAX_NODES = 200_000
MAX_ALIASES = 1_000


# libyaml's parser when PyYAML was built with it (the wheels are): several times faster.
_Base: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_MAX_SHOWN = 40


class _Loader(_Base):  # type: ignore[misc,valid-type]
    """Safe constructors whose failures become YAML errors at the value's line: a timestamp like
    ``2001-13-45``, an integer past Python's digit limit or ``!!timestamp x`` raise ``ValueError``,
    ``AttributeError`` and friends from inside PyYAML, which would otherwise escape as a 500."""

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except (yaml.YAMLError, RecursionError):
            raise
        except Exception as exc:  # noqa: BLE001 - any constructor's failure is this value's fault
            shown = node.value if isinstance(node.value, str) else node.tag
            shown = shown if len(shown) <= _MAX_SHOWN else shown[:_MAX_SHOWN] + "…"
            raise yaml.constructor.ConstructorError(
                None, None, f"cannot read the value {shown!r}: {type(exc).__name__}: {exc}", node.start_mark
            ) from exc


class YamlRejected(Exception):
    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message)
        self.problem = problem


def _reject(field: str, message: str, solution: str) -> YamlRejected:
    return YamlRejected(Problem(field, message, solution))


def _measure(root: yaml.Node, field: str) -> None:
    """Count the nodes the document expands to (aliases counted at every use), bound depth (an alias'
    subtree counted at the depth where it lands), refuse cycles and duplicate mapping keys."""
    expanded: dict[int, tuple[int, int]] = {}
    """Per node already measured: (nodes its subtree expands to, levels below it)."""
    aliases = 0

    def too_deep() -> YamlRejected:
        return _reject(field, f"nesting deeper than {MAX_DEPTH} levels", "Flatten the descriptor.")

    def visit(node: yaml.Node, depth: int, path: tuple[int, ...]) -> tuple[int, int]:
        nonlocal aliases
        if depth > MAX_DEPTH:
            raise too_deep()
        key = id(node)
        if key in path:
            raise _reject(field, "recursive YAML alias", "Remove self-referencing anchors.")
        if key in expanded:
            aliases += 1
            if aliases > MAX_ALIASES:
                raise _reject(field, f"more than {MAX_ALIASES} YAML aliases", "Write values out in full.")
            total, height = expanded[key]
            if depth + height > MAX_DEPTH:
                raise too_deep()
            return total, height
        inner = (*path, key)
        children: list[yaml.Node] = []
        if isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        elif isinstance(node, yaml.MappingNode):
            seen: set[str] = set()
            for k, v in node.value:
                if isinstance(k, yaml.ScalarNode):
                    if k.value in seen and k.tag != "tag:yaml.org,2002:merge":
                        raise _reject(
                            field,
                            f"duplicate key {k.value!r} (line {k.start_mark.line + 1})",
                            "Give every key once; YAML would silently keep only the last value.",
                        )
                    seen.add(k.value)
                children += [k, v]
        total, height = 1, 0
        for child in children:
            nodes, below = visit(child, depth + 1, inner)
            total, height = total + nodes, max(height, below + 1)
        if total > MAX_NODES:
            raise _reject(field, f"expands to more than {MAX_NODES} YAML nodes", "Remove alias bombs; send less data.")
        expanded[key] = (total, height)
        return total, height

    visit(root, 0, ())


def load(text: str, field: str, max_bytes: int) -> Any:
    """Parse one YAML document from untrusted text; raise ``YamlRejected`` naming ``field``."""
    if len(text.encode("utf-8", errors="surrogatepass")) > max_bytes:
        raise _reject(field, f"larger than {max_bytes} bytes", "Send a smaller descriptor.")
    try:
        loader = _Loader(text)
    except UnicodeError as exc:  # libyaml reads UTF-8: a lone surrogate cannot be encoded
        raise _reject(field, f"not text: {exc}", "Send the descriptor as UTF-8 text.") from exc
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _measure(node, field)
        return loader.construct_document(node)
    except RecursionError as exc:
        raise _reject(field, "nesting too deep to parse", "Flatten the descriptor.") from exc
    except UnicodeError as exc:
        raise _reject(field, f"not text: {exc}", "Send the descriptor as UTF-8 text.") from exc
    except yaml.MarkedYAMLError as exc:
        where = f" (line {exc.problem_mark.line + 1})" if exc.problem_mark else ""
        raise _reject(field, f"not valid YAML: {exc.problem}{where}", "Send well-formed YAML.") from exc
    except yaml.YAMLError as exc:
        raise _reject(field, f"not valid YAML: {exc}", "Send well-formed YAML.") from exc
    finally:
        loader.dispose()
