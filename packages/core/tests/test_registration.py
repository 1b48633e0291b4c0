from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from asgi_lifecycle import HookRegistrationError, Lifespan, LifespanContext, ServiceType

HERE = __file__


def test_decorators_return_the_function_unchanged(lp: Lifespan) -> None:
    """Every decorator form returns the very function it decorates."""

    async def a() -> None: ...
    def b(ctx: LifespanContext) -> None: ...
    async def c() -> AsyncIterator[None]:
        yield

    assert lp.on_start(a) is a
    assert lp.on_shutdown(priority=2)(b) is b
    assert lp.resource(name="c")(c) is c
    assert [h.kind for h in lp.hooks] == ["start", "shutdown", "resource"]


def test_add_calls_register_like_the_decorators(lp: Lifespan) -> None:
    """add_start_hook, add_shutdown_hook and add_resource take the decorators' options."""

    def a() -> None: ...
    def b() -> None: ...
    def c() -> Iterator[int]:
        yield 1

    lp.add_start_hook(a, priority=3, service_types="worker")
    lp.add_shutdown_hook(b, environments=["prod"])
    lp.add_resource(c, key="thing", timeout=2)
    a_hook, b_hook, c_hook = lp.hooks
    assert (a_hook.priority, a_hook.service_types) == (3, frozenset({"worker"}))
    assert b_hook.environments == frozenset({"prod"})
    assert (c_hook.key, c_hook.timeout) == ("thing", 2.0)


def test_default_name_is_module_and_qualname(lp: Lifespan) -> None:
    """A hook's name defaults to module.qualname and its source to file:line."""

    def hook() -> None: ...

    lp.on_start(hook)
    (registered,) = lp.hooks
    assert registered.name == f"{__name__}.{hook.__qualname__}"
    assert registered.source == f"{HERE}:{hook.__code__.co_firstlineno}"


def test_service_types_string_is_one_type(lp: Lifespan) -> None:
    """service_types='app' means the one type 'app', not the letters a and p."""

    def hook() -> None: ...

    lp.on_start(service_types="app")(hook)
    assert lp.hooks[0].service_types == frozenset({"app"})
    assert lp.plan("app") == lp.hooks
    assert lp.plan("a") == ()


def test_service_type_enum_members_are_strings(lp: Lifespan) -> None:
    """ServiceType members filter exactly like their string values."""

    def hook() -> None: ...

    lp.on_start(service_types=[ServiceType.WORKER])(hook)
    assert lp.plan("worker") == lp.hooks
    assert ServiceType("scheduler") is ServiceType.SCHEDULER
    assert f"{ServiceType.SCHEDULER}" == "scheduler"


def test_same_function_same_way_is_a_no_op(lp: Lifespan) -> None:
    """Registering the same function again in the same way changes nothing."""

    def hook() -> None: ...

    lp.on_start(priority=1)(hook)
    lp.on_start(priority=1)(hook)
    assert len(lp.hooks) == 1


def test_same_function_other_options_is_an_error(lp: Lifespan) -> None:
    """Registering one function twice with different options is refused, naming it."""

    def hook() -> None: ...

    lp.on_start(priority=1)(hook)
    with pytest.raises(HookRegistrationError, match="already registered with other options"):
        lp.on_start(priority=2)(hook)
    assert len(lp.hooks) == 1


def test_two_functions_one_name_is_an_error_naming_both(lp: Lifespan) -> None:
    """Two different functions with one name are refused; the error shows both places."""

    def first() -> None: ...
    def second() -> None: ...

    lp.on_start(name="db")(first)
    with pytest.raises(HookRegistrationError) as caught:
        lp.on_shutdown(name="db")(second)
    message = str(caught.value)
    assert f":{first.__code__.co_firstlineno}" in message
    assert f":{second.__code__.co_firstlineno}" in message
    assert "name=" in message


def _line_of(func: Any) -> str:
    return f"{HERE}:{func.__code__.co_firstlineno}"


