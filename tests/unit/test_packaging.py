"""The package works both ways users deploy it: pip-installed (provider entry point) and mounted as the
Airflow plugins/ folder without its modules shadowing real libraries."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, airflow_env

PLUGIN_SCAN = """
import json, sys
from airflow import plugins_manager, settings
plugins_manager.ensure_plugins_loaded()
import jira
print(json.dumps({
    "plugins_folder": settings.PLUGINS_FOLDER,
    "jira_file": getattr(sys.modules["jira"], "__file__", None),
    "has_jira_client": hasattr(jira, "JIRA"),
    "top_level_package_files": sorted(
        name for name, module in sys.modules.items()
        if "." not in name and "/model_governance/" in str(getattr(module, "__file__", "") or "")
        and name != "model_governance"
    ),
    "plugins": sorted(p.name for p in plugins_manager._get_plugins()[0]),
    "import_errors": plugins_manager.get_import_errors(),
}))
"""


def _run(code: str, env: dict[str, str]) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=180, cwd=REPO_ROOT
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_provider_entry_point_is_registered() -> None:
    found = [
        ep for ep in entry_points(group="apache_airflow_provider") if ep.value.startswith("model_governance")
    ]
    assert len(found) == 1, found
    info = found[0].load()()
    assert info["package-name"] == "airflow-model-governance"
    assert info["versions"]


def test_airflow_providers_manager_lists_the_provider(tmp_path: Path) -> None:
    code = (
        "import json; from airflow.providers_manager import ProvidersManager; "
        "p = ProvidersManager().providers; print(json.dumps(sorted(p)))"
    )
    providers = _run(code, airflow_env(tmp_path))
    assert "airflow-model-governance" in providers
    assert "apache-airflow-providers-amazon" in providers


# Both providers' connection types as each Airflow side sees them: the connection UI (ProvidersManager,
# without importing hooks) and the workers (ProvidersManagerTaskRuntime, conn_type -> hook class).
PROVIDERS_SIDE_BY_SIDE = """
import json, sys
if len(sys.argv) > 1:  # the control: this package registering the official type again
    import model_governance.get_provider_info as info
    info.JIRA_CONN_TYPE = sys.argv[1]
from airflow.providers_manager import ProvidersManager
from airflow.sdk.providers_manager_runtime import ProvidersManagerTaskRuntime
manager = ProvidersManager()
ui = {m.connection_type: [m.hook_class_name, m.field_behaviour]
      for m in manager.iter_connection_type_hook_ui_metadata() if "jira" in m.connection_type}
widgets = {name: w.package_name for name, w in manager.connection_form_widgets.items() if "jira" in name}
runtime = ProvidersManagerTaskRuntime().hooks
workers = {t: [runtime[t].hook_class_name, runtime[t].package_name] for t in list(runtime) if "jira" in t}
print(json.dumps({"providers": sorted(manager.providers), "ui": ui, "widgets": widgets, "workers": workers}))
"""
OFFICIAL_JIRA = "apache-airflow-providers-atlassian-jira"


def _providers_side_by_side(tmp_path: Path, *args: str) -> tuple[dict, str]:
    done = subprocess.run(
        [sys.executable, "-c", PROVIDERS_SIDE_BY_SIDE, *args],
        env=airflow_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=180,
        cwd=REPO_ROOT,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads(done.stdout.strip().splitlines()[-1]), done.stdout + done.stderr


def test_official_jira_provider_installs_beside_without_a_connection_type_conflict(tmp_path: Path) -> None:
    result, logs = _providers_side_by_side(tmp_path)
    assert {"airflow-model-governance", OFFICIAL_JIRA} <= set(result["providers"]), result["providers"]
    # Each type keeps its own provider's hook, on the UI side and on the workers
    official = "airflow.providers.atlassian.jira.hooks.jira.JiraHook"
    ours = "model_governance.hooks.jira.JiraHook"
    assert result["workers"]["jira"] == [official, OFFICIAL_JIRA]
    assert result["workers"]["model_governance_jira"] == [ours, "airflow-model-governance"]
    assert result["ui"]["jira"][0] == official
    assert result["ui"]["model_governance_jira"][0] == ours
    assert result["ui"]["model_governance_jira"][1]["relabeling"]["host"] == "Jira base URL"
    # form fields stay with their own type
    assert result["widgets"]["extra__jira__verify"] == OFFICIAL_JIRA
    assert result["widgets"]["extra__model_governance_jira__flavor"] == "airflow-model-governance"
    assert "already registered" not in logs, logs[-3000:]


def test_registering_the_official_type_again_would_be_reported_as_a_conflict(tmp_path: Path) -> None:
    """Control: were this package to register ``jira`` again, the same check sees one hook drop out."""
    result, logs = _providers_side_by_side(tmp_path, "jira")
    assert "The connection_type 'jira' has been already registered" in logs
    assert "model_governance_jira" not in result["workers"]
    assert len({hook for hook, _ in result["workers"].values()}) == 1, result["workers"]


def test_a_connection_of_the_official_jira_type_reads_the_same_with_this_hook() -> None:
    """A user's existing ``jira`` connection can be named in the settings as it is."""
    from airflow.models.connection import Connection

    from model_governance.hooks.jira import JiraSettings

    conn = Connection(
        conn_id="jira_default",
        conn_type="jira",
        host="https://example.atlassian.net",
        login="bot@example.com",
        password="token",
        extra=json.dumps({"verify": False}),
    )
    settings = JiraSettings.from_connection(conn)
    assert (settings.url, settings.login, settings.secret, settings.verify) == (
        "https://example.atlassian.net",
        "bot@example.com",
        "token",
        False,
    )


