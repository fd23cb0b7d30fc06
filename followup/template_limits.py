"""What a lead's template may cost: the sandbox it renders in, bounded by the size of every text
and number it makes, its loop iterations, the text it makes in all, and the processor time it
takes, so a preview, a save-time check or a send can neither take a worker's memory nor minutes
of its time. A template over a limit raises TemplateTooCostly (a SecurityError) saying which.

How: before a part is compiled it is counted (at most MAX_TOKENS) and its syntax tree is
instrumented (every loop's items counted, every `~`, list and dict literal measured, the text
of every output counted); the filters, tests, calls and operators the sandbox lets a template
use are checked before they run (widths, counts, sizes) and after (what they made); and one
budget per rendered part, kept in a context variable, holds the counts and the deadline. Time is
the thread's processor time (time.thread_time): what a render costs the worker, which a busy
machine's other processes do not inflate."""

import math
import re
import string
import time
import types
from collections import deque
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import update_wrapper, wraps
from inspect import signature, unwrap
from itertools import islice
from typing import Any

from jinja2 import Template, nodes, pass_context
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context, LoopContext, Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment, SandboxedFormatter
from jinja2.utils import Namespace, _PassArg
from jinja2.visitor import NodeTransformer
from markupsafe import EscapeFormatter, Markup

MAX_SIZE = 100_000  # characters in any one text a template makes, its output included
MAX_RANGE = 1_000  # items in a range()
MAX_LOOPS = 10_000  # loop iterations in one rendered part, nested loops included
MAX_MADE = 1_000_000  # characters of text one rendered part makes in all
MAX_DIGITS = 1_000  # digits in a number
MAX_TOKENS = 3_000  # tags, names, operators and runs of text in one part (compiling costs)
MAX_STYLE_WORK = 1_000_000  # style rules and declarations × HTML tags, for inlining CSS
MAX_STYLE_COPY = 10_000_000  # characters of style × HTML tags (what inlining may copy)
RENDER_SECONDS = 1.0  # for one message, or for every render of one preview or check

MAX_INT_BITS = math.ceil(MAX_DIGITS * math.log2(10))
TOO_LONG = f"this template makes text longer than {MAX_SIZE} characters"
TOO_SLOW = f"this template takes longer than {RENDER_SECONDS:g} second to render"


class TemplateTooCostly(SecurityError):
    """A template that would make too much text, loop too often or take too long."""


class TemplateTooSlow(TemplateTooCostly):
    """A template that took all its time: the one limit that costs what it guards."""


@dataclass
class _Budget:
    """What one part has spent so far, and when its time is up."""

    deadline: float
    loops: int = 0
    made: int = 0

    def tick(self) -> None:
        if time.thread_time() > self.deadline:
            raise TemplateTooSlow(TOO_SLOW)

    def loop(self) -> None:
        self.loops += 1
        if self.loops > MAX_LOOPS:
            raise TemplateTooCostly(f"this template loops more than {MAX_LOOPS} times")
        self.tick()

    def spend(self, size: int) -> None:
        self.made += size
        if self.made > MAX_MADE:
            raise TemplateTooCostly(
                f"this template makes more than {MAX_MADE} characters of text in all"
            )
        self.tick()


_deadline: ContextVar[float | None] = ContextVar("template_deadline", default=None)
_budget: ContextVar[_Budget | None] = ContextVar("template_budget", default=None)


@contextmanager
def time_limit(seconds: float = RENDER_SECONDS) -> Iterator[None]:
    """Every render inside shares one deadline (an enclosing one, if sooner): a message's
    parts, or the many renders of one preview or save-time check."""
    deadline = time.thread_time() + seconds
    outer = _deadline.get()
    token = _deadline.set(deadline if outer is None else min(outer, deadline))
    try:
        yield
    finally:
        _deadline.reset(token)


