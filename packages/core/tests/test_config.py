from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import textwrap

import pytest

from asgi_lifecycle import ConfigurationError, Settings, discover, load_settings
from asgi_lifecycle._config import _reset_discovery

TIMEOUT = 60


def write_project(root: pathlib.Path, table: str, **files: str) -> pathlib.Path:
    (root / "pyproject.toml").write_text(
        '[project]\nname = "demo"\n\n' + textwrap.dedent(table), encoding="utf-8"
    )
    for name, text in files.items():
        (root / f"{name}.py").write_text(textwrap.dedent(text), encoding="utf-8")
    return root


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASGI_LIFECYCLE_")}
    env.update(extra)
    return env


@pytest.fixture
def project(tmp_path: pathlib.Path) -> pathlib.Path:
    return write_project(
        tmp_path,
        """
        [tool.asgi-lifecycle]
        modules = ["hooks"]
        service_type = "api"
        environment = "staging"
        timeout = 5
        concurrent = true
        [tool.asgi-lifecycle.config]
        db = { url = "sqlite://" }
        [tool.asgi-lifecycle.service.worker]
        timeout = 9
        config = { queue = "q" }
        """,
    )


def test_defaults_without_any_configuration(tmp_path: pathlib.Path) -> None:
    """With no file and no variable every key has its default and nothing counts as configured."""
    settings = load_settings(tmp_path, env={})
    assert settings == Settings(origins=settings.origins)
    assert settings.source is None
    assert not settings.configured
    assert set(settings.origins.values()) == {"default"}


def test_file_is_found_walking_up(project: pathlib.Path) -> None:
    """The nearest pyproject.toml with a [tool.asgi-lifecycle] table is read from a subfolder."""
    inner = project / "src" / "pkg"
    inner.mkdir(parents=True)
    (project / "src" / "pyproject.toml").write_text('[project]\nname = "other"\n')
    settings = load_settings(inner, env={})
    assert settings.source == str(project / "pyproject.toml")
    assert settings.modules == ("hooks",)
    assert settings.service_type == "api"
    assert settings.environment == "staging"
    assert settings.timeout == 5.0
    assert settings.concurrent is True
    assert settings.config == {"db": {"url": "sqlite://"}}
    assert settings.configured


