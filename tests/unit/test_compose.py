"""docker-compose.yaml, the Dockerfile and .env.example, checked without Docker (no daemon here).

The compose file is parsed and interpolated as compose does (``${VAR}``, ``${VAR:-default}``,
``${VAR:?error}``, ``$$``) with the values of .env.example, then held against what the code needs: the
Airflow 3.3 production topology, healthchecks and start order, the executor/broker/database settings
(each a real Airflow option), the governance settings (validated by ``GovernanceConfig``), the connections
those settings name (parsed by Airflow, checked by our Jira hook's own validation), the sandbox commands
(their flags accepted by the modules' parsers) and the image (Airflow pin = pyproject's).
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
import tomllib
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path, PurePosixPath
from types import ModuleType
from typing import Any

import pytest
import yaml

from tests.conftest import REPO_ROOT

COMPOSE_FILE = REPO_ROOT / "docker-compose.yaml"
DOCKERFILE = REPO_ROOT / "Dockerfile"
ENV_EXAMPLE = REPO_ROOT / ".env.example"

CORE_SERVICES = {
    "postgres",
    "redis",
    "airflow-init",
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
    "airflow-worker",
}
SANDBOX_SERVICES = {"aws-sandbox", "jira-sandbox", "smtp-sandbox", "sandbox-setup"}
AIRFLOW_COMPONENTS = {
    "airflow-apiserver": "api-server",
    "airflow-scheduler": "scheduler",
    "airflow-dag-processor": "dag-processor",
    "airflow-triggerer": "triggerer",
    "airflow-worker": "celery worker",
}
#: Variables that hold secrets: compose must require them from .env, never carry a value itself.
SECRET_VARIABLES = {
    "POSTGRES_PASSWORD",
    "AIRFLOW_JWT_SECRET",
    "AIRFLOW_ADMIN_PASSWORD",
    "GOVERNANCE_DB_PASSWORD",
    "AIRFLOW_CONN_AWS_RETAIL_BANK",
    "AIRFLOW_CONN_JIRA_DEFAULT",
    "AIRFLOW_CONN_SMTP_DEFAULT",
}


# -- compose's own rules: .env files and interpolation ------------------------------------------------


def parse_env_file(text: str) -> dict[str, str]:
    """A .env file as compose reads it: KEY=VALUE lines, '#' comments, quoted values (single: literal)."""
    values: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
            raise ValueError(f".env line {number} is not KEY=VALUE: {raw!r}")
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        else:
            value = value.split(" #", 1)[0].strip()
        values[key] = value
    return values


class MissingVariable(LookupError):
    pass


_VARIABLE = re.compile(
    r"\$(?:(?P<escaped>\$)|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}"
    r"|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))"
)


def interpolate(text: str, env: Mapping[str, str]) -> str:
    """Compose variable substitution of one string (the forms compose documents; no nesting)."""

    def substitute(match: re.Match[str]) -> str:
        if match["escaped"]:
            return "$"
        name = match["braced"] or match["bare"]
        op, arg = match["op"], match["arg"] or ""
        value = env.get(name)
        unset_or_empty = value is None or (value == "" and op is not None and op.startswith(":"))
        if op in (":-", "-") and unset_or_empty:
            return arg
        if op in (":?", "?") and unset_or_empty:
            raise MissingVariable(f"{name}: {arg}")
        return value or ""

    return _VARIABLE.sub(substitute, text)


def interpolate_all(node: Any, env: Mapping[str, str]) -> Any:
    if isinstance(node, str):
        return interpolate(node, env)
    if isinstance(node, list):
        return [interpolate_all(item, env) for item in node]
    if isinstance(node, dict):
        return {key: interpolate_all(value, env) for key, value in node.items()}
    return node


def test_interpolation_follows_compose_rules() -> None:
    env = {"SET": "x", "EMPTY": ""}
    assert interpolate("a${SET}b$SET$$HOME", env) == "axbx$HOME"
    assert interpolate("${EMPTY:-d} ${EMPTY-d} ${UNSET-d} ${UNSET:-d}", env) == "d  d d"
    with pytest.raises(MissingVariable, match="EMPTY: needed"):
        interpolate("${EMPTY:?needed}", env)
    assert interpolate("${EMPTY?needed}", env) == ""
    assert parse_env_file('A=\'{"k": 1}\'\n# c\nB=plain # note\nC="q"\n') == {
        "A": '{"k": 1}',
        "B": "plain",
        "C": "q",
    }


# -- fixtures -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def raw_compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def env_example() -> dict[str, str]:
    return parse_env_file(ENV_EXAMPLE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def compose(raw_compose: dict[str, Any], env_example: dict[str, str]) -> dict[str, Any]:
    """The compose model with .env.example's values substituted, as `docker compose config` shows it."""
    return interpolate_all(raw_compose, env_example)


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


