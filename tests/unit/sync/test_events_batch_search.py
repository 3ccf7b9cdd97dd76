"""The events path's bulk read (``SageMakerRegistryHook.search_packages``): Search's documented limits kept
(a filter Value at most 1,024 characters, at most 20 elements an expression, at most 100 results a page),
every ARN asked for once, and no call spent on a part-filled page between two expressions."""

from __future__ import annotations

import math
from typing import Any

import pytest
from botocore.exceptions import ClientError

from model_governance.exceptions import RegistryError
from model_governance.hooks.sagemaker_registry import SageMakerRegistryHook, _arn_expressions


def _arns(count: int, group: str = "churn", start: int = 1) -> list[str]:
    return [
        f"arn:aws:sagemaker:us-east-1:123456789012:model-package/{group}/{version}"
        for version in range(start, start + count)
    ]


def _asked(expression: list[dict[str, str]]) -> list[str]:
    return [arn for flt in expression for arn in flt["Value"].split(",")]


@pytest.mark.parametrize("count", [1, 99, 100, 101, 199, 200, 260, 261, 300, 1000, 2345])
@pytest.mark.parametrize("group", ["churn", "g" * 63])
def test_expressions_keep_the_limits_and_fill_whole_pages(count: int, group: str) -> None:
    arns = _arns(count, group)
    expressions = list(_arn_expressions(arns))
    assert [arn for expression in expressions for arn in _asked(expression)] == arns, "each once, in order"
    for expression in expressions:
        assert 1 <= len(expression) <= 20
        for flt in expression:
            assert flt["Name"] == "ModelPackageArn" and flt["Operator"] == "In"
            assert len(flt["Value"]) <= 1024
    for expression in expressions[:-1]:
        assert len(_asked(expression)) % 100 == 0, "only the last expression may end on a part-filled page"
    pages = sum(math.ceil(len(_asked(expression)) / 100) for expression in expressions)
    assert pages == math.ceil(count / 100)


def test_expressions_are_as_full_as_the_limits_allow() -> None:
    # 74-character ARNs (as the benchmark's): 13 a filter, 260 an expression; cut to 200 when more
    # follow, all 260 when not
    arns = _arns(260, "bench-group-001", start=100)
    assert {len(arn) for arn in arns} == {74}
    assert [len(_asked(e)) for e in _arn_expressions(arns)] == [260]
    more = _arns(300, "bench-group-001", start=100)
    assert [len(_asked(e)) for e in _arn_expressions(more)] == [200, 100]


class _FakeSearch:
    """A client whose Search pages a fixed answer (or fails), recording each call's parameters."""

    def __init__(self, known: set[str], *, page_size: int = 100, error: str | None = None) -> None:
        self.known, self.page_size, self.error = known, page_size, error
        self.calls: list[dict[str, Any]] = []

    def search(self, **params: Any) -> dict[str, Any]:
        self.calls.append(params)
        if self.error:
            raise ClientError({"Error": {"Code": self.error, "Message": "no"}}, "Search")
        asked = [arn for flt in params["SearchExpression"]["Filters"] for arn in flt["Value"].split(",")]
        found = [arn for arn in asked if arn in self.known]
        offset = int(params.get("NextToken") or 0)
        out: dict[str, Any] = {
            "Results": [{"ModelPackage": {"ModelPackageArn": a}} for a in found[offset:][: self.page_size]]
        }
        if offset + self.page_size < len(found):
            out["NextToken"] = str(offset + self.page_size)
        return out


def _hook(client: Any, monkeypatch: pytest.MonkeyPatch) -> SageMakerRegistryHook:
    hook = SageMakerRegistryHook(aws_conn_id="aws_unit", region_name="us-east-1")
    monkeypatch.setattr(hook, "get_conn", lambda: client)
    return hook


def test_search_packages_pages_by_next_token(monkeypatch: pytest.MonkeyPatch) -> None:
    arns = _arns(300, "bench-group-001", start=100)
    client = _FakeSearch(set(arns[:-5]))  # five of them are gone
    hook = _hook(client, monkeypatch)
    found = [p["ModelPackageArn"] for p in hook.search_packages([*arns, *arns[:10]])]
    assert sorted(found) == sorted(arns[:-5]) and len(found) == len(set(found))
    assert len(client.calls) == 3, "200 ARNs, then 100: three pages"
    assert [c.get("NextToken") for c in client.calls] == [None, "100", None]
    for call in client.calls:
        assert call["Resource"] == "ModelPackage" and call["MaxResults"] == 100
        assert call["SearchExpression"]["Operator"] == "Or"
    assert list(hook.search_packages([])) == [] and len(client.calls) == 3, "no ARNs: no call"


def test_search_packages_failure_names_search(monkeypatch: pytest.MonkeyPatch) -> None:
    hook = _hook(_FakeSearch(set(), error="ValidationException"), monkeypatch)
    with pytest.raises(RegistryError, match="searching model packages failed"):
        list(hook.search_packages(_arns(3)))


def test_search_packages_refuses_a_repeated_next_token(monkeypatch: pytest.MonkeyPatch) -> None:
    class Stuck(_FakeSearch):
        def search(self, **params: Any) -> dict[str, Any]:
            self.calls.append(params)
            return {"Results": [], "NextToken": "same"}

    hook = _hook(Stuck(set()), monkeypatch)
    with pytest.raises(RegistryError, match="same NextToken"):
        list(hook.search_packages(_arns(3)))
