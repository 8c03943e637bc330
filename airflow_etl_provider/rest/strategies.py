"""A name-to-class registry for REST strategies (paginators, auth schemes) that declare their settings.

Each strategy class carries a `name` and `settings`: the JSON Schema fragments of the
connection settings it reads. The connection form is one flat object, so settings are
shared by name: two strategies that read `page_size` must declare it identically, and the
registry refuses one that does not. Built-ins register through the same path as plugins.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, Generic, TypeVar

#: JSON Schema of one setting, e.g. `{"type": "string", "default": "next", "title": "Next URL path"}`.
SettingSpec = dict[str, Any]


S = TypeVar("S", bound=type[Any])


class StrategyRegistry(Generic[S]):
    """Strategy classes of one kind by name; `classes` is the live map (registration order)."""

    def __init__(
        self,
        kind: str,
        base: type,
        *,
        accepts: Callable[[type], set[str]] | None = None,
        known_label: str = "known",
    ) -> None:
        self.kind = kind
        self.known_label = known_label
        self.base = base
        self.classes: dict[str, S] = {}
        self._accepts = accepts

    def register(self, cls: S) -> S:
        """Add `cls` (usable as a class decorator); the same `module.Class` again replaces itself.

        Refused, with the reason: a class that is not a `base` subclass, has no name, takes a
        name another class holds, declares a setting its constructor does not accept, or
        declares a setting another strategy declares differently.
        """
        if not (isinstance(cls, type) and issubclass(cls, self.base)):
            raise TypeError(f"a {self.kind} must subclass {self.base.__name__}, not {cls!r}")
        name = getattr(cls, "name", None)
        if not isinstance(name, str) or not name:
            raise TypeError(f"{self.kind} class {_qualname(cls)} needs a `name` (the string connections use)")
        holder = self.classes.get(name)
        if holder is not None and _qualname(holder) == _qualname(cls):
            self.classes[name] = cls  # the same class imported again (Airflow may load plugins twice)
            return cls
        if holder is not None:
            raise ValueError(f"{self.kind} {name!r} is already registered by {_qualname(holder)}; pick another name")
        declared = _settings(cls)
        if self._accepts is not None:
            unaccepted = sorted(set(declared) - self._accepts(cls))
            if unaccepted:
                raise TypeError(
                    f"{self.kind} {name!r} ({_qualname(cls)}) declares setting(s) {', '.join(unaccepted)} "
                    "that its constructor does not accept"
                )
        for setting, spec in declared.items():
            for other_name, other in self.classes.items():
                theirs = _settings(other).get(setting)
                if theirs is not None and theirs != spec:
                    raise ValueError(
                        f"{self.kind} {name!r} declares setting {setting!r} as {spec!r}, but {self.kind} "
                        f"{other_name!r} already declares it as {theirs!r}; settings share one "
                        "connection form, so reuse the same declaration or choose another setting name"
                    )
        self.classes[name] = cls
        return cls

    def unregister(self, name: str) -> None:
        """Remove `name` (a plugin's tests undo their registration with it)."""
        self.classes.pop(name, None)

    def get(self, name: str) -> S:
        try:
            return self.classes[name]
        except KeyError:
            known = ", ".join(sorted(self.classes))
            raise ValueError(f"unknown {self.kind} {name!r}; {self.known_label}: {known}") from None

    def settings_schema(self) -> dict[str, SettingSpec]:
        """Every registered strategy's settings, each once, in each strategy's own order.

        A setting not seen yet goes just before the next already-placed setting of the same
        strategy (else at the end), so a shared setting keeps the fields of its users together.
        """
        order: list[str] = []
        specs: dict[str, SettingSpec] = {}
        for cls in self.classes.values():
            declared = _settings(cls)
            names = list(declared)
            for index, setting in enumerate(names):
                if setting in specs:
                    continue
                following = next((n for n in names[index + 1 :] if n in specs), None)
                order.insert(order.index(following) if following else len(order), setting)
                specs[setting] = dict(declared[setting])
        return {setting: specs[setting] for setting in order}


def constructor_parameters(cls: type) -> set[str]:
    """The keyword names a class's constructor accepts."""
    return set(inspect.signature(cls).parameters)


def _settings(cls: type) -> dict[str, SettingSpec]:
    settings = getattr(cls, "settings", {})
    if not isinstance(settings, dict):
        raise TypeError(f"{_qualname(cls)}.settings must map setting names to JSON Schema, not {settings!r}")
    return settings


def _qualname(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"
