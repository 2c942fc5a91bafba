"""DynamoDB expressions parsed once: moto's parses of the same expression reused while it answers in-process.

moto parses every expression of every request from its text (``UpdateExpressionParser.make``, the
tokenizer and the recursive-descent parser in moto/dynamodb/parsing/expressions.py; the condition lexer and
parser in moto/dynamodb/comparisons.py:176-232), and an ``UpdateItem`` parses its update expression twice
(responses.py:1242, models/__init__.py:456). A saga's handlers send the same few expressions with every
order, so both parses are memoised here, keyed by everything the parse reads:

==================================  ===================================================================
parse                               reused when, and why that is the same result
==================================  ===================================================================
``UpdateExpressionParser.make``     the same text. The tree is only read afterwards: the validator
                                    works on a deep copy (``Validator.__init__``, parsing/validators.py),
                                    the response class only calls ``find_clauses``
``ConditionExpressionParser.parse`` the same text, ExpressionAttributeNames and ExpressionAttributeValues
                                    (compared as JSON). The result is a tree of ``Op`` objects, which no
                                    evaluation changes; the names and values it found are copied onto
                                    each parser, as the parse would have set them
``Validator.__init__``'s deep copy  the copy of a memoised update tree: ``pickle.loads`` of the tree's
                                    pickle, made once (about 5x cheaper than ``deepcopy`` of the tree).
                                    The tree holds only moto's node and token objects, plain classes that
                                    pickle and deep-copy alike: a new graph of the same types and values
the validator's structural checks   skipped for a copy of a memoised tree once they passed for its text,
                                    the same ExpressionAttributeNames and the table's key attributes:
                                    ``ActionCountValidator``, ``OverlappingPathsValidator`` and
                                    ``UpdateHashRangeKeyValidator`` read nothing else, change nothing, and
                                    return the node they are given (``DepthFirstTraverser``); the item
                                    and the values are read only by the processors after them, which run
==================================  ===================================================================

Each of the validator's processors is a ``DepthFirstTraverser`` (parsing/ast_nodes.py:342-404), which builds
its ``_processing_map()`` dict twice for every node it visits (once for the tuple of node types, once to
pick the processor). Every map in moto is a constant of the processor: the same keys in the same order, bound
to the same methods. While moto answers in-process, a traversal builds it once and walks the tree the same
way: the same children in the same order, ``pre_processing_of_child`` before each child, the first matching
processor of the map, and the result set in the parent's place. A processor class that overrides the walk
itself (``traverse_node_recursively``, ``process`` or ``nodes_to_be_processed``) keeps moto's.

A parse that raises is not memoised: it raises again each time. The memo applies only while moto answers a
request that took the in-process path (``inprocess.dispatching()``), so ``STEPSAGA_AWS_INPROCESS=0`` and
``install(fast=False)`` parse every time, as stock; ``tests/functional/test_inprocess_differential.py``
compares the two.
"""

from __future__ import annotations

import copy
import functools
import json
import pickle
import threading
import weakref
from collections.abc import Callable
from typing import Any, Final

from moto.dynamodb.comparisons import ConditionExpressionParser
from moto.dynamodb.parsing import validators as _validators_mod
from moto.dynamodb.parsing.validators import (
    ActionCountValidator,
    OverlappingPathsValidator,
    UpdateExpressionValidator,
    UpdateHashRangeKeyValidator,
    Validator,
)
from moto.dynamodb.parsing.ast_nodes import DepthFirstTraverser, Node
from moto.dynamodb.parsing.expressions import UpdateExpressionParser

from stepsaga.local._moto import inprocess
from stepsaga.local._moto.run import Patch

#: Distinct expressions kept per kind; a saga has a handful, so this bounds only a generated workload.
LIMIT: Final = 4096

_PICKLES: dict[int, tuple[Any, bytes | None, str]] = {}  # id of a memoised update tree -> (it, its pickle, its text)
_COPIES: dict[int, tuple[weakref.ref[Any], str]] = {}  # id of a copy of one, not validated yet -> (it, the text)
_STRUCTURAL: Final = (ActionCountValidator, OverlappingPathsValidator, UpdateHashRangeKeyValidator)
_PASSED: set[tuple[str, str, tuple[str, ...]]] = set()  # (text, names, table key attributes) the checks passed
_CONDITIONS: dict[tuple[Any, str, str], tuple[Any, list[str], list[str]]] = {}
_LOCK = threading.Lock()
hits = [0, 0, 0, 0]  # update expressions, conditions, tree copies, structural checks reused (the tests read them)


_MAKE: list[Callable[[type, str], Any]] = []  # the original UpdateExpressionParser.make, while patched


@functools.lru_cache(maxsize=LIMIT)
def _update_tree(text: str) -> Any:
    tree = _MAKE[0](UpdateExpressionParser, text)
    with _LOCK:
        if len(_PICKLES) >= LIMIT:
            _PICKLES.clear()
        _PICKLES[id(tree)] = (tree, None, text)
    return tree


def _deepcopy(value: Any, memo: dict[int, Any] | None = None) -> Any:
    # validators.deepcopy: Validator.__init__ copies the update tree it is given before it mutates the copy
    entry = _PICKLES.get(id(value)) if memo is None and inprocess.dispatching() else None
    if entry is None:  # not a memoised tree (_PICKLES holds each one, so its id is not reused meanwhile)
        return copy.deepcopy(value, memo)
    blob = entry[1]
    if blob is None:
        try:
            blob = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:  # noqa: BLE001 - a tree pickle cannot write: deep-copied every time
            return copy.deepcopy(value)
        with _LOCK:
            _PICKLES[id(value)] = (value, blob, entry[2])
    hits[2] += 1
    copied = pickle.loads(blob)
    with _LOCK:
        if len(_COPIES) >= LIMIT:  # copies never validated (a failed request) are let go
            _COPIES.clear()
        _COPIES[id(copied)] = (weakref.ref(copied), entry[2])
    return copied