def two_args(a: object, b: object) -> None: ...
def keyword_only(*, flag: bool) -> None: ...
def plain() -> None: ...
async def coroutine_function() -> None: ...
def generator() -> Iterator[None]:
    yield


@pytest.mark.parametrize(
    ("register", "func", "fragment"),
    [
        (lambda lp, f: lp.on_start(f), two_args, "takes either no argument or one"),
        (lambda lp, f: lp.on_start(f), keyword_only, "keyword argument 'flag'"),
        (lambda lp, f: lp.resource(f), plain, "must be a generator function"),
        (lambda lp, f: lp.resource(f), coroutine_function, "must be a generator function"),
        (lambda lp, f: lp.on_start(f), generator, "register it with lifespan.resource()"),
        (lambda lp, f: lp.on_start(priority=1.5)(f), plain, "priority= must be an int"),
        (lambda lp, f: lp.on_start(priority=True)(f), plain, "priority= must be an int"),
        (lambda lp, f: lp.on_start(timeout=0)(f), plain, "more than 0 seconds"),
        (lambda lp, f: lp.on_start(timeout=-1)(f), plain, "more than 0 seconds"),
        (lambda lp, f: lp.on_start(timeout="5")(f), plain, "number of seconds"),
        (lambda lp, f: lp.on_start(critical="yes")(f), plain, "critical= must be True or False"),
        (lambda lp, f: lp.on_start(service_types=[])(f), plain, "service_types= is empty"),
        (lambda lp, f: lp.on_start(environments=())(f), plain, "environments= is empty"),
        (lambda lp, f: lp.on_start(service_types=5)(f), plain, "service_types= must be"),
        (lambda lp, f: lp.on_start(service_types=["app", 3])(f), plain, "non-empty strings"),
        (lambda lp, f: lp.on_start(after=[1])(f), plain, "after= must hold hook names"),
        (lambda lp, f: lp.on_start(name="")(f), plain, "name= must be a non-empty string"),
        (lambda lp, f: lp.resource(key="")(f), generator, "key= must be a non-empty string"),
    ],
)
def test_registration_mistakes_name_the_hook_and_its_place(
    lp: Lifespan, register: Any, func: Any, fragment: str
) -> None:
    """Each registration mistake raises HookRegistrationError naming hook, file and line."""
    with pytest.raises(HookRegistrationError) as caught:
        register(lp, func)
    message = str(caught.value)
    assert fragment in message
    assert func.__qualname__ in message
    assert _line_of(func) in message
    assert lp.hooks == ()


def test_a_non_callable_is_refused(lp: Lifespan) -> None:
    """Registering something that is not callable says what was given."""
    with pytest.raises(HookRegistrationError, match="needs a function, got 42"):
        lp.add_start_hook(42)  # type: ignore[arg-type]


def test_a_non_callable_names_the_method_called_and_the_caller(lp: Lifespan) -> None:
    """The error names the method actually called and the file:line of the call."""
    line = sys._getframe().f_lineno + 2
    with pytest.raises(HookRegistrationError) as caught:
        lp.add_resource("not a function")  # type: ignore[arg-type]
    message = str(caught.value)
    assert message.startswith("lifespan.add_resource() needs a function, got 'not a function'")
    assert f"{HERE}:{line}" in message
    with pytest.raises(HookRegistrationError, match=r"lifespan\.on_shutdown\(\) needs a function"):
        lp.on_shutdown(priority=1)(3.5)  # type: ignore[type-var]
    assert lp.hooks == ()


def test_a_hook_registered_after_its_run_started_is_warned_about(
    lp: Lifespan, caplog: pytest.LogCaptureFixture
) -> None:
    """A hook registered while its run is running is named in a warning: it will not run."""

    def late() -> None: ...
    def elsewhere() -> None: ...

    async def scenario() -> None:
        context = LifespanContext("app", "test")
        async with lp.run(context):
            lp.on_start(late)
            lp.on_start(service_types="worker")(elsewhere)

    import asyncio

    asyncio.run(scenario())
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, warnings
    assert repr(f"{__name__}.{late.__qualname__}") in warnings[0]
    assert "startup of 'app' (test) began" in warnings[0]
    assert "does not run in that run" in warnings[0]


