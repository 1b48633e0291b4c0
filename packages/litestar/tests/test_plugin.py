"""The plugin in process: hooks, state, injection, order beside other lifespans, failures."""

from __future__ import annotations

import contextlib
import logging
import sys
import types
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from litestar import Litestar, WebSocket, get, websocket
from litestar.config.app import AppConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.exceptions import ImproperlyConfiguredException
from litestar.plugins import InitPluginProtocol
from litestar.testing import TestClient

from asgi_lifecycle import LifecycleError, Lifespan, LifespanContext, StartupFailed
from asgi_lifecycle_litestar import LifecycleContext, LifecyclePlugin, LifespanClient, get_context

AppFactory = Callable[..., Litestar]


class RecordingPlugin(InitPluginProtocol):
    """Another init plugin with a lifespan of its own, the way Litestar's plugins add one."""

    def __init__(self, name: str, events: list[str], fail: bool = False) -> None:
        self.name = name
        self.events = events
        self.fail = fail

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        @contextlib.asynccontextmanager
        async def lifespan(app: Litestar) -> AsyncIterator[None]:
            seen = "database" in app.state
            self.events.append(f"{self.name} up (sees database: {seen})")
            if self.fail:
                raise RuntimeError(f"{self.name} cannot start")
            try:
                yield
            finally:
                self.events.append(f"{self.name} down")

        app_config.lifespan.append(lifespan)
        return app_config


def error_of_test_client(app: Litestar) -> BaseException:
    """Run the app in Litestar's own TestClient; return what it raised, out of its groups."""
    try:
        with TestClient(app):
            pass
    except BaseException as error:
        while isinstance(error, BaseExceptionGroup) and len(error.exceptions) == 1:
            error = error.exceptions[0]
        return error
    pytest.fail("Litestar's TestClient raised nothing")


def test_hooks_run_and_state_reaches_handlers(
    hooks: Lifespan, make_app: AppFactory, events: list[str]
) -> None:
    """Hooks start before the first request, the handler sees state and context, then they stop."""
    app = make_app(environment="staging", config={"feature": True})
    with LifespanClient(app) as client:
        assert events == ["database up", "hooks up (api)"]
        body = client.get("/state").json()
        assert body == {
            "state": {"database": {"dsn": "sqlite://"}},
            "service_type": "api",
            "environment": "staging",
            "config": {"feature": True},
            "same_objects": True,
        }
        assert app.state["database"] == {"dsn": "sqlite://"}
    assert events[2:] == ["hooks down", "database down"]
    assert "database" not in app.state


@pytest.mark.anyio
async def test_async_client_runs_the_lifespan(
    hooks: Lifespan, make_app: AppFactory, events: list[str]
) -> None:
    """The async form gives Litestar's AsyncTestClient with the hooks started."""
    app = make_app()
    lifespan_client = LifespanClient(app)
    async with lifespan_client as client:
        assert (await client.get("/state")).json()["state"] == {"database": {"dsn": "sqlite://"}}
        assert lifespan_client.state == {"database": {"dsn": "sqlite://"}}
        assert lifespan_client.context.service_type == "api"
    assert events == ["database up", "hooks up (api)", "hooks down", "database down"]


def test_litestar_test_client_alone_runs_the_hooks(
    hooks: Lifespan, make_app: AppFactory, events: list[str]
) -> None:
    """Litestar's own TestClient runs the hooks too: the plugin needs no helper."""
    app = make_app()
    with TestClient(app) as client:
        assert client.get("/state").json()["state"] == {"database": {"dsn": "sqlite://"}}
        assert get_context(app).state == {"database": {"dsn": "sqlite://"}}
    assert events == ["database up", "hooks up (api)", "hooks down", "database down"]


def test_the_app_restarts_cleanly(hooks: Lifespan, make_app: AppFactory, events: list[str]) -> None:
    """A second start of the same app runs the hooks again and publishes fresh state."""
    app = make_app()
    for _ in range(2):
        with LifespanClient(app) as client:
            assert client.get("/state").status_code == 200
    assert events == ["database up", "hooks up (api)", "hooks down", "database down"] * 2


# Litestar's event emitter leaks a memory stream when one app's lifespan is entered twice at
# once, plugin or not; anyio reports it as a ResourceWarning when the stream is collected.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_an_app_started_twice_at_once_runs_its_hooks_once(
    hooks: Lifespan, make_app: AppFactory, events: list[str]
) -> None:
    """Two clients of one app share one run, and its state stays until the last one stops."""
    app = make_app()
    with LifespanClient(app), LifespanClient(app) as inner:
        assert inner.get("/state").json()["state"] == {"database": {"dsn": "sqlite://"}}
    assert events == ["database up", "hooks up (api)", "hooks down", "database down"]
    with LifespanClient(app) as outer:
        with LifespanClient(app):
            pass
        assert outer.get("/state").json()["state"] == {"database": {"dsn": "sqlite://"}}
        assert "database" in app.state
    assert "database" not in app.state