def out_of_time() -> bool:
    """Whether the enclosing time_limit has run out."""
    deadline = _deadline.get()
    return deadline is not None and time.thread_time() > deadline


def check_time() -> None:
    """Refuse to start (compiling a part, say) once the enclosing time_limit has run out."""
    if out_of_time():
        raise TemplateTooSlow(TOO_SLOW)


def render_part(template: Template, context: dict) -> str:
    """One part rendered within a budget of its own, stopped as soon as its output is too
    long."""
    deadline = _deadline.get()
    budget = _Budget(time.thread_time() + RENDER_SECONDS if deadline is None else deadline)
    token = _budget.set(budget)
    try:
        chunks, size = [], 0
        for chunk in template.generate(context):
            size += len(chunk)
            if size > MAX_SIZE:
                raise TemplateTooCostly(TOO_LONG)
            chunks.append(chunk)
        budget.tick()
        return "".join(chunks)
    finally:
        _budget.reset(token)


def check_style_work(html: str) -> None:
    """Refuse an email whose style blocks would cost too much to inline: matching costs their
    rules, selectors and declarations times the tags, and every declaration may be copied
    into every tag."""
    lower, marks, length, start = html.lower(), 0, 0, 0
    while (start := lower.find("<style", start)) != -1:
        end = lower.find("</style", start)
        end = len(lower) if end == -1 else end
        marks += sum(lower.count(mark, start, end) for mark in "{,;:")
        length += end - start
        start = end
    tags = lower.count("<")
    if marks * tags > MAX_STYLE_WORK or length * tags > MAX_STYLE_COPY:
        raise TemplateTooCostly(
            f"this email's styles are too many for its size ({marks} rules, selectors and"
            f" declarations in {length} characters, for {tags} tags): put the styles on the"
            " tags or use fewer"
        )


def _current() -> _Budget:
    budget = _budget.get()
    if budget is None:  # the hooks only run inside render_part
        raise RuntimeError("a lead's template renders through template_limits.render_part")
    return budget


# Sizes


_CONTAINERS: tuple[type[Collection], ...] = (list, tuple, set, frozenset, deque)
_CONTAINERS += (type({}.keys()), type({}.values()), type({}.items()))


def _size(value: Any, limit: int = MAX_SIZE) -> int:
    """About how many characters the value makes as text (how much comparing or copying it
    costs), counted only until it is past the limit: a list holding the same list many
    times over is refused before it is walked."""
    total, stack = 0, [value]
    while stack and total <= limit:
        item = stack.pop()
        if isinstance(item, str | bytes):
            total += len(item)
        elif isinstance(item, bool) or item is None:
            total += 5
        elif isinstance(item, int):
            total += item.bit_length() // 3 + 1
        elif isinstance(item, float):
            total += 25
        elif isinstance(item, Undefined):  # before any test that could make it raise
            total += 1
        elif isinstance(item, range):
            total += 25
        elif isinstance(item, Mapping):
            total += 2 + 4 * len(item)
            if total <= limit:
                stack.extend(item.keys())
                stack.extend(item.values())
        elif isinstance(item, _CONTAINERS):
            total += 2 + 2 * len(item)
            if total <= limit:
                stack.extend(item)
        elif isinstance(item, Namespace):
            stack.append(object.__getattribute__(item, "_Namespace__attrs"))
        else:
            total += 1
    return total


def _check_size(value: Any) -> None:
    if _size(value) > MAX_SIZE:
        raise TemplateTooCostly(TOO_LONG)


def _made(value: Any) -> Any:
    """What a filter, call or operator made, refused if it is too large, and counted."""
    if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
        raise TemplateTooCostly(f"this template makes a number longer than {MAX_DIGITS} digits")
    if isinstance(value, (str, bytes, Mapping, *_CONTAINERS)):
        size = _size(value)
        if size > MAX_SIZE:
            raise TemplateTooCostly(TOO_LONG)
        _current().spend(size)
    return value