def test_unknown_keyword_is_refused_with_a_suggestion(lp: Lifespan) -> None:
    """A misspelt option is refused at the decorator call and the right name is suggested."""
    with pytest.raises(TypeError, match="'priorty'; did you mean 'priority'"):
        lp.on_start(priorty=1)  # type: ignore[call-overload]
    with pytest.raises(TypeError, match="unexpected keyword argument 'critical'"):
        lp.on_shutdown(critical=False)  # type: ignore[call-overload]
    with pytest.raises(TypeError, match="unexpected keyword argument 'key'"):
        lp.add_start_hook(plain, key="x")
    assert lp.hooks == ()


def test_after_cycle_is_refused_when_it_closes(lp: Lifespan) -> None:
    """An after= cycle is refused at the registration that closes it, showing the cycle."""

    def a() -> None: ...
    def b() -> None: ...
    def c() -> None: ...

    lp.on_start(name="a", after="c")(a)
    lp.on_start(name="b", after="a")(b)
    with pytest.raises(HookRegistrationError, match="cycle: c -> b -> a -> c"):
        lp.on_start(name="c", after="b")(c)
    assert [h.name for h in lp.hooks] == ["a", "b"]


def test_after_naming_itself_is_refused(lp: Lifespan) -> None:
    """A hook cannot depend on itself."""
    with pytest.raises(HookRegistrationError, match="names the hook itself"):
        lp.on_start(name="a", after="a")(plain)


def test_after_naming_a_higher_phase_is_refused(lp: Lifespan) -> None:
    """Depending on a hook of a higher priority is a contradiction, refused either way round."""

    def a() -> None: ...
    def b() -> None: ...
    def c() -> None: ...

    lp.on_start(name="late", priority=5)(a)
    with pytest.raises(HookRegistrationError, match="higher priority 5"):
        lp.on_start(name="early", priority=1, after="late")(b)
    lp.on_start(name="waits", priority=1, after="later")(b)
    with pytest.raises(HookRegistrationError, match="higher priority 9"):
        lp.on_start(name="later", priority=9)(c)
    assert [h.name for h in lp.hooks] == ["late", "waits"]


def test_unknown_after_name_is_reported_at_plan_time(lp: Lifespan) -> None:
    """An after= name no hook has is an error when the run is planned, with a suggestion."""

    def a() -> None: ...
    def b() -> None: ...

    lp.on_start(name="database")(a)
    lp.on_start(name="cache", after="databse")(b)
    with pytest.raises(HookRegistrationError, match="did you mean 'database'"):
        lp.plan("app")


def test_two_resources_publishing_one_key_is_an_error(lp: Lifespan) -> None:
    """Two resources of one run publishing the same state key are refused, naming both."""

    def first() -> Iterator[int]:
        yield 1

    def second() -> Iterator[int]:
        yield 2

    lp.resource(key="db", service_types="app")(first)
    lp.resource(key="db", service_types="worker")(second)
    assert len(lp.plan("app")) == 1  # different services may reuse a key
    lp.reset_instance()
    lp.resource(key="db")(first)
    with pytest.raises(
        HookRegistrationError, match=r"both publish context.state\['db'\] wherever both run"
    ):
        lp.resource(key="db")(second)  # certain to clash: refused at registration
    assert [hook.func for hook in lp.hooks] == [first]


def test_keys_that_may_clash_are_refused_when_planned(lp: Lifespan) -> None:
    """Two default keys clash only when both publish; explicit keys of overlapping runs at once."""

    def first() -> Iterator[int]:
        yield 1

    lp.resource(key="db", service_types=["app", "worker"])(first)
    with pytest.raises(HookRegistrationError, match="for a service type both run in"):
        lp.add_resource(first, name="again", key="db", service_types="worker")
    lp.add_resource(first, name="elsewhere", key="db", environments="test", service_types="beat")
    assert len(lp.plan("app")) == 1


