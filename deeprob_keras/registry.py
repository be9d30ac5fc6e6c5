"""`Registry`: the names a recipe may choose for one kind (schedule, optimizer, ...), each mapped to its builder.

A registry lives with its builder and is the one list of that kind's names: the
recipe schema reads its field's `choices` from it (`deeprob_keras.recipe.choices`).
A builder in an assembly package (models, training), which the recipe may not
import, is registered against the names the recipe declares (`declared=`): the
two lists are compared when the registry is created, i.e. when its module is
imported, so a builder without a recipe name or a recipe name without a
builder fails at once.

This module is a leaf: it imports nothing from the package.
"""

import difflib


def unknown_choice_message(where, value, choices):
    """The one-line message for a value outside `choices`, with the closest valid name.

    Example:

    >>> unknown_choice_message("schedule.name", "cosin", ("constant", "cosine"))
    "schedule.name: expected one of ['constant', 'cosine']. Received: 'cosin'. Did you mean 'cosine'?"
    """
    hint = difflib.get_close_matches(str(value), [str(c) for c in choices], n=1)
    extra = f" Did you mean {hint[0]!r}?" if hint else ""
    return f"{where}: expected one of {list(choices)}. Received: {value!r}.{extra}"


class Registry:
    """An ordered, read-only mapping name -> builder for the recipe key `key`.

    Args:
        key: the dotted recipe key whose value names an entry (e.g. "schedule.name"),
            used in error messages.
        entries: a dict name -> builder (any object: a function, a class, None).
        declared: optional names the recipe declares for `key`; the entries'
            names must be exactly these (order aside), else `ValueError`.

    Example:

    >>> OPTIMIZERS = Registry("optimizer.name", {"sgd": make_sgd, "adam": make_adam},
    ...                       declared=("sgd", "adam"))
    >>> OPTIMIZERS.names
    ('sgd', 'adam')
    >>> OPTIMIZERS["adan"]
    ValueError: optimizer.name: expected one of ['sgd', 'adam']. Received: 'adan'. Did you mean 'adam'?
    """

    def __init__(self, key, entries, declared=None):
        if not isinstance(key, str) or not key:
            raise ValueError(f"Expected a non-empty string for `key`. Received: key={key!r}")
        if not isinstance(entries, dict) or not entries:
            raise ValueError(f"Expected a non-empty dict for `entries`. Received: entries={entries!r}")
        self.key = key
        self._entries = dict(entries)
        if declared is not None:
            missing = [n for n in declared if n not in self._entries]
            extra = [n for n in self._entries if n not in declared]
            if missing or extra:
                raise ValueError(
                    f"{key}: the registry and the recipe's declared names differ "
                    f"(no builder for {missing}, not declared by the recipe: {extra}); "
                    f"update both deeprob_keras/recipe/choices.py and the registry")

    @property
    def names(self):
        """The registered names, in registration order (a tuple)."""
        return tuple(self._entries)

    def check(self, name):
        """Returns `name` when registered; else raises the one-line `ValueError` with "Did you mean"."""
        self[name]
        return name

    def __getitem__(self, name):
        if name not in self._entries:
            raise ValueError(unknown_choice_message(self.key, name, self.names))
        return self._entries[name]

    def __contains__(self, name):
        return name in self._entries

    def __iter__(self):
        return iter(self._entries)

    def __len__(self):
        return len(self._entries)

    def __repr__(self):
        return f"Registry({self.key!r}, names={self.names})"
