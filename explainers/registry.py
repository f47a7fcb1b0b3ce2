"""Method registry: JSON-safe method names (what a Celery payload or the CLI names) -> implementation.

Built-in methods are listed in ``METHODS``. Plugins add methods through the entry-point group
``explainers.methods`` (read with ``importlib.metadata``): each entry point is named after its method
and names a :class:`Method` object (name, title, ``score_batch`` as "module:function")::

    # pyproject.toml of the plugin's distribution
    [project.entry-points."explainers.methods"]
    grad-times-input = "explainers_grad_input:METHOD"

    # explainers_grad_input/__init__.py: no torch here
    from explainers.registry import Method
    METHOD = Method("grad-times-input", "Gradient × Input", "explainers_grad_input.scores:grad_times_input")

The entry point names a light :class:`Method` rather than the function itself, so that listing methods
(the CLI's ``methods``, a round's form in the web process) imports only that module: ``score_batch``
is imported on first use (:meth:`Method.load`), so ``import explainers`` and every list of methods
stay free of torch and transformers. :meth:`Method.check` finds the function's module without
running it, for a process that must refuse a broken method before a worker meets it.

A plugin method is refused (left out of :func:`available_methods`, listed by :func:`broken_plugins`
with the reason; :func:`get_method` raises :class:`MethodError` naming it and its distribution) when:
its entry point fails to import or names something other than a :class:`Method`; the Method's name
differs from the entry point's; the name is not JSON-safe (lowercase letters, digits and single
hyphens, starting with a letter, at most 64 characters); it shadows a built-in or a reserved name
(``RESERVED_NAMES``); two distributions register it (both are refused: which one a worker would run
is unknowable); its title is empty, too long, or another method's title (results are labelled by
title); ``score_batch`` is not "module:function"; or ``words`` / ``options`` are not ones the
pipeline knows. A plugin method is never in a new round's defaults (``default`` is set False: the
default is the paper's seven), and its ``source`` is its distribution's name and version.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cache

from .errors import MethodError, UnknownMethodError

ENTRY_POINT_GROUP = "explainers.methods"
BUILT_IN = "built-in"
# Names no method may take: "control" marks a round's control items (bti_eval.judging.controls).
RESERVED_NAMES = frozenset({"control"})
NAME_PATTERN = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*\Z")
MAX_NAME_LENGTH = 64  # Explanation.method's column
MAX_TITLE_LENGTH = 100
WORD_SCORERS = ("encoder", "tfidf-w2v")
PIPELINE_OPTIONS = frozenset({"steps", "corpus", "word2vec"})
_FUNCTION_PATH = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*:[A-Za-z_]\w*\Z")


@dataclass(frozen=True)
class Method:
    """One explanation method.

    ``score_batch`` ("module:function") does the model work for one batch of pairs:
    ``score_batch(encoder, batch, **options) -> explainers.saliency.BatchScores``, where ``batch``
    (:class:`explainers.encoder.Batch`) holds k pairs as rows 2j (paragraph a) and 2j+1 (paragraph
    b), padded to one length, and ``options`` always holds ``token_budget`` (plus ``steps`` when
    the method lists it), so the function takes ``**kwargs``. It returns, as float numpy arrays,
    ``similarity`` (k,), and for ``words="encoder"`` ``token_scores`` (2k, length) and ``hidden``
    (2k, length, hidden); the pipeline checks this for every batch (``explainers.contract``).
    ``words`` says how word pairs are scored: ``"encoder"`` (word vectors from the last layer,
    MatchWords + U of Eq. 5-6) or ``"tfidf-w2v"`` (Λ over TF-IDF and word2vec). ``options`` are
    the extra keyword options of ``explain_pairs`` it uses (``steps``, ``corpus``, ``word2vec``).
    ``title`` is the paper's name (or the plugin's), for researchers' pages only (never shown to
    judges). ``default``: in a new round's methods unless the researcher chooses (the paper's
    seven); ``source``: where the method comes from, ``"built-in"`` or, for a plugin's method, its
    distribution's name and version (set by the registry). ``pairs_per_chunk``: the most pairs one
    worker task of a round explains with this method (None: the platform's chunk size); a costly
    method gets small chunks, so that a chunk ends well within a task's time limit on a CPU worker.
    """

    name: str
    title: str
    score_batch: str
    words: str = "encoder"
    options: frozenset[str] = frozenset()
    default: bool = True
    source: str = BUILT_IN
    pairs_per_chunk: int | None = None

    @property
    def is_plugin(self) -> bool:
        return self.source != BUILT_IN

    def describe(self) -> str:
        """How error messages name the method: ``method 'x' (built-in)`` or ``(plugin DIST VERSION)``."""
        return f"method {self.name!r} ({BUILT_IN if not self.is_plugin else f'plugin {self.source}'})"

    def load(self) -> Callable:
        """The ``score_batch`` callable, imported on first use; :class:`MethodError` naming the
        method when it cannot be imported or is not callable."""
        module, _, attr = self.score_batch.partition(":")
        try:
            function = getattr(importlib.import_module(module), attr)
        except Exception as exc:  # whatever a plugin's module raises on import
            raise MethodError(
                f"{self.describe()} cannot import its function {self.score_batch!r}: {type(exc).__name__}: {exc}"
            ) from exc
        if not callable(function):
            raise MethodError(f"{self.describe()}: {self.score_batch!r} is not a function")
        return function

    def check(self) -> None:
        """Raise :class:`MethodError` unless ``score_batch``'s module can be found here. The module
        is not run (so torch is not imported); only its parent packages are."""
        module = self.score_batch.partition(":")[0]
        missing = f"{self.describe()}: module {module!r} of {self.score_batch!r} is not installed here"
        try:
            found = importlib.util.find_spec(module)
        except ModuleNotFoundError as exc:  # a parent package is missing
            raise MethodError(f"{missing} ({exc})") from exc
        except Exception as exc:  # a parent package that fails to import
            raise MethodError(f"{self.describe()} cannot find module {module!r}: {type(exc).__name__}: {exc}") from exc
        if found is None:
            raise MethodError(missing)


METHODS: dict[str, Method] = {
    m.name: m
    for m in (
        Method("bti", "BTI", "explainers.saliency:bti"),
        Method("bti-last-layer", "BTI (last layer)", "explainers.saliency:bti_last_layer"),
        Method("bti-activations", "BTI (activations only)", "explainers.saliency:bti_activations"),
        Method("bti-gradients", "BTI (gradients only)", "explainers.saliency:bti_gradients"),
        Method("vanilla-gradients", "Vanilla Gradients", "explainers.saliency:vanilla_gradients"),
        Method(
            "integrated-gradients",
            "Integrated Gradients",
            "explainers.integrated_gradients:integrated_gradients",
            options=frozenset({"steps"}),
        ),
        Method(
            "tfidf-w2v",
            "TF-IDF-W2V",
            "explainers.saliency:forward_only",
            words="tfidf-w2v",
            options=frozenset({"corpus", "word2vec"}),
        ),
        Method(
            "integrated-jacobians",
            "Integrated Jacobians",
            "explainers.integrated_jacobians:integrated_jacobians",
            options=frozenset({"steps"}),
            default=False,
            pairs_per_chunk=4,  # minutes per pair on a CPU (one JVP per token and path step)
        ),
    )
}


@dataclass(frozen=True)
class BrokenPlugin:
    """A plugin method that was refused: its entry point's name, its distribution(s), and why."""

    name: str
    source: str
    error: str

    def describe(self) -> str:
        return f"method {self.name!r} (plugin {self.source})"


def _distribution(entry_point: importlib.metadata.EntryPoint) -> str:
    dist = entry_point.dist
    return f"{dist.name} {dist.version}" if dist is not None else "an unknown distribution"


def _plugin_method(entry_point: importlib.metadata.EntryPoint, *, source: str, titles: dict[str, str]) -> Method:
    """The entry point's Method with ``source`` set and ``default`` off; MethodError saying what is wrong."""
    try:
        method = entry_point.load()
    except Exception as exc:  # whatever the plugin's module raises on import
        raise MethodError(f"cannot import {entry_point.value!r}: {type(exc).__name__}: {exc}") from exc
    if not isinstance(method, Method):
        raise MethodError(
            f"entry point {entry_point.value!r} names a {type(method).__name__}, not an explainers.registry.Method"
        )
    name, title = method.name, method.title
    if name != entry_point.name:
        raise MethodError(f"the entry point is called {entry_point.name!r} but its Method is named {name!r}")
    if not isinstance(name, str) or len(name) > MAX_NAME_LENGTH or not NAME_PATTERN.match(name):
        raise MethodError(
            "a method name must be lowercase letters, digits and single hyphens, starting with a letter, "
            f"at most {MAX_NAME_LENGTH} characters (like 'integrated-gradients')"
        )
    if name in METHODS:
        raise MethodError(f"it shadows the built-in method {name!r}; give the plugin's method another name")
    if name in RESERVED_NAMES:
        raise MethodError(f"{name!r} is reserved (a round's control items); give the plugin's method another name")
    if not isinstance(title, str) or not title.strip() or len(title) > MAX_TITLE_LENGTH or "\n" in title:
        raise MethodError(f"its title must be one line of text, 1 to {MAX_TITLE_LENGTH} characters")
    if title.strip().casefold() in titles:
        raise MethodError(f"its title {title!r} is already the title of method {titles[title.strip().casefold()]!r}")
    if not isinstance(method.score_batch, str) or not _FUNCTION_PATH.match(method.score_batch):
        raise MethodError(f"score_batch must be 'module:function', got {method.score_batch!r}")
    if method.words not in WORD_SCORERS:
        raise MethodError(f"words must be one of {', '.join(WORD_SCORERS)}, got {method.words!r}")
    if not isinstance(method.options, (set, frozenset, list, tuple)):
        raise MethodError(f"options must be a set of option names, got {type(method.options).__name__}")
    unknown = sorted(map(repr, set(method.options) - PIPELINE_OPTIONS))
    if unknown:
        raise MethodError(f"unknown option(s) {', '.join(unknown)}; known: {', '.join(sorted(PIPELINE_OPTIONS))}")
    chunk = method.pairs_per_chunk
    if chunk is not None and (isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1):
        raise MethodError(f"pairs_per_chunk must be None or an integer >= 1, got {chunk!r}")
    return replace(method, title=title.strip(), options=frozenset(method.options), default=False, source=source)


@cache
def _plugins() -> tuple[dict[str, Method], dict[str, BrokenPlugin]]:
    """(usable plugin methods, refused ones) by name, sorted by name; read once per process."""
    usable: dict[str, Method] = {}
    broken: dict[str, BrokenPlugin] = {}
    entry_points: dict[str, list[importlib.metadata.EntryPoint]] = {}
    try:
        for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
            entry_points.setdefault(entry_point.name, []).append(entry_point)
    except Exception as exc:  # an installed distribution's unreadable metadata: the built-ins still work
        error = f"the installed packages' entry points could not be read: {type(exc).__name__}: {exc}"
        broken[ENTRY_POINT_GROUP] = BrokenPlugin(ENTRY_POINT_GROUP, "unknown distribution", error)
    titles = {method.title.casefold(): method.name for method in METHODS.values()}
    for name in sorted(entry_points):
        sources = sorted({_distribution(entry_point) for entry_point in entry_points[name]})
        if len(sources) > 1:
            error = f"registered by more than one distribution ({'; '.join(sources)}); uninstall all but one"
            broken[name] = BrokenPlugin(name, " and ".join(sources), error)
            continue
        try:
            method = _plugin_method(entry_points[name][0], source=sources[0], titles=titles)
        except MethodError as exc:
            broken[name] = BrokenPlugin(name, sources[0], str(exc))
            continue
        except Exception as exc:  # a Method holding values of odd types
            broken[name] = BrokenPlugin(name, sources[0], f"invalid Method: {type(exc).__name__}: {exc}")
            continue
        usable[name] = method
        titles[method.title.casefold()] = name
    return usable, broken


def refresh() -> None:
    """Read the plugins' entry points again (they are read once per process): after installing or
    removing a plugin in a running process."""
    _plugins.cache_clear()


def all_methods() -> dict[str, Method]:
    """Every usable method by name: the built-ins (Table 1 order), then the plugins' (by name)."""
    return METHODS | _plugins()[0]


def broken_plugins() -> list[BrokenPlugin]:
    """The plugin methods that were refused, by name, each with the reason."""
    return list(_plugins()[1].values())


def available_methods() -> list[str]:
    """All usable method names: the built-ins in the paper's Table 1 order of introduction (BTI
    first), then the plugins' methods by name."""
    return list(all_methods())


def default_methods() -> list[str]:
    """The methods a new round explains unless told otherwise: the paper's seven (Table 1), in
    registry order; methods beyond the paper (and every plugin's) are offered but not chosen by default."""
    return [name for name, method in all_methods().items() if method.default]


def method_title(name: str) -> str:
    """The human name of a method (the paper's, or the plugin's title), for researchers' pages;
    ``name`` itself for one the registry does not know (a round's control items, an imported
    explanation, a plugin no longer installed)."""
    method = all_methods().get(name)
    return method.title if method is not None else name


def get_method(name: str) -> Method:
    """The :class:`Method` called ``name``. Raises :class:`MethodError` for a refused plugin method
    (naming its distribution and why), else :class:`UnknownMethodError` listing valid names."""
    methods = all_methods()
    if isinstance(name, str) and name in methods:
        return methods[name]
    broken = _plugins()[1].get(name) if isinstance(name, str) else None
    if broken is not None:
        raise MethodError(f"{broken.describe()} cannot be used: {broken.error}")
    raise UnknownMethodError(f"unknown method {name!r}; valid methods: {', '.join(available_methods())}")