def test_one_plugin_serves_several_apps(hooks: Lifespan, events: list[str]) -> None:
    """A plugin object shared by an app factory gives every app its own lifespan and state."""
    plugin = LifecyclePlugin(service_type="api", lifespan=hooks)

    def create_app() -> Litestar:
        return Litestar(route_handlers=[show_items], plugins=[plugin], logging_config=None)

    first, second = create_app(), create_app()
    with LifespanClient(first) as one:
        assert one.get("/items").json() == {"database": {"dsn": "sqlite://"}}
        with LifespanClient(second) as two:
            assert two.get("/items").json() == {"database": {"dsn": "sqlite://"}}
        assert "database" not in second.state
        assert one.get("/items").json() == {"database": {"dsn": "sqlite://"}}
    assert events == ["database up", "hooks up (api)", "hooks down", "database down"]


@get("/items", sync_to_thread=False)
def show_items(state: State) -> dict[str, Any]:
    """Report the published database."""
    return {"database": state.get("database")}


def test_plugin_is_added_beside_other_lifespans_in_order(
    hooks: Lifespan, make_app: AppFactory, events: list[str]
) -> None:
    """Lifespans listed before the plugin start before the hooks, those after it see the state."""

    @contextlib.asynccontextmanager
    async def own_lifespan(app: Litestar) -> AsyncIterator[None]:
        events.append("app lifespan up")
        yield
        events.append("app lifespan down")

    def on_startup(app: Litestar) -> None:
        events.append(f"on_startup (sees database: {'database' in app.state})")

    def on_shutdown() -> None:
        events.append("on_shutdown")

    own = [own_lifespan]
    app = make_app(
        app={"lifespan": own, "on_startup": [on_startup], "on_shutdown": [on_shutdown]},
        plugins=([RecordingPlugin("before", events)], [RecordingPlugin("after", events)]),
    )
    assert own == [own_lifespan], "the list the app was given is left as it was"
    with LifespanClient(app):
        pass
    assert events == [
        "app lifespan up",
        "before up (sees database: False)",
        "database up",
        "hooks up (api)",
        "after up (sees database: True)",
        "on_startup (sees database: True)",
        "after down",
        "hooks down",
        "database down",
        "before down",
        "app lifespan down",
        "on_shutdown",
    ]


def test_teardown_does_not_use_on_shutdown(hooks: Lifespan, make_app: AppFactory) -> None:
    """The plugin adds one lifespan manager and no on_startup or on_shutdown hook."""
    plain = Litestar(logging_config=None)
    app = make_app()
    assert app.on_startup == plain.on_startup == []
    assert app.on_shutdown == plain.on_shutdown == []