def _refuse_over(size: int) -> None:
    if size > MAX_SIZE:
        raise TemplateTooCostly(TOO_LONG)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


def _replaced_size(text: str | bytes, old: Any, new: Any, count: Any) -> int:
    """The length of text.replace(old, new, count), found without making it."""
    old, new = (_text(v) if isinstance(text, str) else v for v in (old, new))
    if not isinstance(old, str | bytes) or not isinstance(new, str | bytes):
        return len(text)  # replace() refuses these itself
    found = text.count(old) if old else len(text) + 1  # type: ignore[arg-type]
    if isinstance(count, int) and count >= 0:
        found = min(found, count)
    return len(text) + found * max(len(new) - len(old), 0)


def _joined_items(items: Iterable, separator: Any) -> list:
    """The items a join would join, taken (up to a limit) so their size can be known first."""
    taken = list(islice(items, MAX_SIZE + 1))
    _check_size(taken)
    _refuse_over(_size(taken) + len(_text(separator)) * max(len(taken) - 1, 0))
    return taken


# Formatting: `'%9999s' % x`, `'{:>9999}'.format(x)` and `|format` make text as wide as they
# are told.

_PRINTF = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?")
_DIGITS = re.compile(r"\d+")


def _check_printf(pattern: str | bytes) -> None:
    if isinstance(pattern, bytes):
        pattern = pattern.decode("latin-1")
    for width, precision in _PRINTF.findall(pattern):
        for number in (width, precision):
            if number == "*" or (number and (len(number) > 6 or int(number) > MAX_SIZE)):
                raise TemplateTooCostly(TOO_LONG)


def _check_format_spec(spec: str) -> None:
    for number in _DIGITS.findall(spec):
        if len(number) > 6 or int(number) > MAX_SIZE:
            raise TemplateTooCostly(TOO_LONG)


class _BoundedFormatter(SandboxedFormatter):
    def get_field(self, field_name: str, args: Any, kwargs: Any) -> tuple[Any, str]:
        obj, first = super().get_field(field_name, args, kwargs)
        _check_size(obj)
        return obj, first

    def format_field(self, value: Any, format_spec: str) -> Any:
        _check_format_spec(format_spec)
        return super().format_field(value, format_spec)


class _BoundedEscapeFormatter(_BoundedFormatter, EscapeFormatter):
    pass


# Filters and tests: Jinja calls them directly, not through the sandbox's call().


def _arguments(func: Callable, context: Context, value: Any, args: tuple, kwargs: dict) -> dict:
    """A filter's arguments by name (a filter with an async variant is a wrapper that takes an
    evaluation context the function it wraps may not take)."""
    inner = unwrap(func)
    bound = signature(inner).bind(*_first_arguments(inner, context), value, *args, **kwargs)
    bound.apply_defaults()
    return bound.arguments


def _guard_center(a: dict) -> None:
    if isinstance(a["width"], int):
        _refuse_over(max(a["width"], 0))


def _guard_indent(a: dict) -> None:
    width = a["width"]
    lines = _text(a["s"]).count("\n") + 1
    _refuse_over(len(_text(a["s"])) + lines * (len(width) if isinstance(width, str) else width))