def _validate(original: Callable[[Validator], Any]) -> Any:
    @functools.wraps(original)
    def patched(self: Validator) -> Any:
        if type(self) is not UpdateExpressionValidator or not inprocess.dispatching():
            return original(self)
        node = self.node_to_validate
        with _LOCK:
            found = _COPIES.pop(id(node), None)
        processors = self.processors
        if found is None or found[0]() is not node or tuple(type(p) for p in processors[:3]) != _STRUCTURAL:
            return original(self)
        try:
            key = (found[1], json.dumps(self.expression_attribute_names, sort_keys=True), tuple(self.table.table_key_attrs))
        except (TypeError, ValueError):
            return original(self)
        passed = key in _PASSED
        for index, processor in enumerate(processors):
            if passed and index < len(_STRUCTURAL):
                continue
            node = processor.traverse(node)
            if index == len(_STRUCTURAL) - 1:
                with _LOCK:
                    if len(_PASSED) >= LIMIT:
                        _PASSED.clear()
                    _PASSED.add(key)
        if passed:
            hits[3] += 1
        return node

    return patched


def _make(original: Any) -> Any:
    if not isinstance(original, classmethod):  # someone else's wrapper is in place: leave it alone
        return original
    make = original.__func__
    _MAKE[:] = [make]

    def patched(cls: type, expression_str: Any) -> Any:
        if cls is not UpdateExpressionParser or type(expression_str) is not str or not inprocess.dispatching():
            return make(cls, expression_str)
        before = _update_tree.cache_info().hits
        tree = _update_tree(expression_str)
        hits[0] += _update_tree.cache_info().hits - before
        return tree

    return classmethod(functools.wraps(make)(patched))


def _key(parser: ConditionExpressionParser) -> tuple[Any, str, str] | None:
    try:
        return (parser.condition_expression, json.dumps(parser.expression_attribute_names, sort_keys=True),
                json.dumps(parser.expression_attribute_values, sort_keys=True))
    except (TypeError, ValueError):  # something JSON cannot tell apart (bytes): parsed every time
        return None


def _parse(original: Callable[[ConditionExpressionParser], Any]) -> Any:
    @functools.wraps(original)
    def patched(self: ConditionExpressionParser) -> Any:
        if type(self) is not ConditionExpressionParser or self.expr_attr_names_found or self.expr_attr_values_found \
                or not inprocess.dispatching():
            return original(self)
        key = _key(self)
        if key is None or type(key[0]) not in (str, type(None)):
            return original(self)
        found = _CONDITIONS.get(key)
        if found is None:
            op = original(self)
            with _LOCK:
                if len(_CONDITIONS) >= LIMIT:
                    _CONDITIONS.clear()
                _CONDITIONS[key] = (op, list(self.expr_attr_names_found), list(self.expr_attr_values_found))
            return op
        hits[1] += 1
        op, names, values = found
        self.expr_attr_names_found.extend(names)
        self.expr_attr_values_found.extend(values)
        return op

    return patched


_WALK: Final = ("traverse_node_recursively", "process", "nodes_to_be_processed")
_BASE_WALK: Final = tuple(DepthFirstTraverser.__dict__[name] for name in _WALK)
_BASE_PRE: Final = DepthFirstTraverser.__dict__["pre_processing_of_child"]


def _walk(node: Any, child_id: int, pairs: tuple[tuple[type, Callable[[Any], Any]], ...],
          pre: Callable[[Any, int], None] | None) -> Any:
    # DepthFirstTraverser.traverse_node_recursively (parsing/ast_nodes.py:377-401) with its map built once
    if isinstance(node, Node):
        parent_node = node.parent
        if node.children is not None:
            for i, child_node in enumerate(node.children):
                if pre is not None:
                    pre(node, i)
                _walk(child_node, i, pairs, pre)
        for class_key, processor in pairs:
            if isinstance(node, class_key):
                node = processor(node)
                node.parent = parent_node
                if parent_node:
                    parent_node.children[child_id] = node
                break
    return node


def _traverse(original: Callable[[DepthFirstTraverser, Any], Any]) -> Any:
    @functools.wraps(original)
    def patched(self: DepthFirstTraverser, node: Any) -> Any:
        cls = type(self)
        if not inprocess.dispatching() or any(getattr(cls, name) is not base for name, base in zip(_WALK, _BASE_WALK)):
            return original(self, node)
        pre = None if getattr(cls, "pre_processing_of_child") is _BASE_PRE else self.pre_processing_of_child
        return _walk(node, -1, tuple(self._processing_map().items()), pre)

    return patched


def clear_caches() -> None:
    """Forget every parse kept (uninstall calls it)."""
    _update_tree.cache_clear()
    with _LOCK:
        _CONDITIONS.clear()
        _PICKLES.clear()
        _COPIES.clear()
        _PASSED.clear()


PATCHES: Final[tuple[Patch, ...]] = (
    (UpdateExpressionParser, "make", _make),
    (ConditionExpressionParser, "parse", _parse),
    (_validators_mod, "deepcopy", lambda original: _deepcopy),
    (Validator, "validate", _validate),
    (DepthFirstTraverser, "traverse", _traverse),
)