def test_plugin_scan_leaves_the_jira_library_alone(tmp_path: Path) -> None:
    result = _run(PLUGIN_SCAN, airflow_env(tmp_path))
    assert result["plugins_folder"] == str(REPO_ROOT / "plugins")
    assert result["has_jira_client"], result
    assert "site-packages" in result["jira_file"], result
    assert result["top_level_package_files"] == [], result
    assert result["import_errors"] == {}, result
    # plugins/model_governance_plugin.py, the dashboard, is found and loads
    assert "model_governance" in result["plugins"], result


def test_without_airflowignore_the_scan_would_shadow_jira(tmp_path: Path) -> None:
    """Control: the same scan over a copy of plugins/ without .airflowignore does replace ``jira``,
    so the test above would catch a lost or broken ignore file."""
    plugins = tmp_path / "plugins"
    # __main__.py files are CLIs: imported as a module named "__main__" they would run; leave them out.
    skip = shutil.ignore_patterns("__pycache__", "*.egg-info", "__main__.py")
    shutil.copytree(REPO_ROOT / "plugins", plugins, ignore=skip)
    (plugins / ".airflowignore").unlink()
    hook = plugins / "model_governance" / "hooks" / "jira.py"
    if not hook.exists():  # until the Jira hook lands, a file of that name shows the trap
        hook.write_text("SHADOW = True\n", encoding="utf-8")
    env = airflow_env(tmp_path / "home", AIRFLOW__CORE__PLUGINS_FOLDER=str(plugins))
    result = _run(PLUGIN_SCAN.replace('hasattr(jira, "JIRA")', "not hasattr(jira, 'JIRA')"), env)
    assert str(plugins) in (result["jira_file"] or ""), result
    assert result["top_level_package_files"], result


def test_dag_bag_loads_dags_without_import_errors(tmp_path: Path) -> None:
    code = (
        "import json; from airflow.dag_processing.dagbag import DagBag; "
        f"bag = DagBag(dag_folder={str(REPO_ROOT / 'dags')!r}); "
        "print(json.dumps({'errors': bag.import_errors, 'dags': sorted(bag.dag_ids), "
        "'files': len(bag.dagbag_stats)}))"
    )
    result = _run(code, airflow_env(tmp_path))
    assert result["errors"] == {}, result["errors"]
    expected = sorted(p.stem for p in (REPO_ROOT / "dags").glob("*.py") if not p.name.startswith("_"))
    assert result["dags"] == expected, "each DAG file defines one DAG named after the file"


@pytest.mark.parametrize(
    "module",
    [
        "model_governance.lifecycle",
        "model_governance.inventory",
        "model_governance.workloads",
        "model_governance.ui.queries",
        "model_governance.ui.monitoring",
        "model_governance.ui.app",
    ],
)
def test_domain_modules_import_without_airflow(module: str) -> None:
    blocker = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'airflow' or name.startswith('airflow.'):\n"
        "            raise ImportError('domain modules must not import ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        f"import {module}\n"
        "print('{}')\n"
    )
    assert _run(blocker, dict(__import__("os").environ)) == {}


# -- the wheel --------------------------------------------------------------------------------------------

#: Run by the venv's own interpreter: where everything came from once the one-line DAG files are parsed.
FROM_THE_WHEEL = """
import json, sys
from pathlib import Path
from airflow.dag_processing.dagbag import DagBag
from model_governance.documents import builtin_templates_dir
from model_governance.inventory.db import make_engine, migrate
bag = DagBag(dag_folder=sys.argv[1])
engine = make_engine("sqlite:///" + sys.argv[2])
migrate(engine)
import sqlalchemy
tables = sorted(t for t in sqlalchemy.inspect(engine).get_table_names() if t.startswith("mg_"))
print(json.dumps({
    "errors": bag.import_errors,
    "dags": {dag_id: dag.fileloc for dag_id, dag in bag.dags.items()},
    "dag_modules": {n: m.__file__ for n, m in sys.modules.items() if n.startswith("model_governance.dags.")},
    "package": sys.modules["model_governance"].__file__,
    "templates": str(builtin_templates_dir()),
    "tables": tables,
    "sys_path": sys.path,
}))
"""
DAG_MODULES = (
    "use_case_registration",
    "sagemaker_model_implementation",
    "sagemaker_lifecycle_sync",
    "model_governance_action",
    "model_monitoring",
    "model_revalidation",
)


