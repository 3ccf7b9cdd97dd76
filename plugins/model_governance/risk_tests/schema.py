"""The risk test schema: which column is the label, the score, the features and the protected attributes.

JSON form (a file or a dict)::

    {"problem_type": "classification",        # or "regression"
     "label": "default", "score": "prob_default",
     "positive_class": 1,                      # classification only: the label value of the positive class
     "decision_threshold": 0.5,                # optional; a row is predicted positive when score >= it
     "features": {"numeric": ["income", "age"], "categorical": ["region"]},
     "protected_attributes": ["gender"],
     "reference_groups": {"gender": "male"},   # optional; default: each attribute's largest group
     "min_group_size": 30,                     # optional; smaller groups are reported as too small to judge
     "bins": 10}                               # optional; quantile bins of PSI/CSI and the charts

Every column has exactly one role: a column named twice (say as a feature and as a protected attribute)
is refused, so no metric silently mixes roles.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from model_governance.exceptions import RiskTestInputError

ProblemType = Literal["classification", "regression"]

_KNOWN_KEYS = {
    "problem_type",
    "label",
    "score",
    "positive_class",
    "decision_threshold",
    "features",
    "protected_attributes",
    "reference_groups",
    "min_group_size",
    "bins",
}

Scalar = str | int | float | bool


def category_text(value: Scalar) -> str:
    """The text a category value has once read: Arrow writes booleans as ``true``/``false``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


