"""`osmosis-local serve -m MOD:ATTR` (a RolloutServer) and `osmosis-local validate -m MOD:ATTR`, as the SDK's.

Flags as in the reference: ``-p/--port`` (9000), ``-H/--host`` (0.0.0.0; 127.0.0.1 with ``--local``),
``--no-validate``, ``--reload``, ``--log-level``, ``--skip-register``, ``--local`` (no API key), ``--api-key``,
``--log DIR`` (debug logs in ``DIR/<unix time>/<rollout_id>.jsonl``). There is no platform registration here:
``--skip-register`` is what always happens, and the server says how to register it. Without ``--local`` or
``--api-key`` a key is generated and written to ``.osmosis-local/rollout-server-key`` (mode 600), never printed.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from osmosis_local.cli.arguments import positive_float, positive_int

KEY_FILE = Path(".osmosis-local") / "rollout-server-key"
SPEC_ENV = "OSMOSIS_LOCAL_SERVE_SPEC"  # --reload: how the reloaded worker finds what to serve
LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = commands.add_parser(
        "serve", help="serve a RolloutAgentLoop as a RolloutServer (Remote Rollout), e.g. -m server:agent_loop",
        description="Serve an agent loop over the Remote Rollout protocol: POST /v1/rollout/init, callbacks to the "
        "trainer, GET /health. Run it from the folder holding the module (cd rollout_server).",
    )  # fmt: skip
    serve.add_argument("-m", "--module", "--agent", dest="module", required=True, metavar="MOD:ATTR",
                       help="the agent loop, e.g. server:agent_loop (a class is instantiated)")  # fmt: skip
    serve.add_argument("-p", "--port", type=int, default=9000, help="port (default: 9000)")
    serve.add_argument("-H", "--host", default=None,
                       help="bind address (default: 0.0.0.0, or 127.0.0.1 with --local)")  # fmt: skip
    serve.add_argument("--no-validate", action="store_true", help="serve without validating the agent loop first")
    serve.add_argument("--reload", action="store_true", help="restart when a source file changes (development)")
    serve.add_argument("--log-level", choices=LOG_LEVELS, default="info", help="uvicorn's log level (default: info)")
    serve.add_argument("--skip-register", action="store_true",
                       help="accepted for the SDK's sake: this harness never registers with the platform")  # fmt: skip
    serve.add_argument("--local", action="store_true", help="no API key (for a trainer on this machine)")
    serve.add_argument("--api-key", help="the key a trainer must send (default: generated, written to "
                       f"{KEY_FILE}; never printed)")  # fmt: skip
    serve.add_argument("--log", metavar="DIR", help="debug logs: DIR/<unix time>/<rollout_id>.jsonl")
    serve.add_argument("--max-concurrent", type=positive_int, default=100, help="loops running at once (default: 100)")
    serve.add_argument("--rollout-timeout", type=positive_float, metavar="S",
                       help="seconds a rollout may run before it is ended as an ERROR (default: no limit)")  # fmt: skip
    serve.set_defaults(handler=run_serve)

    validate = commands.add_parser(
        "validate", help="check an agent loop the way `serve` does before serving (name, tools, async run)"
    )
    validate.add_argument("-m", "--module", "--agent", dest="module", required=True, metavar="MOD:ATTR",
                          help="the agent loop, e.g. server:agent_loop (run it in rollout_server/)")
    validate.add_argument("-v", "--verbose", action="store_true", help="list the tools and what their schemas lose")
    validate.set_defaults(handler=run_validate)


def _report(spec: str, verbose: bool) -> int:
    """Validate and print; the exit code (0 valid, 1 not)."""
    from osmosis_local.rollout.loading import AgentLoopLoadError, load_agent_loop, validate_agent_loop

    try:
        loop = load_agent_loop(spec)
    except AgentLoopLoadError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    report = validate_agent_loop(loop)
    for issue in report.issues:
        stream = sys.stderr if issue.severity == "error" else sys.stdout
        if issue.severity == "error" or verbose:
            print(f"  {issue.severity}: {issue.code}: {issue.message}", file=stream)
    if verbose:
        for tool in report.tools:
            params = ", ".join(tool.function.parameters.properties)
            print(f"  tool {tool.function.name}({params}): {tool.function.description.splitlines()[0][:100]}")
    status = "valid" if report.ok else "NOT valid"
    print(f"{spec}: agent loop {report.name!r} is {status} ({len(report.tools)} tools)",
          file=sys.stdout if report.ok else sys.stderr)  # fmt: skip
    return 0 if report.ok else 1


def run_validate(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    return _report(args.module, args.verbose)


def _server_key(args: argparse.Namespace) -> str | None:
    if args.local:
        return None
    if args.api_key:
        return str(args.api_key)
    import secrets

    key = secrets.token_urlsafe(32)
    KEY_FILE.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(KEY_FILE, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    return key


def app_from_env() -> object:
    """The app to serve, rebuilt from ``$OSMOSIS_LOCAL_SERVE_SPEC`` (the worker process of ``--reload``)."""
    import json

    from osmosis_local.rollout.app import create_app
    from osmosis_local.rollout.loading import load_agent_loop

    spec = json.loads(os.environ[SPEC_ENV])
    return create_app(load_agent_loop(spec["module"]), api_key=spec["api_key"], debug_dir=spec["debug_dir"],
                      max_concurrent=spec["max_concurrent"], rollout_timeout_s=spec["rollout_timeout"])  # fmt: skip


def run_serve(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    if args.api_key and args.local:
        parser.error("--local serves without an API key: drop --api-key, or --local")
    if not args.no_validate and _report(args.module, verbose=False) != 0:
        print("Not serving: fix the agent loop, or pass --no-validate.", file=sys.stderr)
        return 1
    import json
    import time

    import uvicorn

    from osmosis_local.rollout.app import create_app
    from osmosis_local.rollout.loading import AgentLoopLoadError, load_agent_loop

    host = args.host or ("127.0.0.1" if args.local else "0.0.0.0")
    key = _server_key(args)
    debug_dir = str(Path(args.log) / str(int(time.time()))) if args.log else None
    auth = "no API key (--local)" if key is None else (
        "the API key given by --api-key" if args.api_key else f"the API key in {KEY_FILE} (mode 600)")
    print(f"RolloutServer for {args.module} on http://{host}:{args.port}: trainers must send {auth}.", file=sys.stderr)
    print("Registration: this harness never registers with the Osmosis platform (--skip-register is implied). "
          "To train with it, add the server's public URL and its key in the platform's Remote Rollout settings.",
          file=sys.stderr)  # fmt: skip
    if debug_dir:
        print(f"Debug logs: {debug_dir}/<rollout_id>.jsonl", file=sys.stderr)
    if args.reload:
        os.environ[SPEC_ENV] = json.dumps({"module": args.module, "api_key": key, "debug_dir": debug_dir,
                                           "max_concurrent": args.max_concurrent,
                                           "rollout_timeout": args.rollout_timeout})  # fmt: skip
        uvicorn.run("osmosis_local.cli.rollout_server_command:app_from_env", factory=True, host=host, port=args.port,
                    reload=True, reload_dirs=[os.getcwd()], log_level=args.log_level)  # fmt: skip
        return 0
    try:
        loop = load_agent_loop(args.module)
    except AgentLoopLoadError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    app = create_app(loop, api_key=key, debug_dir=debug_dir, max_concurrent=args.max_concurrent,
                     rollout_timeout_s=args.rollout_timeout)  # fmt: skip
    uvicorn.run(app, host=host, port=args.port, log_level=args.log_level)
    return 0