def test_context_manager_functions_are_resources(lp: Lifespan) -> None:
    """@contextmanager and @asynccontextmanager functions register as resources."""

    @contextlib.contextmanager
    def sync_cm() -> Iterator[int]:
        yield 1

    @contextlib.asynccontextmanager
    async def async_cm() -> AsyncIterator[int]:
        yield 2

    lp.resource(sync_cm)
    lp.resource(async_cm)
    assert [h.is_async for h in lp.hooks] == [False, True]


def test_callable_objects_are_hooks(lp: Lifespan) -> None:
    """An instance with an async __call__ is registered as an async hook."""

    class Hook:
        async def __call__(self, context: LifespanContext) -> None: ...

    lp.add_start_hook(Hook(), name="obj")
    (hook,) = lp.hooks
    assert hook.is_async
    assert hook.takes_context


def test_lifespan_options_are_checked(lp: Lifespan) -> None:
    """Lifespan() refuses budgets that are not positive numbers."""
    with pytest.raises(TypeError, match="startup_timeout"):
        Lifespan(startup_timeout=0)
    with pytest.raises(TypeError, match="concurrent"):
        Lifespan(concurrent="yes")  # type: ignore[arg-type]


def test_context_arguments_are_checked() -> None:
    """LifespanContext refuses a service type or config of the wrong kind."""
    with pytest.raises(TypeError, match="service_type"):
        LifespanContext("")
    with pytest.raises(TypeError, match="config"):
        LifespanContext("app", config=[1, 2])  # type: ignore[arg-type]


def test_context_reads_config_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The environment falls back to ASGI_LIFECYCLE_ENV; dotted config keys walk mappings."""
    monkeypatch.setenv("ASGI_LIFECYCLE_ENV", "staging")
    context = LifespanContext("api", config={"db": {"pool": {"size": 5}}, "a.b": 1})
    assert context.environment == "staging"
    assert context.get_config("db.pool.size") == 5
    assert context.get_config("a.b") == 1
    assert context.get_config("db.missing", "x") == "x"
    monkeypatch.delenv("ASGI_LIFECYCLE_ENV")
    assert LifespanContext().environment == "development"
    context.set_metadata("k", 1)
    assert context.get_metadata("k") == 1
    assert context.get_metadata("nope", 2) == 2


def test_after_accepts_functions(lp: Lifespan) -> None:
    """after= may name a hook by its function, registered under a custom name or not."""

    def pool() -> Iterator[int]:
        yield 1

    def cache() -> None: ...
    def client() -> None: ...

    lp.resource(name="the-pool")(pool)
    lp.on_start(after=pool)(cache)
    lp.on_start(after=[cache, "the-pool"])(client)
    hooks = {h.func: h for h in lp.hooks}
    assert hooks[cache].after == ("the-pool",)
    assert hooks[client].after == (hooks[cache].name, "the-pool")


def test_default_keys_clash_only_when_both_publish(lp: Lifespan) -> None:
    """Two resources whose functions share a name may coexist while they publish nothing."""

    def make() -> Any:
        def setup() -> Iterator[None]:
            yield None

        return setup

    lp.resource(name="first")(make())
    lp.resource(name="second")(make())
    assert [h.name for h in lp.plan("app")] == ["first", "second"]


def test_configure_changes_only_what_it_is_given() -> None:
    """configure() sets the given run options, keeps the others, and checks its values."""
    lp = Lifespan(startup_timeout=5)
    lp.configure(concurrent=True)
    assert (lp.concurrent, lp.startup_timeout, lp.shutdown_timeout) == (True, 5.0, 30.0)
    lp.configure(startup_timeout=None, shutdown_timeout=2)
    assert (lp.concurrent, lp.startup_timeout, lp.shutdown_timeout) == (True, None, 2.0)
    with pytest.raises(TypeError, match="shutdown_timeout"):
        lp.configure(shutdown_timeout=-1)
    with pytest.raises(TypeError, match="concurrent"):
        lp.configure(concurrent="yes")  # type: ignore[arg-type]
    assert lp.shutdown_timeout == 2.0