def test_config_variable_names_the_file(
    project: pathlib.Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """ASGI_LIFECYCLE_CONFIG names the file to read instead of the search."""
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    path = str(project / "pyproject.toml")
    settings = load_settings(elsewhere, env={"ASGI_LIFECYCLE_CONFIG": path})
    assert settings.source == path
    assert settings.service_type == "api"


@pytest.mark.parametrize(
    ("key", "file_value", "env", "argument", "expected", "origin"),
    [
        ("service_type", "api", {}, None, "api", "file"),
        ("service_type", "api", {"ASGI_LIFECYCLE_SERVICE_TYPE": "web"}, None, "web", "env"),
        ("service_type", "api", {"ASGI_LIFECYCLE_SERVICE_TYPE": "web"}, "cli", "cli", "argument"),
        ("environment", "staging", {"ASGI_LIFECYCLE_ENV": "production"}, None, "production", "env"),
        ("environment", "staging", {}, "test", "test", "argument"),
        ("timeout", 5.0, {"ASGI_LIFECYCLE_TIMEOUT": "2.5"}, None, 2.5, "env"),
        ("timeout", 5.0, {"ASGI_LIFECYCLE_TIMEOUT": "none"}, None, None, "env"),
        ("timeout", 5.0, {}, 1, 1.0, "argument"),
        ("concurrent", True, {"ASGI_LIFECYCLE_CONCURRENT": "off"}, None, False, "env"),
        ("modules", ("hooks",), {"ASGI_LIFECYCLE_MODULES": "a.b, c"}, None, ("a.b", "c"), "env"),
        ("modules", ("hooks",), {}, ["x"], ("x",), "argument"),
        ("shutdown_timeout", 30.0, {"ASGI_LIFECYCLE_SHUTDOWN_TIMEOUT": "4"}, None, 4.0, "env"),
    ],
)
def test_precedence(
    project: pathlib.Path,
    key: str,
    file_value: object,
    env: dict[str, str],
    argument: object,
    expected: object,
    origin: str,
) -> None:
    """An explicit argument wins over the variable, which wins over the file."""
    settings = load_settings(project, env=env, **{key: argument})
    assert getattr(settings, key) == expected
    where = {
        "file": str(project / "pyproject.toml"),
        "argument": "argument",
        "env": f"${next(iter(env), '')}",
    }[origin]
    assert settings.origins[key] == where


def test_default_applies_when_nothing_sets_a_key(project: pathlib.Path) -> None:
    """A key that neither the file, a variable nor an argument sets keeps its default."""
    settings = load_settings(project, env={})
    assert settings.shutdown_timeout == 30.0
    assert settings.origins["shutdown_timeout"] == "default"


def test_service_type_table_overrides(project: pathlib.Path) -> None:
    """[tool.asgi-lifecycle.service.<type>] replaces the budgets and merges the config."""
    settings = load_settings(project, env={}).for_service("worker")
    assert settings.service_type == "worker"
    assert settings.timeout == 9.0
    assert settings.config == {"db": {"url": "sqlite://"}, "queue": "q"}
    context = load_settings(project, env={}).context("worker")
    assert context.get_config("queue") == "q"
    assert context.environment == "staging"


def test_unknown_key_names_file_key_and_close_match(tmp_path: pathlib.Path) -> None:
    """An unknown key is refused with the file, the key and the closest known key."""
    write_project(tmp_path, '[tool.asgi-lifecycle]\nmodles = ["hooks"]\n')
    with pytest.raises(ConfigurationError) as caught:
        load_settings(tmp_path, env={})
    message = str(caught.value)
    assert str(tmp_path / "pyproject.toml") in message
    assert "unknown key 'modles'" in message
    assert "did you mean 'modules'?" in message


def test_unknown_key_in_a_service_table(tmp_path: pathlib.Path) -> None:
    """An unknown key of a service table names that table and the close match."""
    write_project(tmp_path, "[tool.asgi-lifecycle.service.worker]\ntimout = 3\n")
    with pytest.raises(ConfigurationError, match=r"service\.worker\] has an unknown key 'timout'"):
        load_settings(tmp_path, env={})
    with pytest.raises(ConfigurationError, match="did you mean 'timeout'"):
        load_settings(tmp_path, env={})


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('modules = "hooks"', "key 'modules' must be a list of module names"),
        ("modules = ['not a module']", "key 'modules' must be a list of module names"),
        ("timeout = -1", "key 'timeout' must be a number of seconds above 0"),
        ('timeout = "5"', "key 'timeout' must be a number of seconds above 0"),
        ('concurrent = "yes"', "key 'concurrent' must be true or false, got 'yes'"),
        ("service_type = 3", "key 'service_type' must be a non-empty string, got 3"),
        ('config = "x"', "key 'config' must be a table"),
    ],
)
def test_wrong_type_names_file_and_key(tmp_path: pathlib.Path, line: str, expected: str) -> None:
    """A value of the wrong type is refused, naming the file, the key and what it must be."""
    write_project(tmp_path, f"[tool.asgi-lifecycle]\n{line}\n")
    with pytest.raises(ConfigurationError) as caught:
        load_settings(tmp_path, env={})
    assert str(tmp_path / "pyproject.toml") in str(caught.value)
    assert expected in str(caught.value)


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("ASGI_LIFECYCLE_TIMEOUT", "soon", "$ASGI_LIFECYCLE_TIMEOUT='soon' must be a number"),
        ("ASGI_LIFECYCLE_STARTUP_TIMEOUT", "0", "$ASGI_LIFECYCLE_STARTUP_TIMEOUT='0' must be"),
        ("ASGI_LIFECYCLE_CONCURRENT", "maybe", "$ASGI_LIFECYCLE_CONCURRENT='maybe' must be one"),
        ("ASGI_LIFECYCLE_MODULES", "a,b-c", "'b-c' is not a module name"),
        ("ASGI_LIFECYCLE_CONFIG", "missing.toml", "$ASGI_LIFECYCLE_CONFIG='missing.toml': no such"),
    ],
)
def test_variable_that_does_not_parse(
    tmp_path: pathlib.Path, variable: str, value: str, expected: str
) -> None:
    """A variable that does not parse is refused, naming the variable and its value."""
    with pytest.raises(ConfigurationError) as caught:
        load_settings(tmp_path, env={variable: value})
    assert expected in str(caught.value)