def _copy_sources(dest: Path) -> Path:
    """What the build reads, copied (the shared checkout gets no build/ or egg-info of ours)."""
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO_ROOT / name, dest / name)
    skip = shutil.ignore_patterns("__pycache__", "*.egg-info")
    # documents/templates is a symlink to the top-level templates/: kept as one, so the build resolves it
    shutil.copytree(REPO_ROOT / "plugins", dest / "plugins", symlinks=True, ignore=skip)
    shutil.copytree(REPO_ROOT / "templates", dest / "templates", ignore=skip)
    return dest


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """``python -m build``: the sdist, then the wheel built from the unpacked sdist (as build does)."""
    source = _copy_sources(tmp_path_factory.mktemp("source"))
    dist = tmp_path_factory.mktemp("dist")
    done = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(dist), str(source)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    (wheel,) = dist.glob("*.whl")
    (sdist,) = dist.glob("*.tar.gz")
    return {"wheel": wheel, "sdist": sdist}


def test_build_makes_an_sdist_and_a_wheel_with_the_dags_templates_and_migrations(
    built: dict[str, Path],
) -> None:
    import tarfile
    import zipfile

    names = set(zipfile.ZipFile(built["wheel"]).namelist())
    for module in DAG_MODULES:
        assert f"model_governance/dags/{module}.py" in names
    for template in (REPO_ROOT / "templates").rglob("*"):
        if template.is_file():
            assert (
                f"model_governance/documents/templates/{template.relative_to(REPO_ROOT / 'templates')}"
                in names
            )
    for template in (REPO_ROOT / "plugins/model_governance/ui/templates").glob("*.j2"):
        assert f"model_governance/ui/templates/{template.name}" in names
    versions = (REPO_ROOT / "plugins/model_governance/inventory/migrations/versions").glob("*.py")
    for migration in versions:
        assert f"model_governance/inventory/migrations/versions/{migration.name}" in names
    assert {
        "model_governance/inventory/migrations/env.py",
        "model_governance/inventory/migrations/script.py.mako",
    } <= names
    entry_points = zipfile.ZipFile(built["wheel"]).read(
        next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    )
    assert b"model_governance.get_provider_info:get_provider_info" in entry_points
    with tarfile.open(built["sdist"]) as sdist:
        members = sdist.getnames()
    assert any(m.endswith("model_governance/documents/templates/jira/use_case.j2") for m in members), members[
        :20
    ]


def test_the_installed_wheel_alone_serves_the_dags(built: dict[str, Path], tmp_path: Path) -> None:
    """A fresh venv holding only the wheel; its dependencies are read from .venv's site-packages as a plain
    path (a path entry's .pth files are not run, so the editable install's /plugins entry stays out)."""
    import sysconfig

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    pip = [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index", "-q"]
    subprocess.run([*pip, str(built["wheel"])], check=True, timeout=300, capture_output=True)
    (site / "_outer_venv_libraries.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")

    # the user's dags folder: the repository's one-line files, nothing else
    dags = tmp_path / "dags"
    dags.mkdir()
    for module in DAG_MODULES:
        shutil.copy2(REPO_ROOT / "dags" / f"{module}.py", dags / f"{module}.py")
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    env = airflow_env(tmp_path / "home", AIRFLOW__CORE__DAGS_FOLDER=str(dags))
    env["AIRFLOW__CORE__PLUGINS_FOLDER"] = str(plugins)
    env.pop("PYTHONPATH", None)
    env.pop("VIRTUAL_ENV", None)
    done = subprocess.run(
        [str(python), "-c", FROM_THE_WHEEL, str(dags), str(tmp_path / "inventory.db")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])

    assert result["errors"] == {}, result["errors"]
    assert result["dags"] == {module: str(dags / f"{module}.py") for module in DAG_MODULES}
    assert result["package"].startswith(str(site)), result["package"]
    assert set(result["dag_modules"]) == {f"model_governance.dags.{m}" for m in DAG_MODULES}
    assert all(path.startswith(str(site)) for path in result["dag_modules"].values()), result["dag_modules"]
    assert result["templates"].startswith(str(site)), result["templates"]
    assert "mg_business_entity" in result["tables"], "the migrations ran from the wheel"
    checkout = {str(REPO_ROOT), str(REPO_ROOT / "plugins")}
    assert not checkout & set(result["sys_path"]), result["sys_path"]