@dataclass(frozen=True)
class RiskTestSchema:
    problem_type: ProblemType
    label: str
    score: str
    numeric_features: tuple[str, ...] = ()
    categorical_features: tuple[str, ...] = ()
    protected_attributes: tuple[str, ...] = ()
    reference_groups: Mapping[str, Scalar] = field(default_factory=dict)
    positive_class: Scalar | None = None
    decision_threshold: float = 0.5
    min_group_size: int = 30
    bins: int = 10

    @property
    def features(self) -> tuple[str, ...]:
        return self.numeric_features + self.categorical_features

    def columns(self) -> list[str]:
        """Every column the tests read, each once, in schema order."""
        return [self.label, self.score, *self.features, *self.protected_attributes]

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "problem_type": self.problem_type,
            "label": self.label,
            "score": self.score,
            "features": {
                "numeric": list(self.numeric_features),
                "categorical": list(self.categorical_features),
            },
            "protected_attributes": list(self.protected_attributes),
            "reference_groups": dict(self.reference_groups),
            "decision_threshold": self.decision_threshold,
            "min_group_size": self.min_group_size,
            "bins": self.bins,
        }
        if self.positive_class is not None:
            data["positive_class"] = self.positive_class
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "schema") -> RiskTestSchema:
        """Validate a schema document; every error names ``source`` and the key at fault."""
        if not isinstance(data, Mapping):
            raise RiskTestInputError(f"{source} must be a JSON object, got {type(data).__name__}")
        unknown = sorted(set(data) - _KNOWN_KEYS)
        if unknown:
            raise RiskTestInputError(
                f"{source} has unknown key(s) {unknown}; allowed keys are {sorted(_KNOWN_KEYS)}"
            )
        problem_type = data.get("problem_type")
        if problem_type not in ("classification", "regression"):
            raise RiskTestInputError(
                f"{source} problem_type is {problem_type!r}; use 'classification' or 'regression'"
            )
        label = _column_name(data, "label", source)
        score = _column_name(data, "score", source)
        features = data.get("features")
        if not isinstance(features, Mapping) or set(features) - {"numeric", "categorical"}:
            raise RiskTestInputError(
                f"{source} features must be an object {{'numeric': [...], 'categorical': [...]}}, "
                f"got {features!r}"
            )
        numeric = _name_list(features.get("numeric", []), f"{source} features.numeric")
        categorical = _name_list(features.get("categorical", []), f"{source} features.categorical")
        if not numeric and not categorical:
            raise RiskTestInputError(f"{source} lists no features; name at least one numeric or categorical")
        protected = _name_list(data.get("protected_attributes", []), f"{source} protected_attributes")

        roles: dict[str, str] = {}
        for role, names in (
            ("label", [label]),
            ("score", [score]),
            ("features.numeric", numeric),
            ("features.categorical", categorical),
            ("protected_attributes", protected),
        ):
            for name in names:
                if name in roles:
                    raise RiskTestInputError(
                        f"{source} names column {name!r} twice (as {roles[name]} and as {role}); "
                        "give each column one role"
                    )
                roles[name] = role

        positive_class = data.get("positive_class")
        if problem_type == "classification":
            if positive_class is None or not isinstance(positive_class, str | int | float | bool):
                raise RiskTestInputError(
                    f"{source} positive_class is {positive_class!r}; a classification schema must give the "
                    "label value of the positive class (a string, number or boolean)"
                )
        elif positive_class is not None:
            raise RiskTestInputError(
                f"{source} gives positive_class for a regression model; remove it or set "
                "problem_type to 'classification'"
            )

        reference_groups = data.get("reference_groups", {})
        if not isinstance(reference_groups, Mapping):
            raise RiskTestInputError(f"{source} reference_groups must be an object attribute -> group value")
        for attribute, group in reference_groups.items():
            if attribute not in protected:
                raise RiskTestInputError(
                    f"{source} reference_groups names {attribute!r}, which is not a protected attribute "
                    f"{list(protected)}"
                )
            if not isinstance(group, str | int | float | bool):
                raise RiskTestInputError(
                    f"{source} reference_groups[{attribute!r}] is {group!r}; give the group's value"
                )

        threshold = data.get("decision_threshold", 0.5)
        if (
            isinstance(threshold, bool)
            or not isinstance(threshold, int | float)
            or not math.isfinite(threshold)
        ):
            raise RiskTestInputError(f"{source} decision_threshold is {threshold!r}; give a finite number")
        min_group_size = data.get("min_group_size", 30)
        if isinstance(min_group_size, bool) or not isinstance(min_group_size, int) or min_group_size < 1:
            raise RiskTestInputError(f"{source} min_group_size is {min_group_size!r}; give an integer >= 1")
        bins = data.get("bins", 10)
        if isinstance(bins, bool) or not isinstance(bins, int) or not 2 <= bins <= 100:
            raise RiskTestInputError(f"{source} bins is {bins!r}; give an integer from 2 to 100")

        return cls(
            problem_type=problem_type,
            label=label,
            score=score,
            numeric_features=tuple(numeric),
            categorical_features=tuple(categorical),
            protected_attributes=tuple(protected),
            reference_groups=dict(reference_groups),
            positive_class=positive_class,
            decision_threshold=float(threshold),
            min_group_size=min_group_size,
            bins=bins,
        )

    @classmethod
    def load(cls, source: RiskTestSchema | Mapping[str, Any] | str | Path) -> RiskTestSchema:
        """A schema from itself, a dict, or a JSON file path."""
        if isinstance(source, RiskTestSchema):
            return source
        if isinstance(source, Mapping):
            return cls.from_dict(source)
        path = Path(source)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise RiskTestInputError(
                f"schema file {str(path)!r} does not exist; pass the schema's JSON path"
            ) from None
        except OSError as exc:
            raise RiskTestInputError(f"schema file {str(path)!r} cannot be read: {exc}") from exc
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise RiskTestInputError(
                f"schema file {str(path)!r} is not valid JSON "
                f"(line {exc.lineno}, column {exc.colno}: {exc.msg})"
            ) from exc
        return cls.from_dict(data, source=f"schema file {str(path)!r}")


def _column_name(data: Mapping[str, Any], key: str, source: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise RiskTestInputError(f"{source} {key} is {value!r}; give the column name as a non-empty string")
    return value


def _name_list(value: object, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise RiskTestInputError(f"{where} must be a list of column names, got {value!r}")
    return list(value)
