"""Sandboxed templating of runbook values.

Every text value holding ``{{`` or ``{%`` is a jinja2 template, rendered in a
sandbox (``cephflow.sandbox``) with ``StrictUndefined``: an undefined name is an error (never an
empty string) and Python internals (``__class__``, ``__globals__``, ``mro``) are out of reach.

A value that is exactly one expression, ``"{{ osds }}"``, keeps the expression's native type
(a list stays a list, an int an int); any other template renders to text. Compiled templates
are cached by their source, so a 10,000-way fan-out compiles each template once.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateSyntaxError, UndefinedError, meta, nodes
from jinja2.parser import Parser
from jinja2.runtime import Context, Undefined
from jinja2.sandbox import SecurityError

from cephflow.sandbox import Sandbox
from cephflow.suggest import did_you_mean

_NATIVE = re.compile(r"\A\s*\{\{(?P<expr>(?:(?!\{\{|\}\}).)*)\}\}\s*\Z", re.S)


class TemplateProblem(Exception):
    """A template could not be compiled or rendered; ``message`` says why, for the operator."""

    def __init__(self, message: str, hint: str | None = None):
        self.message = message
        self.hint = hint
        self.path: tuple[object, ...] = ()
        """Where inside the rendered value (keys and indexes) the failing template sits."""
        super().__init__(message)


FALSE_WORDS = ("", "false", "no", "0", "none", "off")
"""Rendered text that counts as false in a condition (``when:``, ``if:``)."""


def truthy(value: Any) -> bool:
    """A rendered condition's truth: text by ``FALSE_WORDS``, anything else by Python's."""
    if isinstance(value, str):
        return value.strip().lower() not in FALSE_WORDS
    return bool(value)


def is_template(value: Any) -> bool:
    return isinstance(value, str) and ("{{" in value or "{%" in value)


STEPS = "steps"
"""The template variable holding step outputs (``steps.facts.output``), known at run time only."""


def texts(value: Any) -> list[str]:
    """Every template text inside ``value`` (lists and mappings walked), in order."""
    if isinstance(value, str):
        return [value] if is_template(value) else []
    if isinstance(value, list):
        return [t for item in value for t in texts(item)]
    if isinstance(value, dict):
        return [t for item in value.values() for t in texts(item)]
    return []


def condition_template(text: str) -> str:
    """A condition as a template: a bare expression (``force or osd.id > 3``) is wrapped."""
    return text if is_template(text) else "{{ " + text + " }}"


class Templates:
    """The sandboxed environment and a cache of compiled templates."""

    def __init__(self) -> None:
        self.env = Sandbox(
            undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True
        )
        self._compiled: dict[str, Callable[[Mapping[str, Any]], Any]] = {}
        self._variables: dict[str, frozenset[str]] = {}

    def _compile(self, text: str) -> Callable[[Mapping[str, Any]], Any]:
        fn = self._compiled.get(text)
        if fn is not None:
            return fn
        native = _NATIVE.match(text)
        try:
            if native:
                fn = _expression_fn(self._expression(native.group("expr").strip()))
            else:
                fn = _text_fn(self.env.from_string(text))
        except TemplateSyntaxError as exc:
            raise TemplateProblem(f"template syntax: {exc.message}") from exc
        except Exception as exc:  # jinja2 may raise others on odd input; report, never crash
            raise TemplateProblem(f"template syntax: {exc}") from exc
        self._compiled[text] = fn
        return fn

    def _expression(self, source: str) -> Template:
        """``source`` (one expression) as a template that stores its value in ``result``:
        what ``Environment.compile_expression`` builds, kept as a template so that it can be
        called with a shared context (see ``_expression_fn``)."""
        parser = Parser(self.env, source, state="variable")
        expr = parser.parse_expression()
        if not parser.stream.eos:
            raise TemplateSyntaxError("chunk after expression", parser.stream.current.lineno,
                                      None, None)
        expr.set_environment(self.env)
        body = [nodes.Assign(nodes.Name("result", "store"), expr, lineno=1)]
        return self.env.from_string(nodes.Template(body, lineno=1))

    def check(self, text: str, known: set[str]) -> None:
        """Raise TemplateProblem if ``text`` does not parse or names a variable not in ``known``."""
        self._compile(text)
        try:
            names = meta.find_undeclared_variables(self.env.parse(text))
        except TemplateSyntaxError as exc:
            raise TemplateProblem(f"template syntax: {exc.message}") from exc
        for name in sorted(names):
            if name not in known and name not in self.env.globals:
                raise TemplateProblem(
                    f"undefined variable {name!r}", did_you_mean(name, known)
                )

    def _parse(self, text: str) -> nodes.Template:
        try:
            return self.env.parse(text)
        except TemplateSyntaxError as exc:
            raise TemplateProblem(f"template syntax: {exc.message}") from exc

    def variables(self, text: str) -> set[str]:
        """The variables ``text`` reads from its context (``steps`` included)."""
        found = self._variables.get(text)
        if found is None:
            found = self._variables[text] = frozenset(
                meta.find_undeclared_variables(self._parse(text)))
        return set(found)

    def step_reads(self, text: str) -> set[str]:
        """The steps whose outputs ``text`` reads: ``steps.facts`` and ``steps["facts"]``.

        The compiler must know them to check the order of steps and to tell the worker
        which outputs to fetch, so a step named at run time (``steps[name]``, or ``steps``
        passed around whole) is refused with TemplateProblem.
        """
        if STEPS not in self.variables(text):
            return set()
        tree = self._parse(text)
        names: set[str] = set()
        named: set[int] = set()
        for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
            inner = node.node
            if not (isinstance(inner, nodes.Name) and inner.name == STEPS):
                continue
            if isinstance(node, nodes.Getattr):
                names.add(node.attr)
                named.add(id(inner))
            elif isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
                names.add(node.arg.value)
                named.add(id(inner))
        for name in tree.find_all(nodes.Name):
            if name.name == STEPS and name.ctx == "load" and id(name) not in named:
                raise TemplateProblem(
                    "'steps' must be followed by a step's name (steps.facts or "
                    "steps[\"facts\"]): the compiler must know which outputs a step reads",
                    "a step chosen at run time (steps[name]) is not supported")
        return names

    def render(self, value: Any, ctx: Mapping[str, Any]) -> Any:
        """``value`` with every template in it rendered (lists and mappings walked)."""
        if isinstance(value, str):
            if "{{" not in value and "{%" not in value:
                return value
            fn = self._compile(value)
            try:
                return plain(fn(ctx))
            except UndefinedError as exc:
                raise TemplateProblem(_undefined(exc), _undefined_hint(exc, ctx)) from exc
            except SecurityError as exc:
                raise TemplateProblem(f"template not allowed: {exc}") from exc
            except TemplateProblem as exc:
                match = re.match(r"undefined variable '([^']+)'", exc.message)
                if match and exc.hint is None:
                    exc.hint = did_you_mean(match.group(1), ctx.keys())
                raise
            except Exception as exc:  # the template's own arithmetic etc.: report, never crash
                raise TemplateProblem(f"template error: {type(exc).__name__}: {exc}") from exc
        if isinstance(value, list):
            return [self._render_at(i, item, ctx) for i, item in enumerate(value)]
        if isinstance(value, dict):
            return {key: self._render_at(key, item, ctx) for key, item in value.items()}
        return value

    def _render_at(self, where: object, value: Any, ctx: Mapping[str, Any]) -> Any:
        try:
            return self.render(value, ctx)
        except TemplateProblem as exc:
            exc.path = (where, *exc.path)
            raise


def _context(template: Template) -> Callable[[Mapping[str, Any]], Context]:
    """A context maker for ``template``: its globals and the values, in one new dict.

    ``render`` builds its context by copying the template's globals (a ChainMap) on every
    call; a 100,000-member fan-out renders its label that many times. A shared context
    over a dict of the globals copied once, with the values on top, is the same context
    for a third of the cost; the sandbox checks live in the compiled code, not the context.
    """
    base = dict(template.globals)

    def make(ctx: Mapping[str, Any]) -> Context:
        return template.new_context({**base, **ctx}, shared=True)

    return make


def _text_fn(template: Template) -> Callable[[Mapping[str, Any]], Any]:
    make = _context(template)

    def fn(ctx: Mapping[str, Any]) -> Any:
        return "".join(template.root_render_func(make(ctx)))

    return fn


def _expression_fn(template: Template) -> Callable[[Mapping[str, Any]], Any]:
    make = _context(template)

    def fn(ctx: Mapping[str, Any]) -> Any:
        context = make(ctx)
        for _ in template.root_render_func(context):
            pass
        return context.vars["result"]

    return fn


def _undefined(exc: UndefinedError) -> str:
    match = re.match(r"'([^']+)' is undefined", exc.message or "")
    if match:
        return f"undefined variable {match.group(1)!r}"
    return f"undefined: {exc.message}"


def _undefined_hint(exc: UndefinedError, ctx: Mapping[str, Any]) -> str | None:
    match = re.match(r"'([^']+)' is undefined", exc.message or "")
    return did_you_mean(match.group(1), ctx.keys()) if match else None


def plain(value: Any, depth: int = 0) -> Any:
    """A template's result as JSON-like data; TemplateProblem for anything else."""
    if depth > 50:
        raise TemplateProblem("template result is nested too deeply")
    if isinstance(value, Undefined):
        try:
            str(value)
        except UndefinedError as exc:
            raise TemplateProblem(_undefined(exc)) from exc
        raise TemplateProblem("template result is undefined")  # pragma: no cover
    if value is None or isinstance(value, bool | int | str):
        return str(value) if isinstance(value, str) and type(value) is not str else value
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise TemplateProblem(f"template gave {value}, not a finite number")
        return value
    if isinstance(value, list | tuple | range):
        return [plain(item, depth + 1) for item in value]
    if isinstance(value, dict):
        return {str(plain(k, depth + 1)): plain(v, depth + 1) for k, v in value.items()}
    raise TemplateProblem(f"template gave a {type(value).__name__}, not plain data")