def _guard_wordwrap(a: dict) -> None:
    text, width = _text(a["s"]), a["width"]
    if isinstance(width, int) and width > 0:
        breaks = min(len(text), len(text) // width + text.count(" ") + text.count("\n")) + 1
        if breaks > MAX_LOOPS:
            raise TemplateTooCostly(f"this template wraps text into more than {MAX_LOOPS} lines")
        _refuse_over(len(text) + breaks * len(_text(a["wrapstring"] or "\n")))


def _guard_urlize(a: dict) -> None:
    text = _text(a["value"])
    words = min(len(text), text.count(" ") + text.count("\n")) + 1
    extra = len(_text(a["target"] or "")) + len(_text(a["rel"] or ""))
    _refuse_over(len(text) + words * extra)


def _guard_replace(a: dict) -> None:
    _refuse_over(_replaced_size(_text(a["s"]), a["old"], a["new"], a["count"]))


def _guard_sum(a: dict) -> None:
    if not isinstance(a["start"], int | float):
        raise TemplateTooCostly("sum() adds numbers only in templates")


def _guard_count(name: str) -> Callable[[dict], None]:
    def guard(a: dict) -> None:
        if isinstance(a[name], int):
            _refuse_over(a[name])

    return guard


def _guard_tojson(a: dict) -> None:
    indent = a["indent"]
    if (len(indent) if isinstance(indent, str) else indent or 0) > 16:
        raise TemplateTooCostly("tojson() indents by at most 16 in templates")


def _guard_format(a: dict) -> None:
    if isinstance(a["value"], str | bytes):
        _check_printf(a["value"])


_FILTER_GUARDS: dict[str, Callable[[dict], None]] = {
    "center": _guard_center,
    "indent": _guard_indent,
    "wordwrap": _guard_wordwrap,
    "urlize": _guard_urlize,
    "replace": _guard_replace,
    "sum": _guard_sum,
    "batch": _guard_count("linecount"),
    "slice": _guard_count("slices"),
    "truncate": _guard_count("length"),
    "tojson": _guard_tojson,
    "format": _guard_format,
}


def _first_arguments(func: Callable, context: Context) -> tuple:
    """What Jinja passes a filter or test before its value."""
    passes = _PassArg.from_obj(func)
    if passes is _PassArg.context:
        return (context,)
    if passes is _PassArg.eval_context:
        return (context.eval_ctx,)
    if passes is _PassArg.environment:
        return (context.environment,)
    return ()


def _guarded_filter(name: str, func: Callable) -> Callable:
    """The filter, checked before it runs and after. It takes the context, so that Jinja
    never runs it while compiling (constant folding), outside any budget."""
    guard = _FILTER_GUARDS.get(name)

    def guarded(context: Context, value: Any, *args: Any, **kwargs: Any) -> Any:
        _current().tick()
        for argument in (value, *args, *kwargs.values()):
            _check_size(argument)
        first = _first_arguments(func, context)
        if guard is not None:
            guard(_arguments(func, context, value, args, kwargs))
        if name == "join":
            value = _joined_items(iter(value), (args or [kwargs.get("d", "")])[0])
        return _made(func(*first, value, *args, **kwargs))

    guarded = update_wrapper(guarded, func, updated=())
    return pass_context(guarded)


def _guarded_test(func: Callable) -> Callable:
    def guarded(context: Context, value: Any, *args: Any, **kwargs: Any) -> Any:
        _current().tick()
        for argument in (value, *args, *kwargs.values()):
            _check_size(argument)
        return func(*_first_arguments(func, context), value, *args, **kwargs)

    return pass_context(update_wrapper(guarded, func, updated=()))


# The hooks the instrumented syntax tree calls, as filters under names a template cannot
# write (a dot is not part of a name).


@pass_context
def _loop_hook(context: Context, items: Iterable) -> Iterator:
    return _counted(_current(), items)


def _counted(budget: _Budget, items: Iterable) -> Iterator:
    for item in items:
        budget.loop()
        yield item


@pass_context
def _text_hook(context: Context, value: Any) -> Any:
    """A piece of a `~` concatenation, or the whole; and (as the environment's finalize)
    every {{ expression }}'s value, before it becomes text: measured and counted."""
    size = _size(value)
    _refuse_over(size)
    _current().spend(size)
    return value


@pass_context
def _value_hook(context: Context, value: Any) -> Any:
    """A list, tuple or dict literal: its size at most MAX_SIZE, however it nests."""
    _current().tick()
    _check_size(value)
    return value


@pass_context
def _spend_hook(context: Context, size: int) -> str:
    """The text of an output statement (what it writes besides its expressions)."""
    _current().spend(size)
    return ""


_HOOKS = {
    "followup.loop": _loop_hook,
    "followup.text": _text_hook,
    "followup.value": _value_hook,
    "followup.spend": _spend_hook,
}


def _hook(node: nodes.Node, name: str) -> nodes.Filter:
    return nodes.Filter(node, name, [], [], None, None, lineno=node.lineno)


class _Instrument(NodeTransformer):
    """Counts every loop's items, measures every `~` and literal, and counts the text every
    output statement writes (inside a loop, a macro or a {% set %} block it adds up)."""

    def visit_For(self, node: nodes.For) -> nodes.Node:
        self.generic_visit(node)
        node.iter = _hook(node.iter, "followup.loop")
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        self.generic_visit(node)
        node.nodes = [_hook(piece, "followup.text") for piece in node.nodes]
        return _hook(node, "followup.text")

    def visit_List(self, node: nodes.List) -> nodes.Node:
        return _hook(self.generic_visit(node), "followup.value")

    def visit_Dict(self, node: nodes.Dict) -> nodes.Node:
        return _hook(self.generic_visit(node), "followup.value")

    def visit_Tuple(self, node: nodes.Tuple) -> nodes.Node:
        self.generic_visit(node)
        return _hook(node, "followup.value") if node.ctx == "load" else node

    def visit_Output(self, node: nodes.Output) -> nodes.Node | list[nodes.Node]:
        self.generic_visit(node)
        size = sum(len(c.data) for c in node.nodes if isinstance(c, nodes.TemplateData))
        if not size:
            return node
        spend = _hook(nodes.Const(size, lineno=node.lineno), "followup.spend")
        return [nodes.ExprStmt(spend, lineno=node.lineno), node]


# Calls: methods of text, bytes and numbers that make something as large as they are told.


def _method_args(method: Any, args: tuple, kwargs: dict) -> tuple:
    """The call's arguments, refused when the method would make something too large (a join's
    items taken first, so their size is known)."""
    owner = getattr(method, "__self__", None)
    if not isinstance(owner, str | bytes | int) or isinstance(owner, bool):
        return args
    for value in (*args, *kwargs.values()):
        if isinstance(value, int) and abs(value) > MAX_SIZE:  # widths, counts, lengths
            raise TemplateTooCostly(TOO_LONG)
    if not isinstance(owner, str | bytes):
        return args
    name = getattr(method, "__name__", "")
    if name == "expandtabs":
        tabsize = (args or [kwargs.get("tabsize", 8)])[0]
        tabs = owner.count("\t") if isinstance(owner, str) else owner.count(b"\t")
        _refuse_over(len(owner) + tabs * tabsize)
    elif name == "replace" and len(args) >= 2:
        count = args[2] if len(args) > 2 else kwargs.get("count", -1)
        _refuse_over(_replaced_size(owner, args[0], args[1], count))
    elif name == "join" and args:
        return (_joined_items(iter(args[0]), owner), *args[1:])
    elif name == "translate" and args and isinstance(args[0], Mapping):
        longest = max((len(v) for v in args[0].values() if isinstance(v, str)), default=1)
        _refuse_over(len(owner) * longest)
    return args


class BoundedSandbox(ImmutableSandboxedEnvironment):
    """Jinja's sandbox without changes to lists and dicts (a list cannot grow in a loop),
    with every part counted and instrumented before it compiles, and every filter, test,
    call and text-making operator bounded."""

    intercepted_binops = frozenset(["+", "*", "**", "%"])

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.globals["range"] = _bounded_range
        del self.globals["lipsum"]  # made-up text of any length: nothing a message needs
        self.filters = {name: _guarded_filter(name, f) for name, f in self.filters.items()}
        self.filters.update(_HOOKS)
        self.tests = {name: _guarded_test(t) for name, t in self.tests.items()}  # type: ignore[arg-type]
        self.finalize = _text_hook
        self.concat = _joined  # type: ignore[method-assign]  # {% set %} blocks, macros

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        tokens = (t for t in self.lexer.tokeniter(source, name, filename) if t[1] != "whitespace")
        if next(islice(tokens, MAX_TOKENS, None), None) is not None:
            raise TemplateTooCostly(
                f"this part has more than {MAX_TOKENS} tags, names and operators"
            )
        tree = _Instrument().visit(super()._parse(source, name, filename))
        tree.set_environment(self)
        return tree

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        _current().tick()
        if operator == "+":
            if isinstance(left, str | bytes | list | tuple):
                _refuse_over(_size(left) + _size(right))
        elif operator == "*":
            _check_product(left, right)
        elif operator == "**":
            _check_power(left, right)
        elif operator == "%" and isinstance(left, str | bytes):
            _check_printf(left)
            _check_size(right)
        return _made(super().call_binop(context, operator, left, right))

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        _current().tick()
        if isinstance(__obj, LoopContext) and args:  # a recursive loop's next level
            args = (_counted(_current(), args[0]), *args[1:])
        else:
            for name, value in (*enumerate(args), *kwargs.items()):
                if name not in ("_loop_vars", "_block_vars"):
                    _check_size(value)
            args = _method_args(__obj, args, kwargs)
        return _made(super().call(__context, __obj, *args, **kwargs))

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        """str.format and format_map with a formatter that refuses huge widths (as Jinja's
        own, which it replaces)."""
        if not isinstance(value, types.MethodType | types.BuiltinMethodType) or (
            value.__name__ not in ("format", "format_map")
        ):
            return None
        f_self = value.__self__
        if not isinstance(f_self, str):
            return None
        str_type, is_format_map = type(f_self), value.__name__ == "format_map"
        formatter: string.Formatter
        if isinstance(f_self, Markup):
            formatter = _BoundedEscapeFormatter(self, escape=f_self.escape)
        else:
            formatter = _BoundedFormatter(self)

        @wraps(value)
        def wrapper(*args: Any, **kwargs: Any) -> str:
            if is_format_map:
                if kwargs:
                    raise TypeError("format_map() takes no keyword arguments")
                if len(args) != 1:
                    raise TypeError(f"format_map() takes exactly one argument ({len(args)} given)")
                return str_type(formatter.vformat(f_self, (), args[0]))
            return str_type(formatter.vformat(f_self, args, kwargs))

        return wrapper


def _bounded_range(*args: int) -> range:
    numbers = range(*args)
    if len(numbers) > MAX_RANGE:
        raise TemplateTooCostly(f"range() is limited to {MAX_RANGE} items in templates")
    return numbers


def _joined(pieces: Iterable[str]) -> str:
    """A {% set %} block's, a macro's or a {% filter %} block's text."""
    pieces = list(pieces)
    _refuse_over(sum(map(len, pieces)))
    return "".join(pieces)


def _check_product(left: Any, right: Any) -> None:
    if isinstance(left, int) and isinstance(right, int):
        if left.bit_length() + right.bit_length() > MAX_INT_BITS:
            raise TemplateTooCostly(f"this template makes a number longer than {MAX_DIGITS} digits")
        return
    sequences = [v for v in (left, right) if isinstance(v, str | bytes | list | tuple)]
    counts = [v for v in (left, right) if isinstance(v, int)]
    if sequences and counts:
        _refuse_over(_size(sequences[0]) * max(counts[0], 0))


def _check_power(base: Any, exponent: Any) -> None:
    if isinstance(exponent, int | float) and abs(exponent) > 64:
        raise TemplateTooCostly("exponents above 64 are not allowed in templates")
    if isinstance(base, int) and isinstance(exponent, int) and exponent > 0:
        if base.bit_length() * exponent > MAX_INT_BITS:
            raise TemplateTooCostly(f"this template makes a number longer than {MAX_DIGITS} digits")
