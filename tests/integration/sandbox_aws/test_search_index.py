"""The sandbox's Search index answers exactly as a full scan: random registries, writes and filter sets.

Runs on the registry object itself (the HTTP layer is the same either way and is covered by
test_search.py / test_contract.py); each query is asked twice, with the index and as a full scan, page by
page, and the pages must be identical.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any

import pytest

from sandbox.aws.errors import AwsError
from sandbox.aws.registry import Registry

STAGES = ["Development", "Staging", "Production", "Archived"]
STATUSES = ["InProgress", "Complete", "Approved", "Rejected"]


def _registry(rng: random.Random, packages: int, groups: int) -> tuple[Registry, list[str], list[str]]:
    registry = Registry("123456789012", "us-east-1")
    names = [f"Group-{g}" for g in range(groups)]
    for name in names:
        registry.create_model_package_group({"ModelPackageGroupName": name})
    arns = []
    for i in range(packages):
        params: dict[str, Any] = {"ModelPackageGroupName": rng.choice(names)}
        if rng.random() < 0.8:
            params["ModelLifeCycle"] = {"Stage": rng.choice(STAGES), "StageStatus": rng.choice(STATUSES)}
        if i % 7 == 0:
            params["ModelApprovalStatus"] = "Approved"
        arns.append(registry.create_model_package(params)["ModelPackageArn"])
    return registry, names, arns


def _writes(registry: Registry, rng: random.Random, arns: list[str], count: int) -> None:
    for _ in range(count):
        arn = rng.choice(arns)
        choice = rng.random()
        if choice < 0.6:
            registry.update_model_package(
                {
                    "ModelPackageArn": arn,
                    "ModelLifeCycle": {"Stage": rng.choice(STAGES), "StageStatus": rng.choice(STATUSES)},
                }
            )
        elif choice < 0.9:
            registry.update_model_package(
                {"ModelPackageArn": arn, "CustomerMetadataProperties": {"k": str(rng.random())}}
            )
        elif arn in arns[1:]:
            registry.delete_model_package({"ModelPackageName": arn})
            arns.remove(arn)


def _times(registry: Registry, arns: list[str]) -> list[float]:
    return sorted(registry.describe_model_package({"ModelPackageName": a})["LastModifiedTime"] for a in arns)


def _random_filter(
    rng: random.Random, names: list[str], arns: list[str], times: list[float]
) -> dict[str, Any]:
    kind = rng.randrange(8)
    if kind == 0:
        picked = [
            *rng.sample(arns, min(len(arns), rng.randint(1, 12))),
            "arn:aws:sagemaker:x:1:model-package/no/1",
        ]
        return {"Name": "ModelPackageArn", "Operator": "In", "Value": ",".join(picked)}
    if kind == 1:
        return {"Name": "ModelPackageArn", "Operator": "Equals", "Value": rng.choice(arns)}
    if kind == 2:
        return {
            "Name": "ModelPackageGroupName",
            "Operator": rng.choice(["Equals", "In"]),
            "Value": rng.choice(names),
        }
    if kind == 3:
        value = ",".join(rng.sample(STAGES, rng.randint(1, 3)))
        return {"Name": "ModelLifeCycle.Stage", "Operator": "In", "Value": value}
    if kind == 4:
        return {"Name": "ModelLifeCycle.Stage", "Operator": "Equals", "Value": rng.choice(STAGES)}
    if kind == 5:
        moment = rng.choice(times)
        value = rng.choice([str(moment), datetime.fromtimestamp(moment, UTC).isoformat()])
        operator = rng.choice(["GreaterThan", "GreaterThanOrEqualTo", "LessThan"])
        return {"Name": "LastModifiedTime", "Operator": operator, "Value": value}
    if kind == 6:
        return {"Name": "ModelApprovalStatus", "Operator": "Equals", "Value": "Approved"}
    return {
        "Name": "ModelLifeCycle.StageStatus",
        "Operator": rng.choice(["Equals", "NotEquals"]),
        "Value": "Complete",
    }


def _random_expression(
    rng: random.Random, names: list[str], arns: list[str], times: list[float], depth: int = 0
) -> dict[str, Any]:
    expression: dict[str, Any] = {
        "Filters": [_random_filter(rng, names, arns, times) for _ in range(rng.randint(1, 3))]
    }
    if rng.random() < 0.5:
        expression["Operator"] = rng.choice(["And", "Or"])
    if depth < 1 and rng.random() < 0.4:
        expression["SubExpressions"] = [
            _random_expression(rng, names, arns, times, depth + 1) for _ in range(rng.randint(1, 2))
        ]
    if rng.random() < 0.1:
        expression["NestedFilters"] = [
            {
                "NestedPropertyName": "ModelPackageStatusDetails.ValidationStatuses",
                "Filters": [
                    {
                        "Name": "ModelPackageStatusDetails.ValidationStatuses.Status",
                        "Operator": "Equals",
                        "Value": "x",
                    }
                ],
            }
        ]
    return expression


def _search(registry: Registry, request: dict[str, Any], indexed: bool) -> dict[str, Any]:
    """One Search call, with the index or as a full scan."""
    registry.search_index = indexed
    return registry.search(request)


def _all_pages(registry: Registry, params: dict[str, Any], indexed: bool) -> list[dict[str, Any]]:
    pages, token = [], None
    while True:
        page = _search(registry, {**params, **({"NextToken": token} if token else {})}, indexed)
        pages.append(page)
        token = page.get("NextToken")
        if not token:
            return pages


def _errors(registry: Registry, expression: dict[str, Any]) -> list[tuple[str, str]]:
    """The error of a Search that must fail, (code, message) with the index and then as a full scan."""
    errors = []
    for indexed in (True, False):
        with pytest.raises(AwsError) as caught:
            _search(registry, {"Resource": "ModelPackage", "SearchExpression": expression}, indexed)
        errors.append((caught.value.code, caught.value.message))
    return errors


@pytest.mark.parametrize("seed", range(6))
def test_indexed_search_equals_a_full_scan_on_random_filter_sets(seed: int) -> None:
    rng = random.Random(seed)
    registry, names, arns = _registry(rng, packages=rng.randint(50, 400), groups=rng.randint(1, 12))
    for _round in range(3):
        _writes(registry, rng, arns, rng.randint(0, 150))
        times = _times(registry, arns)
        for _ in range(40):
            params: dict[str, Any] = {
                "Resource": "ModelPackage",
                "SearchExpression": _random_expression(rng, names, arns, times),
                "MaxResults": rng.choice([7, 50, 100]),
            }
            if rng.random() < 0.7:
                params["SortBy"] = rng.choice(["LastModifiedTime", "CreationTime", "ModelPackageVersion"])
                params["SortOrder"] = rng.choice(["Ascending", "Descending"])
            assert _all_pages(registry, params, True) == _all_pages(registry, params, False), params


def test_malformed_filters_fail_alike_with_and_without_the_index() -> None:
    registry, _names, _arns = _registry(random.Random(1), packages=20, groups=2)
    for bad in (
        {"Name": "LastModifiedTime", "Operator": "GreaterThan", "Value": "yesterday"},
        {"Name": "ModelLifeCycle.Stage", "Operator": "Equals"},
    ):
        expression = {
            "Filters": [{"Name": "ModelPackageArn", "Operator": "Equals", "Value": "arn:none"}, bad],
        }
        errors = _errors(registry, expression)
        assert errors[0] == errors[1]


def test_a_narrow_search_tests_only_its_candidates() -> None:
    # The cost claim itself: an In filter on 5 ARNs among 3,000 packages builds 5 records, not 3,000.
    registry, _, arns = _registry(random.Random(2), packages=3_000, groups=30)
    chosen = arns[100:105]
    expression = {"Filters": [{"Name": "ModelPackageArn", "Operator": "In", "Value": ",".join(chosen)}]}
    assert registry._index.candidates(expression) == set(chosen)
    recent = registry._index.candidates(
        {"Filters": [{"Name": "LastModifiedTime", "Operator": "GreaterThanOrEqualTo", "Value": "0"}]}
    )
    assert recent == set(arns)
    found = registry.search({"Resource": "ModelPackage", "SearchExpression": expression, "MaxResults": 100})
    assert sorted(r["ModelPackage"]["ModelPackageArn"] for r in found["Results"]) == sorted(chosen)


def _lookup(rng: random.Random, name: str, pool: list[str]) -> dict[str, Any]:
    if rng.random() < 0.3:
        return {"Name": name, "Operator": "Equals", "Value": rng.choice(pool)}
    picked = rng.sample(pool, min(len(pool), rng.randint(1, 12)))
    return {
        "Name": name,
        "Operator": "In",
        "Value": " , ".join(picked) if rng.random() < 0.2 else ",".join(picked),
    }


@pytest.mark.parametrize("seed", range(4))
def test_or_of_lookups_on_one_property_equals_a_full_scan(seed: int) -> None:
    # The bulk read's shape (hooks/sagemaker_registry.py search_packages: up to 20 In filters of ARNs,
    # Or-ed), which the index answers with one set of all their values: the same pages as a full scan,
    # also for a number property (ModelPackageVersion, off the text fast path) and an unknown property.
    rng = random.Random(100 + seed)
    registry, names, arns = _registry(rng, packages=rng.randint(50, 300), groups=rng.randint(1, 8))
    _writes(registry, rng, arns, rng.randint(0, 80))
    pools = {
        "ModelPackageArn": [*arns, "arn:aws:sagemaker:x:1:model-package/no/1"],
        "ModelPackageGroupName": [*names, "Nobody"],
        "ModelLifeCycle.Stage": STAGES,
        "ModelPackageVersion": [str(v) for v in range(1, 40)],
        "NoSuchProperty": ["a", "b"],
    }
    for _ in range(30):
        name = rng.choice(list(pools))
        expression: dict[str, Any] = {
            "Filters": [_lookup(rng, name, pools[name]) for _ in range(rng.randint(2, 20))],
            "Operator": "Or",
        }
        if rng.random() < 0.3:
            expression["SubExpressions"] = [_random_expression(rng, names, arns, _times(registry, arns))]
        params = {
            "Resource": "ModelPackage",
            "SearchExpression": expression,
            "MaxResults": rng.choice([7, 100]),
        }
        assert _all_pages(registry, params, True) == _all_pages(registry, params, False), params


def test_a_number_that_does_not_parse_fails_alike_in_an_or_of_lookups() -> None:
    registry, _names, _arns = _registry(random.Random(3), packages=20, groups=2)
    expression = {
        "Filters": [
            {"Name": "ModelPackageVersion", "Operator": "In", "Value": "1,2"},
            {"Name": "ModelPackageVersion", "Operator": "Equals", "Value": "three"},
        ],
        "Operator": "Or",
    }
    errors = _errors(registry, expression)
    assert errors[0] == errors[1]


@pytest.mark.parametrize("seed", range(4))
def test_pages_read_between_writes_equal_a_full_scan_of_that_moment(seed: int) -> None:
    # The index keeps a query's sorted matches for its next page until a package is written (paging all
    # 10,000 packages re-sorted them per page): each page must still be the full scan's page at that
    # moment, whatever was created, updated, tagged or deleted between two pages.
    rng = random.Random(200 + seed)
    registry, names, arns = _registry(rng, packages=rng.randint(100, 300), groups=rng.randint(1, 6))
    everything = {"Filters": [{"Name": "ModelPackageGroupName", "Operator": "Exists"}]}
    for _ in range(8):
        params: dict[str, Any] = {
            "Resource": "ModelPackage",
            "SearchExpression": rng.choice(
                [everything, _random_expression(rng, names, arns, _times(registry, arns))]
            ),
            "SortBy": rng.choice(["LastModifiedTime", "CreationTime"]),
            "SortOrder": rng.choice(["Ascending", "Descending"]),
        }
        token = None
        while True:
            request = {**params, "MaxResults": rng.choice([7, 25]), **({"NextToken": token} if token else {})}
            indexed = _search(registry, request, True)
            assert indexed == _search(registry, request, False), request
            token = indexed.get("NextToken")
            if not token:
                break
            write = rng.random()
            if write < 0.3:
                _writes(registry, rng, arns, rng.randint(1, 3))
            elif write < 0.4:
                arns.append(
                    registry.create_model_package({"ModelPackageGroupName": rng.choice(names)})[
                        "ModelPackageArn"
                    ]
                )
            elif write < 0.5:
                registry.add_tags(
                    {"ResourceArn": rng.choice(arns), "Tags": [{"Key": "k", "Value": str(rng.random())}]}
                )