def environment(service: Mapping[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {key: str(value) for key, value in env.items()}


def command_words(value: Any) -> list[str]:
    return value.split() if isinstance(value, str) else [str(word) for word in value]


def volume_map(service: Mapping[str, Any]) -> dict[str, str]:
    """Container path -> source (a host path or a named volume)."""
    mapped = {}
    for volume in service.get("volumes") or []:
        source, target = volume.split(":")[:2]
        mapped[target] = source
    return mapped


def load_docker_script(name: str) -> ModuleType:
    path = REPO_ROOT / "docker" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"compose_{name}", path)
    assert spec is not None and spec.loader is not None, path
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def governance_env(services: dict[str, dict[str, Any]]) -> dict[str, str]:
    """The environment every Airflow component gets (the worker's: it runs the tasks)."""
    return environment(services["airflow-worker"])


@pytest.fixture(scope="module")
def config_file(services: dict[str, dict[str, Any]], governance_env: dict[str, str]) -> Path:
    """The host file behind MODEL_GOVERNANCE_CONFIG (a path inside the containers)."""
    target = governance_env["MODEL_GOVERNANCE_CONFIG"]
    source = volume_map(services["airflow-worker"]).get(target)
    assert source, f"MODEL_GOVERNANCE_CONFIG={target} is not a mounted file"
    return (REPO_ROOT / source).resolve()


@pytest.fixture(scope="module")
def config(governance_env: dict[str, str], config_file: Path) -> Any:
    from model_governance.config import load_config

    environ = {**governance_env, "MODEL_GOVERNANCE_CONFIG": str(config_file)}
    return load_config(variable_text="", environ=environ)


@pytest.fixture
def connections_env(governance_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The containers' AIRFLOW_CONN_* variables in this process, for Airflow's own connection lookup."""
    for key, value in governance_env.items():
        if key.startswith("AIRFLOW_CONN_"):
            monkeypatch.setenv(key, value)
    yield


# -- topology -------------------------------------------------------------------------------------------


def test_services_and_sandbox_profile(services: dict[str, dict[str, Any]]) -> None:
    assert set(services) == CORE_SERVICES | SANDBOX_SERVICES
    for name in CORE_SERVICES:
        assert not services[name].get("profiles"), f"{name} must run without a profile"
    for name in SANDBOX_SERVICES:
        assert services[name].get("profiles") == ["sandbox"], f"{name} belongs to the sandbox profile"


def test_airflow_components_run_their_commands(services: dict[str, dict[str, Any]]) -> None:
    for name, component in AIRFLOW_COMPONENTS.items():
        assert command_words(services[name]["command"]) == component.split(), name
        assert services[name]["build"]["target"] == "production", name
    assert "8080" in {str(port).rsplit(":", 1)[-1] for port in services["airflow-apiserver"]["ports"]}
    init = " ".join(command_words(services["airflow-init"]["command"]))
    # Airflow's schema, the governance checks and database, then the inventory schema: in this order.
    steps = ["airflow db migrate", "init_governance.py", "model-governance db upgrade"]
    assert all(step in init for step in steps), init
    assert [init.index(step) for step in steps] == sorted(init.index(step) for step in steps), init
    assert (REPO_ROOT / "docker" / "init_governance.py").is_file()


def test_airflow_init_upgrades_with_the_packaged_command() -> None:
    """The command airflow-init runs is the console script the package declares (the image installs it)."""
    scripts = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]
    module, _, function = scripts["model-governance"].partition(":")
    assert callable(getattr(importlib.import_module(module), function))


def long_running(service: Mapping[str, Any]) -> bool:
    return service.get("restart") != "no"


def test_every_long_running_service_has_a_healthcheck(services: dict[str, dict[str, Any]]) -> None:
    running = {name for name, service in services.items() if long_running(service)}
    assert running == (CORE_SERVICES | SANDBOX_SERVICES) - {"airflow-init", "sandbox-setup"}
    tests = {}
    for name in running:
        check = services[name].get("healthcheck") or {}
        assert check.get("test"), f"{name} has no healthcheck"
        assert not check.get("disable"), name
        for key in ("interval", "timeout", "retries"):
            assert key in check, f"{name} healthcheck has no {key}"
        tests[name] = " ".join(command_words(check["test"]))
    assert re.search(r"localhost:8080/api/v2/(monitor/health|version)", tests["airflow-apiserver"])
    assert (
        "localhost:8974/health" in tests["airflow-scheduler"]
        or "--job-type SchedulerJob" in tests["airflow-scheduler"]
    )
    assert "airflow jobs check --job-type DagProcessorJob" in tests["airflow-dag-processor"]
    assert "airflow jobs check --job-type TriggererJob" in tests["airflow-triggerer"]
    assert "inspect ping" in tests["airflow-worker"]
    assert "pg_isready" in tests["postgres"]
    assert "redis-cli ping" in tests["redis"]
    for name in ("airflow-dag-processor", "airflow-triggerer", "airflow-worker"):
        # $$ in the file is a literal $ for the container's shell: its own hostname, not compose's.
        assert '${HOSTNAME}"' in tests[name], name
    worker_env = environment(services["airflow-worker"])
    assert worker_env["AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK"] == "true"


def test_start_order(services: dict[str, dict[str, Any]]) -> None:
    def conditions(name: str) -> dict[str, str]:
        depends = services[name].get("depends_on") or {}
        assert isinstance(depends, dict), f"{name}: depends_on needs conditions, not a bare list"
        return {target: spec["condition"] for target, spec in depends.items()}

    base = {
        "postgres": "service_healthy",
        "redis": "service_healthy",
        "airflow-init": "service_completed_successfully",
    }
    for name in ("airflow-apiserver", "airflow-scheduler"):
        assert conditions(name) == base, name
    for name in ("airflow-dag-processor", "airflow-triggerer", "airflow-worker"):
        # They talk to the execution API, so they wait for the api-server.
        assert conditions(name) == {**base, "airflow-apiserver": "service_healthy"}, name
    assert conditions("airflow-init") == {"postgres": "service_healthy", "redis": "service_healthy"}
    assert conditions("sandbox-setup") == {"aws-sandbox": "service_healthy"}
    for name, service in services.items():
        for target, spec in (service.get("depends_on") or {}).items():
            assert target in services, f"{name} depends on unknown {target}"
            if spec["condition"] == "service_healthy":
                assert services[target].get("healthcheck"), f"{name} waits for {target}'s healthcheck"
            if spec["condition"] == "service_completed_successfully":
                assert services[target].get("restart") == "no", f"{target} must be a one-shot"
            if name in CORE_SERVICES:
                assert target in CORE_SERVICES, f"{name} must not need the sandbox profile ({target})"


def test_volumes(compose: dict[str, Any], services: dict[str, dict[str, Any]]) -> None:
    declared = set(compose.get("volumes") or {})
    for name in AIRFLOW_COMPONENTS | {"airflow-init": ""}:
        mounts = volume_map(services[name])
        assert mounts["/opt/airflow/dags"] == "./dags", name
        assert mounts["/opt/airflow/plugins"] == "./plugins", name
        assert mounts["/opt/airflow/templates"] == "./templates", name
        assert mounts["/opt/airflow/logs"] in declared, f"{name}: logs on a named volume"
    assert volume_map(services["postgres"])["/var/lib/postgresql/data"] in declared
    for name, service in services.items():
        for target, source in volume_map(service).items():
            if source.startswith("."):
                assert (REPO_ROOT / source).exists(), f"{name} mounts missing {source}"
            else:
                assert source in declared, f"{name} mounts undeclared volume {source} at {target}"
    # The passwords file: written by airflow-init, read by the api-server, no one else.
    holders = {n for n, s in services.items() if "/opt/airflow/auth" in volume_map(s)}
    assert holders == {"airflow-init", "airflow-apiserver"}
    # Our templates are found two levels above the package (documents/environment.py), as in the checkout.
    plugins = PurePosixPath("/opt/airflow/plugins")
    package_file = plugins / "model_governance" / "documents" / "environment.py"
    assert str(package_file.parents[3] / "templates") == "/opt/airflow/templates"
    link = REPO_ROOT / "plugins" / "model_governance" / "documents" / "templates"
    assert link.resolve() == (REPO_ROOT / "templates").resolve()


# -- Airflow settings ------------------------------------------------------------------------------------


def test_executor_broker_and_databases(
    services: dict[str, dict[str, Any]], env_example: dict[str, str]
) -> None:
    from sqlalchemy.engine import make_url

    postgres = environment(services["postgres"])
    for name in AIRFLOW_COMPONENTS:
        env = environment(services[name])
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor", name
        assert re.fullmatch(r"redis://redis:6379/\d+", env["AIRFLOW__CELERY__BROKER_URL"]), name
        metadata = make_url(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
        assert metadata.drivername == "postgresql+psycopg2"
        assert (metadata.host, metadata.port, metadata.database) == (
            "postgres",
            5432,
            postgres["POSTGRES_DB"],
        )
        assert metadata.username == postgres["POSTGRES_USER"]
        assert metadata.password == postgres["POSTGRES_PASSWORD"] == env_example["POSTGRES_PASSWORD"]
        backend = env["AIRFLOW__CELERY__RESULT_BACKEND"]
        assert backend.startswith("db+postgresql://")
        assert make_url(backend[len("db+") :]).database == metadata.database
        assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://airflow-apiserver:8080/execution/"
        assert env["AIRFLOW__API_AUTH__JWT_SECRET"] == env_example["AIRFLOW_JWT_SECRET"], name


def test_every_airflow_option_exists(services: dict[str, dict[str, Any]]) -> None:
    """A misspelt AIRFLOW__SECTION__KEY is silently ignored by Airflow; here it fails."""
    from airflow.configuration import conf

    options = conf.configuration_description
    checked = 0
    for name, service in services.items():
        for key in environment(service):
            if not key.startswith("AIRFLOW__"):
                continue
            section, _, option = key[len("AIRFLOW__") :].lower().partition("__")
            assert option in options.get(section, {}).get("options", {}), (
                f"{name}: {key} is no Airflow option"
            )
            checked += 1
    assert checked > 20


def test_secrets_come_from_env_file(raw_compose: dict[str, Any], env_example: dict[str, str]) -> None:
    text = COMPOSE_FILE.read_text(encoding="utf-8")
    for variable in SECRET_VARIABLES:
        assert re.search(r"\$\{" + variable + r":\?", text), f"{variable} must be required from .env"
        assert variable in env_example, f".env.example must document {variable}"
        with pytest.raises(MissingVariable, match=variable):
            interpolate_all(raw_compose, {k: v for k, v in env_example.items() if k != variable})
    # No value of .env.example's secrets (placeholders, sandbox tokens) is written into compose itself.
    for variable in SECRET_VARIABLES:
        if not variable.startswith("AIRFLOW_CONN_"):
            assert env_example[variable] not in text, variable
    assert "mlc-bot-api-token" not in text
    for line in text.splitlines():
        match = re.match(r"\s*([A-Z0-9_]*(PASSWORD|SECRET|TOKEN|FERNET_KEY)[A-Z0-9_]*):\s*(.*)$", line)
        if match and not match[1].endswith("_FILE"):
            assert match[3].startswith("${"), f"{match[1]} is set to a literal in compose: {line.strip()}"
    gitignore = (REPO_ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert ".env" in gitignore, ".env holds the secrets and must never be committed"


def test_admin_user_is_the_simple_auth_managers(services: dict[str, dict[str, Any]]) -> None:
    init = environment(services["airflow-init"])
    api = environment(services["airflow-apiserver"])
    assert api["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS"] == f"{init['AIRFLOW_ADMIN_USER']}:admin"
    passwords = api["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"]
    assert PurePosixPath(passwords).parent.as_posix() in volume_map(services["airflow-apiserver"])
    assert "AIRFLOW_ADMIN_PASSWORD" not in api, "only airflow-init needs the admin password"


# -- the governance settings and connections -------------------------------------------------------------


def test_governance_settings_validate(
    config: Any,
    services: dict[str, dict[str, Any]],
    governance_env: dict[str, str],
    env_example: dict[str, str],
) -> None:
    assert config.business_entities, "at least one business entity (registry)"
    assert config.inventory.conn_id and not config.inventory.url
    assert config.airflow_base_url == env_example["AIRFLOW_BASE_URL"]
    assert env_example["GOVERNANCE_CONFIG_FILE"].lstrip("./") == "docker/model-governance.json"
    for name in AIRFLOW_COMPONENTS | {"airflow-init": ""}:
        env = environment(services[name])
        governed = {k: v for k, v in env.items() if k.startswith(("MODEL_GOVERNANCE", "AIRFLOW_CONN_"))}
        assert governed == {
            k: v for k, v in governance_env.items() if k.startswith(("MODEL_GOVERNANCE", "AIRFLOW_CONN_"))
        }, f"{name} must see the same settings and connections as the worker"


def test_a_bad_settings_file_fails_init(tmp_path: Path, governance_env: dict[str, str]) -> None:
    """airflow-init's check (load_config) really refuses a wrong file: the test above is not vacuous."""
    from model_governance.config import load_config
    from model_governance.exceptions import ConfigurationError

    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps({"business_entities": [{"name": "x", "account_id": "12", "region": "us-east-1"}]})
    )
    with pytest.raises(ConfigurationError, match="account_id"):
        load_config(variable_text="", environ={**governance_env, "MODEL_GOVERNANCE_CONFIG": str(bad)})


@pytest.mark.usefixtures("connections_env")
def test_connections_resolve_with_the_expected_types(config: Any) -> None:
    from airflow.sdk import BaseHook

    init_governance = load_docker_script("init_governance")
    needed = init_governance.required_connections(config)
    assert set(needed) == {"aws_retail_bank", "jira_default", "smtp_default", "governance_inventory"}
    assert init_governance.check_connections(config) == []
    for conn_id, (kind, _) in needed.items():
        conn = BaseHook.get_connection(conn_id)
        assert conn.conn_type in init_governance.EXPECTED_CONN_TYPES[kind], conn_id


@pytest.mark.usefixtures("connections_env")
def test_a_missing_connection_is_named(config: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AIRFLOW_CONN_JIRA_DEFAULT")
    problems = load_docker_script("init_governance").check_connections(config)
    assert (
        len(problems) == 1 and "'jira_default'" in problems[0] and "AIRFLOW_CONN_JIRA_DEFAULT" in problems[0]
    )


@pytest.mark.usefixtures("connections_env")
def test_inventory_is_its_own_postgres_database(
    config: Any, env_example: dict[str, str], governance_env: dict[str, str]
) -> None:
    from sqlalchemy.engine import make_url

    from model_governance.config import inventory_url

    url = make_url(inventory_url(config))
    metadata = make_url(governance_env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
    assert url.drivername == "postgresql+psycopg2"
    assert (url.host, url.port) == (metadata.host, metadata.port)
    assert url.database == "governance" != metadata.database
    assert url.username == "governance" != metadata.username
    assert url.password == env_example["GOVERNANCE_DB_PASSWORD"]


@pytest.mark.usefixtures("connections_env")
def test_jira_connection_passes_the_hooks_validation(
    config: Any, services: dict[str, dict[str, Any]]
) -> None:
    from airflow.sdk import BaseHook

    from model_governance.hooks.jira import JiraSettings

    settings = JiraSettings.from_connection(BaseHook.get_connection(config.jira.conn_id))
    assert settings.flavor in ("cloud", "datacenter")
    assert settings.url == f"http://jira-sandbox:{_flag(services['jira-sandbox'], '--port')}"
    assert settings.login and settings.secret


@pytest.mark.usefixtures("connections_env")
def test_aws_and_smtp_connections_reach_the_sandboxes(
    config: Any, services: dict[str, dict[str, Any]]
) -> None:
    from airflow.sdk import BaseHook

    aws_port = _flag(services["aws-sandbox"], "--port")
    for entity in config.business_entities:
        extra = BaseHook.get_connection(entity.aws_conn_id).extra_dejson
        assert extra["endpoint_url"] == f"http://aws-sandbox:{aws_port}"
        assert extra["region_name"] == entity.region
    smtp = BaseHook.get_connection(config.notifications.smtp_conn_id)
    assert (smtp.host, str(smtp.port)) == ("smtp-sandbox", _flag(services["smtp-sandbox"], "--port"))


# -- the sandbox profile ---------------------------------------------------------------------------------


def _entrypoint(service: Mapping[str, Any]) -> list[str]:
    return command_words(service["entrypoint"])


def _flag(service: Mapping[str, Any], flag: str) -> str:
    words = _entrypoint(service)
    return words[words.index(flag) + 1]


SANDBOX_MODULES = {
    "aws-sandbox": "sandbox.aws",
    "jira-sandbox": "sandbox.jira",
    "smtp-sandbox": "sandbox.smtp",
}


@pytest.mark.parametrize("name", sorted(SANDBOX_MODULES))
def test_sandbox_commands_run_existing_modules_with_their_flags(
    name: str, services: dict[str, dict[str, Any]]
) -> None:
    service = services[name]
    words = _entrypoint(service)
    module = SANDBOX_MODULES[name]
    assert words[:3] == ["python", "-m", module]
    assert importlib.util.find_spec(f"{module}.__main__") is not None, f"{module} has no __main__"
    assert service["build"]["target"] == "sandbox"
    assert _flag(service, "--host") == "0.0.0.0", "reachable from the other containers"
    done = subprocess.run(
        [sys.executable, "-m", module, "--help"], capture_output=True, text=True, timeout=120, cwd=REPO_ROOT
    )
    assert done.returncode == 0, done.stderr[-2000:]
    for word in words[3:]:
        if word.startswith("--"):
            assert word in done.stdout, f"{module} has no flag {word}"
    port = _flag(service, "--port")
    health = " ".join(command_words(service["healthcheck"]["test"]))
    assert f"localhost:{port}" in health or f"'localhost', {port}" in health, name


def test_sandbox_flags_parse(services: dict[str, dict[str, Any]], tmp_path: Path) -> None:
    from sandbox.aws.server import parse_args
    from sandbox.jira.__main__ import serve_parser

    aws = parse_args(_entrypoint(services["aws-sandbox"])[3:])
    assert aws.events_queue.endswith(".fifo")
    jira = serve_parser().parse_args(_entrypoint(services["jira-sandbox"])[3:])
    assert jira.state and PurePosixPath(jira.state).parent.as_posix() in volume_map(services["jira-sandbox"])
    maildir = _flag(services["smtp-sandbox"], "--maildir")
    assert maildir in volume_map(services["smtp-sandbox"])


def test_sandbox_matches_the_settings(config: Any, services: dict[str, dict[str, Any]]) -> None:
    aws = services["aws-sandbox"]
    account, region, queue = (_flag(aws, f) for f in ("--account-id", "--region", "--events-queue"))
    entity = config.business_entities[0]
    assert (entity.account_id, entity.region) == (account, region)
    assert entity.sqs_queue_url == f"http://aws-sandbox:{_flag(aws, '--port')}/{account}/{queue}"
    setup = _entrypoint(services["sandbox-setup"])
    assert setup[:2] == ["python", "/opt/airflow/docker/sandbox_setup.py"]
    assert (REPO_ROOT / "docker" / "sandbox_setup.py").is_file()
    buckets = {setup[i + 1] for i, word in enumerate(setup) if word == "--bucket"}
    assert config.governance_bucket in buckets
    assert _flag(services["sandbox-setup"], "--endpoint-url") == f"http://aws-sandbox:{_flag(aws, '--port')}"


# -- the image -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pyproject() -> dict[str, Any]:
    return tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _dockerfile_args(text: str) -> dict[str, str]:
    return dict(re.findall(r"^ARG (\w+)=(\S+)$", text, flags=re.MULTILINE))


def test_image_pins_airflow_as_pyproject(pyproject: dict[str, Any]) -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    pins = [d for d in pyproject["project"]["dependencies"] if re.match(r"apache-airflow==", d)]
    assert len(pins) == 1
    args = _dockerfile_args(text)
    assert f"apache-airflow=={args['AIRFLOW_VERSION']}" == pins[0]
    base = re.search(r"^FROM (\S+) AS production$", text, flags=re.MULTILINE)
    assert base and base[1] == "apache/airflow:${AIRFLOW_VERSION}-python${PYTHON_VERSION}"
    from packaging.specifiers import SpecifierSet

    assert args["PYTHON_VERSION"] in SpecifierSet(pyproject["project"]["requires-python"])
    assert f"{sys.version_info.major}.{sys.version_info.minor}" == args["PYTHON_VERSION"], "same as CI's"


def test_image_installs_the_project_and_its_system_packages(
    pyproject: dict[str, Any], services: dict[str, dict[str, Any]]
) -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    stages = set(re.findall(r"^FROM \S+ AS (\w+)$", text, flags=re.MULTILINE))
    for name, service in services.items():
        if "build" in service:
            assert service["build"]["target"] in stages, name
    installs = re.findall(
        r'pip install --no-cache-dir "apache-airflow==\$\{AIRFLOW_VERSION\}" "\.\[([\w,]+)\]"', text
    )
    assert installs and installs[0] == "production"
    extras = pyproject["project"]["optional-dependencies"]
    for group in installs:
        for extra in group.split(","):
            assert extra in extras, extra
    assert "sandbox" in installs[-1].split(",")
    # WeasyPrint's Debian packages: the runtime part of the list `make setup` installs, nothing test-only.
    script = (REPO_ROOT / "scripts" / "install-system-deps.sh").read_text(encoding="utf-8")
    listed = re.search(r"^packages=\((.*)\)$", script, flags=re.MULTILINE)
    assert listed, "scripts/install-system-deps.sh lists its packages as packages=(...)"
    apt = re.search(r"apt-get install -y -qq --no-install-recommends \\\n\s+(.*?)\\\n", text)
    assert apt, "the Dockerfile installs its Debian packages with apt-get"
    image_packages = set(apt[1].split())
    assert {"libpango-1.0-0", "libpangoft2-1.0-0", "fonts-dejavu-core"} <= image_packages
    assert image_packages <= set(listed[1].split()), "keep the image's packages in the setup script's list"
    assert not image_packages & {"chromium", "poppler-utils"}, "test-only packages stay out of the image"
    assert text.index("USER root") < text.index("apt-get install") < text.index("USER airflow")


def test_build_context_keeps_what_the_image_copies() -> None:
    """Every COPY source exists and .dockerignore does not exclude it; secrets and venvs stay out."""
    import fnmatch

    text = DOCKERFILE.read_text(encoding="utf-8")
    ignored = [
        line.strip()
        for line in (REPO_ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#") and not line.startswith("!")
    ]
    sources = [
        word
        for line in re.findall(r"^COPY (?:--\S+ )*(.+)$", text, flags=re.MULTILINE)
        for word in line.split()[:-1]
    ]
    assert "pyproject.toml" in sources and "plugins/" in sources and "sandbox/" in sources
    for source in sources:
        assert (REPO_ROOT / source).exists(), source
        top = source.rstrip("/").split("/")[0]
        assert not any(fnmatch.fnmatch(top, pattern.rstrip("/")) for pattern in ignored), source
    for secret in (".env", ".venv", ".git"):
        assert secret in ignored


# -- airflow-init's governance step ----------------------------------------------------------------------


def test_passwords_file_is_merged_and_private(tmp_path: Path) -> None:
    init_governance = load_docker_script("init_governance")
    path = tmp_path / "auth" / "passwords.json"
    path.parent.mkdir()
    path.write_text('{"viewer": "v"}\n')
    init_governance.write_passwords_file(path, {"admin": "secret"})
    init_governance.write_passwords_file(path, {"admin": "rotated"})
    assert json.loads(path.read_text()) == {"viewer": "v", "admin": "rotated"}
    assert path.stat().st_mode & 0o777 == 0o600


def test_database_creation_only_on_the_same_postgres_server() -> None:
    ensure = load_docker_script("init_governance").ensure_postgres_database
    assert "skipped" in ensure("sqlite:///a.db", "sqlite:///b.db")
    other = ensure("postgresql://airflow:x@postgres/airflow", "postgresql://g:y@rds.example.com/governance")
    assert "another server" in other


@pytest.mark.postgres
def test_init_creates_the_inventory_database(postgres_server: str) -> None:
    """The SQL airflow-init runs, on a real server: role and database created, then found again."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from model_governance.inventory import shared_engine, upgrade

    ensure = load_docker_script("init_governance").ensure_postgres_database
    suffix = uuid.uuid4().hex[:8]
    target = make_url(postgres_server).set(
        username=f"mg_compose_{suffix}", password=f"pw{suffix}", database=f"mg_compose_{suffix}"
    )
    target_url = target.render_as_string(hide_password=False)
    admin = create_engine(postgres_server, isolation_level="AUTOCOMMIT")
    try:
        assert (
            ensure(postgres_server, target_url)
            == f"role {target.username} created, database {target.database} created"
        )
        assert (
            ensure(postgres_server, target_url)
            == f"role {target.username} updated, database {target.database} exists"
        )
        upgrade(target_url)  # what `model-governance db upgrade` does next in airflow-init
        engine = shared_engine(target_url)
        with engine.connect() as conn:
            owner = conn.execute(text("SELECT current_user")).scalar()
        engine.dispose()
        assert owner == target.username
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))
            conn.execute(text(f'DROP ROLE IF EXISTS "{target.username}"'))
        admin.dispose()


# -- the docs' AWS setup (docs/aws-setup.md) ---------------------------------------------------------------


def _readme_json_blocks() -> list[Any]:
    text = (REPO_ROOT / "docs" / "aws-setup.md").read_text(encoding="utf-8")
    return [json.loads(block) for block in re.findall(r"```json\n(.*?)```", text, flags=re.DOTALL)]


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


def test_readme_iam_policy_covers_every_sagemaker_call() -> None:
    """Each SageMaker API the hooks call is granted by the documented policy (a new call fails here)."""
    policies = [b for b in _readme_json_blocks() if isinstance(b, dict) and "Statement" in b]
    granted = {
        action
        for policy in policies
        for statement in policy["Statement"]
        if statement["Effect"] == "Allow"
        for action in ([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])
    }
    called = set()
    for path in (REPO_ROOT / "plugins" / "model_governance" / "hooks").glob("sagemaker*.py"):
        source = path.read_text(encoding="utf-8")
        called |= set(re.findall(r"(?:get_conn\(\)|client)\.([a-z_]+)\(", source)) - {"get_paginator"}
        called |= set(re.findall(r'get_paginator\("([a-z_]+)"\)', source))
    assert {"describe_model_package", "update_model_package", "search"} <= called, called
    missing = sorted(
        f"sagemaker:{_camel(name)}" for name in called if f"sagemaker:{_camel(name)}" not in granted
    )
    assert not missing, f"add {missing} to the IAM policy in docs/aws-setup.md"
    # Tags on created groups and endpoints need AddTags; the S3 steps need these.
    assert {"sagemaker:AddTags", "s3:GetObject", "s3:PutObject", "s3:ListBucket", "iam:PassRole"} <= granted
    patterns = [
        b for b in _readme_json_blocks() if isinstance(b, dict) and b.get("source") == ["aws.sagemaker"]
    ]
    detail_types = {t for pattern in patterns for t in pattern["detail-type"]}
    assert detail_types == {"SageMaker Model Package State Change", "AWS API Call via CloudTrail"}


def _compose_cli() -> list[str] | None:
    """`docker compose` (v2 plugin) or `docker-compose` (v1), when installed; no daemon is needed."""
    import shutil

    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True, timeout=60)
        if probe.returncode == 0:
            return ["docker", "compose"]
    found = shutil.which("docker-compose")
    return [found] if found else None


def test_compose_cli_reads_the_file_as_we_do(tmp_path: Path, services: dict[str, dict[str, Any]]) -> None:
    """Where a compose CLI is installed, its own `config` agrees with the interpolation these tests use,
    and refuses to run without the secrets."""
    cli = _compose_cli()
    if cli is None:
        pytest.skip(
            "neither `docker compose` nor `docker-compose` is installed (no daemon needed, only the CLI)"
        )
    env_file = tmp_path / "compose.env"
    env_file.write_text(ENV_EXAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    base = [*cli, "--project-directory", str(REPO_ROOT), "-f", str(COMPOSE_FILE)]
    done = subprocess.run(
        [*base, "--env-file", str(env_file), "--profile", "sandbox", "config"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    rendered = yaml.safe_load(done.stdout)["services"]
    assert set(rendered) == set(services)
    for name in AIRFLOW_COMPONENTS:
        theirs = {k: str(v) for k, v in (rendered[name].get("environment") or {}).items()}
        # The CLI keeps $$ escaped in its output; the container sees a single $.
        assert {k: v.replace("$$", "$") for k, v in theirs.items()} == environment(services[name]), name
    empty = tmp_path / "empty.env"
    empty.write_text("", encoding="utf-8")
    refused = subprocess.run(
        [*base, "--env-file", str(empty), "config"], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert refused.returncode != 0 and "in .env" in refused.stderr


@pytest.mark.postgres
def test_airflow_init_governance_step_end_to_end(
    postgres_server: str, governance_env: dict[str, str], config_file: Path, tmp_path: Path
) -> None:
    """docker/init_governance.py as airflow-init runs it, with the compose environment pointed at the local
    PostgreSQL: settings, connections, inventory role + database + schema, admin password file."""
    import os

    from sqlalchemy import create_engine, inspect, text
    from sqlalchemy.engine import make_url

    admin_url = make_url(postgres_server)
    suffix = uuid.uuid4().hex[:8]
    name, password = f"mg_init_{suffix}", f"pw{suffix}"
    inventory_conn: dict[str, Any] = {
        "conn_type": "postgres",
        "host": admin_url.host,
        "port": admin_url.port or 5432,
        "login": name,
        "password": password,
        "schema": name,
    }
    passwords = tmp_path / "auth" / "passwords.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "MODEL_GOVERNANCE"))}
    env.update(
        {k: v for k, v in governance_env.items() if k.startswith(("AIRFLOW_CONN_", "MODEL_GOVERNANCE"))}
    )
    env.update(
        {
            "AIRFLOW_HOME": str(tmp_path / "airflow"),
            "MODEL_GOVERNANCE_CONFIG": str(config_file),
            "AIRFLOW_CONN_GOVERNANCE_INVENTORY": json.dumps(inventory_conn),
            "AIRFLOW_ADMIN_PASSWORD": "not-a-real-password",
        }
    )
    admin = create_engine(postgres_server, isolation_level="AUTOCOMMIT")
    try:
        done = subprocess.run(
            [
                sys.executable,
                str(REPO_ROOT / "docker" / "init_governance.py"),
                "--admin-url",
                postgres_server,
                "--passwords-file",
                str(passwords),
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            cwd=tmp_path,
        )
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
        assert f"role {name} created, database {name} created" in done.stdout
        assert password not in done.stdout + done.stderr, "no secret in airflow-init's log"
        # airflow-init's next line, `model-governance db upgrade` (the module form: same code).
        upgraded = subprocess.run(
            [sys.executable, "-m", "model_governance.inventory", "upgrade"],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            cwd=tmp_path,
        )
        assert upgraded.returncode == 0, upgraded.stdout[-2000:] + upgraded.stderr[-3000:]
        assert "upgraded from an empty database to revision" in upgraded.stdout
        assert password not in upgraded.stdout + upgraded.stderr, "no secret in airflow-init's log"
        assert json.loads(passwords.read_text()) == {"admin": "not-a-real-password"}
        inventory = create_engine(admin_url.set(username=name, password=password, database=name))
        try:
            tables = set(inspect(inventory).get_table_names())
        finally:
            inventory.dispose()
        assert {"mg_alembic_version", "mg_use_case", "mg_model", "mg_approval"} <= tables, tables
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'DROP ROLE IF EXISTS "{name}"'))
        admin.dispose()