def test_every_problem_is_listed(tmp_path: pathlib.Path) -> None:
    """Several mistakes are reported together, one line each."""
    write_project(tmp_path, "[tool.asgi-lifecycle]\ntimeout = 0\nconcurent = true\n")
    with pytest.raises(ConfigurationError) as caught:
        load_settings(tmp_path, env={"ASGI_LIFECYCLE_CONCURRENT": "2"})
    assert len(caught.value.problems) == 3
    assert str(caught.value).startswith("3 configuration problems:")


def test_invalid_toml_names_the_file(tmp_path: pathlib.Path) -> None:
    """A pyproject.toml that is not TOML is named in the error."""
    (tmp_path / "pyproject.toml").write_text("[tool.asgi-lifecycle\nmodules = [")
    with pytest.raises(ConfigurationError, match="cannot be read as TOML"):
        load_settings(tmp_path, env={})


def test_unknown_argument_is_refused(tmp_path: pathlib.Path) -> None:
    """An explicit argument that is not a key is refused with the close match."""
    with pytest.raises(ConfigurationError, match=r"unknown argument 'servce_type'.*'service_type'"):
        load_settings(tmp_path, env={}, servce_type="x")


def test_discover_imports_modules_once_and_names_missing_ones(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Configured modules are imported once; a missing or broken one is named with its fix."""
    write_project(
        tmp_path,
        '[tool.asgi-lifecycle]\nmodules = ["cfg_hooks_ok"]\n',
        cfg_hooks_ok=(
            "import builtins\nbuiltins.cfg_imports = getattr(builtins, 'cfg_imports', 0) + 1\n"
        ),
        cfg_hooks_broken="raise RuntimeError('no database url')\n",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    _reset_discovery()
    import builtins

    settings = load_settings(tmp_path, env={})
    assert discover(settings) == ("cfg_hooks_ok",)
    assert discover(settings) == ()
    assert builtins.cfg_imports == 1  # type: ignore[attr-defined]
    del builtins.cfg_imports  # type: ignore[attr-defined]
    bad = load_settings(tmp_path, env={}, modules=["cfg_hooks_missing", "cfg_hooks_broken"])
    with pytest.raises(ConfigurationError) as caught:
        discover(bad)
    missing, broken = caught.value.problems
    assert "'cfg_hooks_missing' (modules in an argument) was not found" in missing
    assert "check the spelling" in missing
    assert "raised RuntimeError while being imported at " in broken
    assert "cfg_hooks_broken.py:1: no database url" in broken
    sys.modules.pop("cfg_hooks_ok", None)
    _reset_discovery()


ENTRY_POINT_PROGRAM = """
import asyncio, json
from asgi_lifecycle import LifespanContext, lifespan

async def main():
    async with lifespan.run(LifespanContext()) as context:
        print(json.dumps({"service_type": context.service_type,
                          "environment": context.environment,
                          "config": dict(context.config),
                          "timeout": lifespan.timeout,
                          "hooks": [h.name for h in lifespan.hooks],
                          "state": sorted(context.state)}))

asyncio.run(main())
"""


def make_distribution(site: pathlib.Path, name: str, module: str, body: str) -> None:
    """A real installed distribution: a module and a .dist-info with an entry point."""
    (site / f"{module}.py").write_text(textwrap.dedent(body), encoding="utf-8")
    info = site / f"{name}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[asgi_lifecycle.modules]\n{name} = {module}\n")


def run_program(
    cwd: pathlib.Path, site: pathlib.Path | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    environ = clean_env(**env)
    if site is not None:
        environ["PYTHONPATH"] = os.pathsep.join(
            [str(site), *filter(None, [os.environ.get("PYTHONPATH")])]
        )
    return subprocess.run(
        [sys.executable, "-c", ENTRY_POINT_PROGRAM],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )


def test_process_wide_lifespan_is_configured_by_the_file_alone(
    tmp_path: pathlib.Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The process-wide lifespan imports the modules and entry points and applies the rest."""
    write_project(
        tmp_path,
        """
        [tool.asgi-lifecycle]
        modules = ["app_hooks"]
        service_type = "api"
        timeout = 7
        config = { greeting = "hi" }
        """,
        app_hooks="""
        from asgi_lifecycle import lifespan

        @lifespan.resource
        def app_pool(ctx):
            yield ctx.get_config("greeting")
        """,
    )
    site = tmp_path_factory.mktemp("site")
    make_distribution(
        site,
        "zz-tracing",
        "zz_tracing_hooks",
        """
        from asgi_lifecycle import lifespan

        @lifespan.resource(priority=-10)
        def tracer():
            yield "tracer"
        """,
    )
    make_distribution(
        site,
        "aa-pool",
        "aa_pool_hooks",
        """
        from asgi_lifecycle import lifespan

        @lifespan.on_start
        def aa_pool():
            pass
        """,
    )
    done = run_program(tmp_path, site)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["service_type"] == "api"
    assert result["environment"] == "development"
    assert result["config"] == {"greeting": "hi"}
    assert result["timeout"] == 7.0
    # The configured modules first, then the entry points sorted by name.
    assert result["hooks"] == [
        "app_hooks.app_pool",
        "aa_pool_hooks.aa_pool",
        "zz_tracing_hooks.tracer",
    ]
    assert result["state"] == ["app_pool", "tracer"]

    off = run_program(tmp_path, site, ASGI_LIFECYCLE_ENTRY_POINTS="0", ASGI_LIFECYCLE_ENV="prod")
    assert off.returncode == 0, off.stderr
    assert json.loads(off.stdout)["hooks"] == ["app_hooks.app_pool"]
    assert json.loads(off.stdout)["environment"] == "prod"


def test_broken_entry_point_fails_startup_naming_the_distribution(
    tmp_path: pathlib.Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """An entry point that fails to import fails the startup at once, naming its distribution."""
    write_project(tmp_path, "[tool.asgi-lifecycle]\n")
    site = tmp_path_factory.mktemp("site")
    make_distribution(site, "bad-lib", "bad_lib_hooks", "import not_installed_anywhere\n")
    done = run_program(tmp_path, site)
    assert done.returncode == 1
    assert "ConfigurationError" in done.stderr
    assert "entry point 'bad-lib' of bad-lib" in done.stderr
    assert "imports 'not_installed_anywhere', which is not installed" in done.stderr


def test_nothing_is_discovered_without_configuration(
    tmp_path: pathlib.Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Without a [tool.asgi-lifecycle] table or variable, installed entry points are left alone."""
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "plain"\n')
    site = tmp_path_factory.mktemp("site")
    make_distribution(site, "bad-lib", "bad_lib_hooks", "raise SystemExit('imported')\n")
    done = run_program(tmp_path, site)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["hooks"] == []


def test_code_configuration_wins_over_the_file(tmp_path: pathlib.Path) -> None:
    """lifespan.configure() in code wins over the file's budgets; the file fills the rest."""
    write_project(
        tmp_path,
        "[tool.asgi-lifecycle]\ntimeout = 7\nstartup_timeout = 11\n",
        main="""
        import asyncio
        from asgi_lifecycle import LifespanContext, lifespan

        lifespan.configure(timeout=2)

        async def main():
            async with lifespan.run(LifespanContext()):
                print(lifespan.timeout, lifespan.startup_timeout)

        asyncio.run(main())
        """,
    )
    done = subprocess.run(
        [sys.executable, "main.py"],
        cwd=tmp_path,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["2.0", "11.0"]


def test_import_does_not_load_the_configuration_machinery() -> None:
    """Importing asgi_lifecycle loads neither tomllib nor importlib.metadata."""
    probe = (
        "import sys; before = set(sys.modules); import asgi_lifecycle; "
        "print(sorted({'tomllib', 'importlib.metadata'} & (set(sys.modules) - before)))"
    )
    done = subprocess.run(
        [sys.executable, "-S", "-c", probe],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=clean_env(PYTHONPATH=os.pathsep.join(sys.path)),
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
