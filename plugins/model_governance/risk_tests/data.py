"""Reading the baseline and comparator tables: Parquet or CSV, a local path or ``s3://``, needed columns only.

S3 objects are fetched with boto3, which honours ``AWS_ENDPOINT_URL`` (and ``AWS_ENDPOINT_URL_S3``) by
itself, so the local AWS sandbox works unchanged. An object is streamed to a temporary file first, so
only the columns the tests need are ever decoded into memory.

Column types are checked on read: numeric features, the score and a regression label must be numbers;
categorical features and protected attributes must be strings, integers or booleans (read as dictionary
arrays so a million repeated strings cost one copy each). CSV columns are parsed straight into those
types, so a stray ``"n/a"`` in a numeric column is an error naming the column, not a silently text column.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import pyarrow as pa
import pyarrow.parquet as pq

from model_governance.exceptions import ConfigurationError, RegistryError, RiskTestInputError
from model_governance.risk_tests.schema import RiskTestSchema

PARQUET_SUFFIXES = (".parquet", ".pq", ".parq")
CSV_SUFFIXES = (".csv", ".csv.gz", ".csv.bz2", ".csv.zst", ".txt")
_DICT_STRING = pa.dictionary(pa.int32(), pa.string())


@dataclass(frozen=True)
class LoadedTable:
    """One input table: where it came from, which role it plays, and the needed columns."""

    role: str  # "baseline" or "comparator"
    source: str
    table: pa.Table

    @property
    def num_rows(self) -> int:
        return int(self.table.num_rows)

    def where(self, column: str) -> str:
        return f"column {column!r} of the {self.role} table {self.source!r}"


def load_table(source: str | Path | pa.Table, role: str, schema: RiskTestSchema) -> LoadedTable:
    """Read the columns ``schema`` needs from ``source`` and check their types; refuse empty tables."""
    columns = schema.columns()
    if isinstance(source, pa.Table):
        name = f"<in-memory {role} table>"
        _require_columns(list(source.column_names), columns, role, name)
        table = source.select(columns)
    else:
        name = str(source)
        with _local_copy(name, role) as path:
            table = _read_local(path, name, role, schema)
    loaded = LoadedTable(role=role, source=name, table=table)
    if loaded.num_rows == 0:
        raise RiskTestInputError(f"the {role} table {name!r} has no rows; give a table with data")
    _check_types(loaded, schema)
    return loaded


@contextmanager
def _local_copy(source: str, role: str) -> Iterator[Path]:
    if not source.startswith("s3://"):
        path = Path(source)
        if not path.exists():
            raise RiskTestInputError(f"the {role} table {source!r} does not exist; check the path")
        yield path
        return
    parsed = urlparse(source)
    bucket, key = parsed.netloc, parsed.path.lstrip("/")
    if not bucket or not key:
        raise RiskTestInputError(f"the {role} table {source!r} is not an s3://bucket/key URI")
    import boto3  # only S3 inputs need boto3; keep local runs light
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    suffix = "".join(Path(key).suffixes[-2:])
    handle = tempfile.NamedTemporaryFile(prefix="risk-tests-", suffix=suffix, delete=False)  # noqa: SIM115
    try:
        with handle:
            try:
                boto3.client("s3").download_fileobj(bucket, key, handle)
            except NoCredentialsError as exc:
                raise ConfigurationError(
                    f"no AWS credentials to read the {role} table {source!r}; configure the worker's role "
                    "or AWS_* environment variables"
                ) from exc
            except ClientError as exc:
                code = str(exc.response.get("Error", {}).get("Code", ""))
                if code in ("404", "NoSuchKey", "NoSuchBucket", "NotFound"):
                    raise RiskTestInputError(
                        f"the {role} table {source!r} does not exist in S3 ({code}); check the URI"
                    ) from exc
                raise RegistryError(f"S3 refused the {role} table {source!r}: {exc}") from exc
            except BotoCoreError as exc:
                raise RegistryError(f"reading the {role} table {source!r} from S3 failed: {exc}") from exc
        yield Path(handle.name)
    finally:
        os.unlink(handle.name)


def _format_of(path: Path) -> str:
    if path.is_dir():
        return "parquet"
    name = path.name.lower()
    if name.endswith(PARQUET_SUFFIXES):
        return "parquet"
    if name.endswith(CSV_SUFFIXES):
        return "csv"
    with path.open("rb") as handle:
        return "parquet" if handle.read(4) == b"PAR1" else "csv"


def _read_local(path: Path, name: str, role: str, schema: RiskTestSchema) -> pa.Table:
    columns = schema.columns()
    categorical = set(schema.categorical_features) | set(schema.protected_attributes)
    if _format_of(path) == "parquet":
        try:
            if path.is_dir():
                # A folder is a Parquet dataset (how SageMaker Processing mounts an S3 prefix).
                arrow_schema = pq.ParquetDataset(path).schema
                _require_columns(list(arrow_schema.names), columns, role, name)
                table = pq.read_table(path, columns=columns, read_dictionary=sorted(categorical))
            else:
                # One file: ParquetFile reads it directly (read_table would go through pyarrow.dataset,
                # whose import pulls in pandas: 0.2 s of a short run's start). Each needed column is
                # decoded once, categorical ones straight into dictionary arrays.
                metadata = pq.read_metadata(path)
                _require_columns(list(metadata.schema.to_arrow_schema().names), columns, role, name)
                with pq.ParquetFile(path, metadata=metadata, read_dictionary=sorted(categorical)) as parquet:
                    table = parquet.read(columns=columns, use_threads=True)
        except RiskTestInputError:
            raise
        except (pa.ArrowException, OSError) as exc:
            raise RiskTestInputError(
                f"the {role} table {name!r} is not readable Parquet ({exc}); "
                "check the file is Parquet and complete"
            ) from exc
        return table.select(columns)

    _require_columns(_csv_header(path, name, role), columns, role, name)
    numeric = set(schema.numeric_features) | {schema.score}
    if schema.problem_type == "regression":
        numeric.add(schema.label)
    types: dict[str, pa.DataType] = {c: pa.float64() for c in numeric}
    types.update({c: _DICT_STRING for c in categorical})
    import pyarrow.csv as pa_csv  # only CSV inputs need the CSV reader

    try:
        table = pa_csv.read_csv(
            path,
            convert_options=pa_csv.ConvertOptions(
                include_columns=columns, column_types=types, strings_can_be_null=True
            ),
        )
    except (pa.ArrowException, OSError) as exc:
        raise RiskTestInputError(
            f"the {role} table {name!r} is not readable CSV ({exc}); numeric columns must hold numbers "
            "(empty cells are missing values)"
        ) from exc
    return table.select(columns)


def _csv_header(path: Path, name: str, role: str) -> list[str]:
    try:
        with pa.input_stream(str(path), compression="detect") as raw:
            text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
            header = next(csv.reader(text), [])
    except (OSError, UnicodeDecodeError, pa.ArrowException) as exc:
        raise RiskTestInputError(f"the {role} table {name!r} is not readable CSV: {exc}") from exc
    if not header:
        raise RiskTestInputError(f"the {role} table {name!r} is empty: no header line, no rows")
    return header


def _require_columns(available: Sequence[str], needed: Sequence[str], role: str, name: str) -> None:
    missing = [c for c in needed if c not in available]
    if missing:
        shown = list(available)[:30]
        raise RiskTestInputError(
            f"the {role} table {name!r} lacks column(s) {missing} named in the schema; "
            f"its columns are {shown}{' ...' if len(available) > 30 else ''}"
        )


def _is_number(t: pa.DataType) -> bool:
    return pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t)


def _is_category(t: pa.DataType) -> bool:
    if pa.types.is_dictionary(t):
        return _is_category(t.value_type)
    return (
        pa.types.is_string(t)
        or pa.types.is_large_string(t)
        or pa.types.is_string_view(t)
        or pa.types.is_integer(t)
        or pa.types.is_boolean(t)
    )


def _check_types(loaded: LoadedTable, schema: RiskTestSchema) -> None:
    types = dict(zip(loaded.table.column_names, loaded.table.schema.types, strict=True))
    numeric = [*schema.numeric_features, schema.score]
    if schema.problem_type == "regression":
        numeric.append(schema.label)
    for column in numeric:
        if not _is_number(types[column]):
            role = "the score" if column == schema.score else "numeric"
            raise RiskTestInputError(
                f"{loaded.where(column)} is {types[column]}, but {role} columns must hold numbers; "
                "fix the data"
                + (" or list it under features.categorical" if column in schema.numeric_features else "")
            )
    for column in [*schema.categorical_features, *schema.protected_attributes]:
        if not _is_category(types[column]):
            raise RiskTestInputError(
                f"{loaded.where(column)} is {types[column]}; categorical features and protected attributes "
                "must be strings, integers or booleans"
                + (" (list a measured quantity under features.numeric)" if _is_number(types[column]) else "")
            )
    if schema.problem_type == "classification":
        label_type = types[schema.label]
        if not (_is_number(label_type) or _is_category(label_type)):
            raise RiskTestInputError(
                f"{loaded.where(schema.label)} is {label_type}; a classification label must be a string, "
                "number or boolean"
            )