def test_critical_failure_refuses_to_start_and_rolls_back(
    hooks: Lifespan,
    make_app: AppFactory,
    events: list[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A failing critical hook stops the startup, undoes what started, logs its name and error."""

    @hooks.on_start(name="connect_broker")
    def connect_broker() -> None:
        raise ConnectionError("broker unreachable")

    app = make_app()
    caplog.set_level(logging.ERROR, logger="asgi_lifecycle")
    with pytest.raises(StartupFailed) as caught, LifespanClient(app):
        pytest.fail("the app must not start")
    assert caught.value.hook == "connect_broker"
    assert isinstance(caught.value.error, ConnectionError)
    assert events == ["database up", "hooks up (api)", "hooks down", "database down"]
    assert "database" not in app.state
    logged = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert any("connect_broker" in m and "broker unreachable" in m for m in logged), logged


def test_litestar_on_shutdown_does_not_repeat_the_rollback(
    hooks: Lifespan, make_app: AppFactory, events: list[str]
) -> None:
    """After a failed startup the shutdown hooks run once, in the rollback, despite on_shutdown."""

    @hooks.on_start(name="explode")
    def explode() -> None:
        raise RuntimeError("boom")

    app = make_app(app={"on_shutdown": [lambda: events.append("litestar on_shutdown")]})
    with pytest.raises(StartupFailed), LifespanClient(app):
        pass
    assert events.count("hooks down") == 1
    assert events.count("database down") == 1


def test_plain_test_client_surfaces_the_startup_failure(
    hooks: Lifespan, make_app: AppFactory
) -> None:
    """Litestar's TestClient raises the StartupFailed too, possibly inside an exception group."""

    @hooks.on_start(name="explode")
    def explode() -> None:
        raise RuntimeError("boom")

    assert isinstance(error_of_test_client(make_app()), StartupFailed)


def test_a_later_lifespan_failing_rolls_the_hooks_back(
    hooks: Lifespan, make_app: AppFactory, events: list[str]
) -> None:
    """When a lifespan after the plugin fails to start, the hooks stop and the state is removed."""
    app = make_app(plugins=([], [RecordingPlugin("after", events, fail=True)]))
    error = error_of_test_client(app)
    assert isinstance(error, RuntimeError)
    assert str(error) == "after cannot start"
    assert events == [
        "database up",
        "hooks up (api)",
        "after up (sees database: True)",
        "hooks down",
        "database down",
    ]
    assert "database" not in app.state


def test_non_critical_failure_is_isolated(
    hooks: Lifespan, make_app: AppFactory, events: list[str]
) -> None:
    """A failing non-critical hook is reported and the app serves anyway."""

    @hooks.on_start(name="metrics", critical=False)
    def metrics() -> None:
        raise RuntimeError("statsd down")

    with LifespanClient(make_app()) as client:
        assert client.get("/state").status_code == 200
    assert events == ["database up", "hooks up (api)", "hooks down", "database down"]


def test_state_key_taken_in_app_state_is_refused(
    hooks: Lifespan, make_app: AppFactory, events: list[str]
) -> None:
    """A published key that app.state already holds fails the startup, naming the key."""
    app = make_app(app={"state": State({"database": "the app's own"})})
    with (
        pytest.raises(LifecycleError, match=r"'database'.*app.state already holds"),
        LifespanClient(app),
    ):
        pass
    assert app.state["database"] == "the app's own"
    assert events == ["database up", "hooks up (api)", "hooks down", "database down"]


def test_shutdown_failure_is_reported_after_every_hook_ran(
    hooks: Lifespan, make_app: AppFactory, events: list[str]
) -> None:
    """A failing shutdown hook is raised once every other hook ran, naming it and its error."""

    @hooks.on_shutdown(name="flush")
    def flush() -> None:
        raise RuntimeError("disk full")

    app = make_app()
    with (
        pytest.raises(LifecycleError, match=r"flush stop failed: RuntimeError: disk full"),
        LifespanClient(app),
    ):
        pass
    assert events[-2:] == ["hooks down", "database down"]
    assert "database" not in app.state
    error = error_of_test_client(app)
    assert isinstance(error, LifecycleError)
    assert "disk full" in str(error)
    with pytest.raises(KeyError, match="the test's own"), LifespanClient(app):
        raise KeyError("the test's own")


def test_context_is_injected_under_another_key(hooks: Lifespan, make_app: AppFactory) -> None:
    """dependency_key names the injected parameter."""

    @get("/ctx", sync_to_thread=False)
    def ctx(lifespan_ctx: LifecycleContext) -> str:
        return lifespan_ctx.service_type

    app = make_app(dependency_key="lifespan_ctx", app={"route_handlers": [ctx]})
    with LifespanClient(app) as client:
        assert client.get("/ctx").text == "api"


def test_no_dependency_when_the_key_is_none(hooks: Lifespan, make_app: AppFactory) -> None:
    """dependency_key=None adds no dependency, and the state is still published."""
    app = make_app(dependency_key=None, app={"route_handlers": [show_items]})
    assert "lifecycle_context" not in app.dependencies
    with LifespanClient(app) as client:
        assert client.get("/items").json() == {"database": {"dsn": "sqlite://"}}


def test_websocket_handlers_get_the_context(hooks: Lifespan, make_app: AppFactory) -> None:
    """A websocket handler receives the context by injection too."""

    @websocket("/ws")
    async def ws(socket: WebSocket[Any, Any, Any], lifecycle_context: LifecycleContext) -> None:
        await socket.accept()
        await socket.send_json({"keys": sorted(lifecycle_context.state)})
        await socket.close()

    with (
        LifespanClient(make_app(app={"route_handlers": [ws]})) as client,
        client.websocket_connect("/ws") as session,
    ):
        assert session.receive_json() == {"keys": ["database"]}


def test_annotation_names_resolve_without_a_runtime_import(
    hooks: Lifespan, make_app: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A handler may import LifecycleContext for type checking only: Litestar still resolves it."""
    module = types.ModuleType("handlers_importing_for_type_checking_only")
    monkeypatch.setitem(sys.modules, module.__name__, module)
    exec(
        "def handler(lifecycle_context: 'LifecycleContext') -> str:\n"
        "    return lifecycle_context.environment\n",
        module.__dict__,
    )
    route = get("/env", sync_to_thread=False)(module.handler)
    with LifespanClient(make_app(environment="ci", app={"route_handlers": [route]})) as client:
        assert client.get("/env").text == "ci"


def test_injection_outside_a_running_lifespan_explains_itself(
    hooks: Lifespan, make_app: AppFactory
) -> None:
    """A request served without the lifespan gets an error saying how to run it."""
    client = TestClient(make_app(app={"debug": True}))
    response = client.get("/state")
    assert response.status_code == 500
    assert "lifespan of this Litestar app is not running" in response.text
    with pytest.raises(LifecycleError, match="not running"):
        get_context(client.app)


def test_app_dependency_of_the_same_name_is_refused(make_app: AppFactory) -> None:
    """An app that already has a dependency named like the plugin's key is refused at creation."""
    with pytest.raises(ImproperlyConfiguredException, match="dependency_key='lifecycle_context'"):
        make_app(
            app={"dependencies": {"lifecycle_context": Provide(lambda: 1, sync_to_thread=False)}}
        )


def test_two_plugins_need_two_keys(registry: Lifespan) -> None:
    """Two plugins in one app with one dependency key are refused; distinct keys work."""
    with pytest.raises(ImproperlyConfiguredException, match="another plugin"):
        Litestar(
            plugins=[
                LifecyclePlugin(service_type="api", lifespan=registry),
                LifecyclePlugin(service_type="jobs", lifespan=registry),
            ],
            logging_config=None,
        )
    app = Litestar(
        plugins=[
            LifecyclePlugin(service_type="api", lifespan=registry),
            LifecyclePlugin(service_type="jobs", lifespan=registry, dependency_key="jobs"),
        ],
        logging_config=None,
    )
    with LifespanClient(app):
        with pytest.raises(LifecycleError, match="pass service_type="):
            get_context(app)
        assert get_context(app, service_type="jobs").service_type == "jobs"


@pytest.mark.parametrize(
    ("options", "error", "names"),
    [
        ({"service_type": ""}, TypeError, "service_type"),
        ({"environment": 5}, TypeError, "environment"),
        ({"config": [("a", 1)]}, TypeError, "config"),
        ({"lifespan": object()}, TypeError, "lifespan"),
        ({"concurrent": "yes"}, TypeError, "concurrent"),
        ({"sync_runner": 5}, TypeError, "sync_runner"),
        ({"dependency_key": "not valid"}, ImproperlyConfiguredException, "dependency_key"),
        ({"dependency_key": "state"}, ImproperlyConfiguredException, "reserves"),
    ],
)
def test_bad_settings_are_refused_by_name(
    options: dict[str, Any], error: type[Exception], names: str
) -> None:
    """A wrong setting raises at once, naming the setting."""
    with pytest.raises(error, match=names):
        LifecyclePlugin(**options)


def test_sync_runner_and_concurrency_are_passed_on(registry: Lifespan) -> None:
    """The plugin runs sync hooks with the sync_runner it was given."""
    ran: list[str] = []

    async def inline(call: Callable[[], Any]) -> Any:
        ran.append("inline")
        return call()

    registry.add_start_hook(lambda: None, name="sync")
    plugin = LifecyclePlugin(lifespan=registry, sync_runner=inline, concurrent=True)
    with LifespanClient(Litestar(plugins=[plugin], logging_config=None)):
        assert ran == ["inline"]


def test_get_context_and_client_need_the_plugin(registry: Lifespan) -> None:
    """get_context and LifespanClient refuse an app without the plugin, saying how to add it."""
    app = Litestar(logging_config=None)
    with pytest.raises(LifecycleError, match="no LifecyclePlugin"):
        get_context(app)
    with pytest.raises(LifecycleError, match="plugins=\\[LifecyclePlugin"):
        LifespanClient(app)
    plugin = LifecyclePlugin(lifespan=registry)
    client = LifespanClient(Litestar(plugins=[plugin], logging_config=None))
    with pytest.raises(LifecycleError, match="inside its with block"):
        _ = client.context


def test_context_is_a_lifespan_context(hooks: Lifespan, make_app: AppFactory) -> None:
    """The injected object and get_context's are the run's LifespanContext."""
    app = make_app()
    with LifespanClient(app) as client:
        context = get_context(app)
        assert isinstance(context, LifespanContext)
        assert client.get("/state").json()["service_type"] == context.service_type
