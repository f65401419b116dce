"""Benchmark of `osmosis-local eval`: per-rollout overhead and concurrency efficiency.

Why: the runner's job is to keep a slow model busy. With a model of fixed latency L, a rollout of C
sequential LLM calls cannot take less than C x L, and B workers over R equal rollouts cannot finish
faster than ceil(R/B) x C x L. Whatever the runner adds on top (litellm, the in-memory MCP client,
scoring, the transcript log) is overhead, and at high batch sizes that overhead is what stops the pool
from scaling: the event loop is one thread, so the per-rollout CPU cost c is paid serially.

The model is the scripted-policy TEST DOUBLE (``osmosis_local.scripted_policy``) with an injected
fixed latency per request, on 127.0.0.1. By default it runs in a child process so its own CPU work
does not compete with the runner for the GIL (a hosted model's CPU is not on our machine either);
``--in-process-server`` runs it as a thread of this process instead, as the e2e tests do. Its listen
backlog is raised from the stdlib's 5 to 128 so a burst of new connections is not dropped (a dropped
SYN costs the client a 1 s retransmit and would be charged to the runner).

Only the eval phase is timed: ``summary.total_duration_ms`` from the ``-o`` JSON (rollouts, scoring
and logging; not imports, dataset loading or the preflight). Each configuration runs ``eval``
in-process through ``osmosis_local.cli.main`` after one untimed warm-up run. The machine is shared,
so the load average is printed with the figures.

Latency. The target (efficiency >= 0.9 at batch size 32) is checked at ``--latency`` = 2 s per call:
below the embedded model's own median on this machine (3.0 s per call in ``make eval``) and in the
range of hosted chat-completion calls. A stress run at ``--stress-latency`` = 0.5 s is printed too;
there the bound is B x c: with identical latencies the workers move in lock-step, so every wave pays
the serial cost of all B rollouts, and efficiency ~ C L / (C L + B c).

Usage::

    python benchmarks/runner_bench.py            # full run, about 80 s on 2 cores
    python benchmarks/runner_bench.py --quick    # smoke run, about 20 seconds

Prints a plain-text table, then one JSON line (the last line of stdout) with every figure.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import osmosis_local  # noqa: F401  (offline env defaults before litellm/fastmcp load)
from osmosis_local.cli import main as cli_main

REPO = Path(__file__).resolve().parents[1]
DATASET = REPO / "test_data.jsonl"
MCP_DIR = REPO / "mcp"
EVAL_FN = "reward_fn.compute_reward:numbers_match_reward"
CALLS_PER_ROLLOUT = 2  # one-step rows: one tool call, then the final answer
TARGET_EFFICIENCY = 0.9
TARGET_BATCH = 32
LISTEN_BACKLOG = 128
_CHILD_SERVER = (
    "import socketserver, sys; socketserver.TCPServer.request_queue_size = {backlog}; "
    "from osmosis_local.scripted_policy import main; sys.exit(main(sys.argv[1:]))"
)


@dataclass
class Measurement:
    """One timed `eval` run against a server of fixed latency."""

    label: str
    batch_size: int
    latency_s: float
    rollouts: int
    llm_calls: int
    measured_s: float
    ideal_s: float
    listen_overflows: int | None  # SYNs the kernel dropped during the run (whole network namespace)

    @property
    def overhead_per_rollout_ms(self) -> float:
        return (self.measured_s - self.ideal_s) / self.rollouts * 1000

    @property
    def efficiency(self) -> float | None:
        return self.ideal_s / self.measured_s if self.ideal_s > 0 and self.measured_s > 0 else None

    def as_dict(self) -> dict[str, Any]:
        eff = self.efficiency
        return {
            **asdict(self),
            "measured_s": round(self.measured_s, 3),
            "ideal_s": round(self.ideal_s, 3),
            "overhead_per_rollout_ms": round(self.overhead_per_rollout_ms, 1),
            "efficiency": round(eff, 3) if eff is not None else None,
        }


def ideal_seconds(rollouts: int, calls_per_rollout: int, latency_s: float, batch_size: int) -> float:
    """Lower bound for R equal rollouts of C sequential calls on B workers: ceil(R/B) x C x L."""
    return math.ceil(rollouts / batch_size) * calls_per_rollout * latency_s


def latency_for_efficiency(target: float, rollouts: int, batch_size: int, cost_s: float) -> float:
    """Latency per call at which ideal / (ideal + R x c) reaches ``target``.

    R x c is the serial CPU bill of the single-threaded runner; when every rollout has the same
    latency the workers move in lock-step and pay it in full (a convoy), so this is conservative.
    """
    return target / (1 - target) * rollouts * cost_s / (math.ceil(rollouts / batch_size) * CALLS_PER_ROLLOUT)


def lockstep_estimate(latency_s: float, batch_size: int, cost_s: float) -> float:
    """Efficiency when every wave pays the serial cost of all its B rollouts: C L / (C L + B c)."""
    work = CALLS_PER_ROLLOUT * latency_s
    return work / (work + batch_size * cost_s)


def one_step_rows() -> list[str]:
    """Dataset lines whose plan is a single tool call, so every rollout is exactly two LLM calls.

    The lines are kept verbatim: re-serialising would turn exact decimals into floats or strings.
    """
    lines = DATASET.read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line.strip() and json.loads(line).get("num_steps") == 1]


def write_dataset(lines: Sequence[str], directory: Path) -> Path:
    path = directory / "one_step_rows.jsonl"
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def plan_rollouts(wanted: int, available: int) -> tuple[int, int]:
    """(rows, runs per row) with rows x runs close to ``wanted``, preferring distinct rows."""
    runs = max(1, math.ceil(wanted / available))
    return max(1, wanted // runs), runs


def listen_overflows() -> int | None:
    """The kernel's TcpExt ListenOverflows counter (accept queue full), or None off Linux."""
    try:
        lines = Path("/proc/net/netstat").read_text().splitlines()
    except OSError:
        return None
    for names, values in zip(lines[::2], lines[1::2], strict=True):
        if names.startswith("TcpExt:"):
            table = dict(zip(names.split()[1:], values.split()[1:], strict=True))
            return int(table["ListenOverflows"]) if "ListenOverflows" in table else None
    return None


@contextlib.contextmanager
def policy_endpoint(dataset: Path, latency_s: float, *, in_process: bool) -> Iterator[str]:
    """The latency-injecting scripted policy on 127.0.0.1; yields its OpenAI base URL."""
    if in_process:
        from http.server import ThreadingHTTPServer

        from osmosis_local.scripted_policy import ScriptedPolicy, load_rows
        from osmosis_local.scripted_server import ScriptedOpenAIServer

        saved = ThreadingHTTPServer.request_queue_size
        ThreadingHTTPServer.request_queue_size = LISTEN_BACKLOG  # read once, when the socket listens
        try:
            server = ScriptedOpenAIServer(ScriptedPolicy(load_rows(dataset), latency_s=latency_s))
        finally:
            ThreadingHTTPServer.request_queue_size = saved
        with server:
            yield server.base_url
        return
    command = [
        sys.executable, "-c", _CHILD_SERVER.format(backlog=LISTEN_BACKLOG),
        "-d", str(dataset), "--host", "127.0.0.1", "--port", "0", "--latency", repr(latency_s),
    ]
    with tempfile.TemporaryFile(mode="w+") as errors:
        child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors, text=True)
        try:
            line = child.stdout.readline() if child.stdout else ""
            if " at http" not in line:
                child.kill()
                child.wait()
                errors.seek(0)
                raise RuntimeError(f"the scripted policy did not start: {line.strip()!r} {errors.read()[-500:]}")
            yield line.rsplit(" at ", 1)[1].strip()
        finally:
            child.terminate()
            try:
                child.wait(timeout=5)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()


def run_eval(base_url: str, dataset: Path, work: Path, *, rows: int, runs: int, batch_size: int) -> dict[str, Any]:
    """One in-process `osmosis-local eval`; returns the `-o` JSON plus the logged LLM call count."""
    out, log = work / "out.json", work / "runs.jsonl"
    for path in (out, log):
        path.unlink(missing_ok=True)
    argv = [
        "eval", "--mcp", str(MCP_DIR), "-d", str(dataset), "--eval-fn", EVAL_FN,
        "--model", "scripted-policy", "--base-url", base_url, "--api-key", "sk-bench-not-a-secret",
        "--limit", str(rows), "--n", str(runs), "--batch-size", str(batch_size),
        "-o", str(out), "--log", str(log), "--max-retries", "0", "-q",
    ]
    code = cli_main(argv)
    if code != 0:
        raise RuntimeError(f"eval exited {code} (batch size {batch_size}, {rows} rows x {runs} runs)")
    result = json.loads(out.read_text())
    summary = result["summary"]
    records = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    if summary["failed_runs"] or summary["eval_fns"][EVAL_FN]["mean"] != 1.0:
        errors = sorted({str(r.get("error"))[:160] for r in records if r.get("error")})
        raise RuntimeError(
            f"the scripted policy must score 1.0 on every run; failed runs: {summary['failed_runs']}, errors: {errors}"
        )
    result["llm_calls"] = sum(r["token_usage"]["num_llm_calls"] for r in records)
    return result


def measure(
    label: str, base_url: str, dataset: Path, work: Path, *, latency_s: float, rows: int, runs: int, batch_size: int
) -> Measurement:
    before = listen_overflows()
    result = run_eval(base_url, dataset, work, rows=rows, runs=runs, batch_size=batch_size)
    after = listen_overflows()
    rollouts = result["summary"]["total_runs"]
    calls = result["llm_calls"]
    if calls != rollouts * CALLS_PER_ROLLOUT:
        raise RuntimeError(f"expected {rollouts * CALLS_PER_ROLLOUT} LLM calls, the transcript log shows {calls}")
    return Measurement(
        label=label, batch_size=batch_size, latency_s=latency_s, rollouts=rollouts, llm_calls=calls,
        measured_s=result["summary"]["total_duration_ms"] / 1000,
        ideal_s=ideal_seconds(rollouts, CALLS_PER_ROLLOUT, latency_s, batch_size),
        listen_overflows=None if before is None or after is None else after - before,
    )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add = parser.add_argument
    add("--latency", type=float, help="injected seconds per LLM call in the efficiency runs (default 2.0; quick 0.2)")
    add(
        "--stress-latency",
        type=float,
        help="injected seconds per call in the stress runs, 0 to skip (default 0.5; quick 0.1)",
    )
    add(
        "--overhead-latency",
        type=float,
        help="injected seconds per call in the overhead run (default 0.2; quick 0.05)",
    )
    add("--overhead-rollouts", type=int, help="rollouts in the batch-size-1 overhead runs (default 16; quick 4)")
    add(
        "--rollouts",
        type=int,
        help="rollouts per efficiency run (default two full waves: max(8, 2 x batch size); quick 16)",
    )
    add("--batch-sizes", default="1,8,32", help="comma-separated batch sizes (default 1,8,32)")
    add("--quick", action="store_true", help="small numbers for a smoke run")
    add(
        "--in-process-server",
        action="store_true",
        help="serve the policy from a thread of this process (shares the GIL)",
    )
    args = parser.parse_args(argv)
    quick = args.quick
    args.latency = args.latency if args.latency is not None else (0.2 if quick else 2.0)
    args.stress_latency = args.stress_latency if args.stress_latency is not None else (0.1 if quick else 0.5)
    args.overhead_latency = args.overhead_latency if args.overhead_latency is not None else (0.05 if quick else 0.2)
    args.overhead_rollouts = args.overhead_rollouts or (4 if quick else 16)
    args.rollouts = args.rollouts or (16 if quick else None)
    try:
        args.batch_sizes = [int(b) for b in args.batch_sizes.split(",") if b.strip()]
    except ValueError:
        parser.error(f"--batch-sizes must be integers separated by commas, e.g. 1,8,32; got {args.batch_sizes!r}")
    if not args.batch_sizes or min(args.batch_sizes) < 1:
        parser.error("--batch-sizes needs at least one size, each >= 1")
    if args.latency <= 0 or args.stress_latency < 0 or args.overhead_latency < 0 or args.overhead_rollouts < 1:
        parser.error("--latency must be > 0, --stress-latency and --overhead-latency >= 0, --overhead-rollouts >= 1")
    if args.rollouts is not None and args.rollouts < 1:
        parser.error("--rollouts must be >= 1")
    return args


def rollouts_for(batch_size: int, fixed: int | None) -> int:
    """Rollouts of one efficiency run: ``--rollouts`` if given, else two full waves (at least 8)."""
    return fixed if fixed is not None else max(8, 2 * batch_size)


def fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def print_table(title: str, rows: list[Measurement]) -> None:
    print(f"\n{title}")
    print(f"{'run':<16}{'batch':>6}{'L (s)':>7}{'rollouts':>9}{'calls':>7}{'measured s':>12}{'ideal s':>9}"
          f"{'ovh/rollout ms':>16}{'efficiency':>12}{'SYN drops':>11}")
    for m in rows:
        print(f"{m.label:<16}{m.batch_size:>6}{m.latency_s:>7g}{m.rollouts:>9}{m.llm_calls:>7}{m.measured_s:>12.3f}"
              f"{m.ideal_s:>9.3f}{m.overhead_per_rollout_ms:>16.1f}{fmt(m.efficiency, '.3f'):>12}"
              f"{fmt(m.listen_overflows, 'd'):>11}")


def efficiency_runs(
    label: str, dataset: Path, work: Path, pool_size: int, *, latency_s: float, batch_sizes: Sequence[int],
    fixed_rollouts: int | None, in_process: bool,
) -> list[Measurement]:
    """One timed eval per batch size against a server of fixed latency ``latency_s``."""
    runs: list[Measurement] = []
    with policy_endpoint(dataset, latency_s, in_process=in_process) as url:
        for batch in batch_sizes:
            rows, n = plan_rollouts(rollouts_for(batch, fixed_rollouts), pool_size)
            runs.append(
                measure(
                    f"{label} {batch}", url, dataset, work, latency_s=latency_s, rows=rows, runs=n, batch_size=batch
                )
            )
    return runs


def verdict_for(runs: Sequence[Measurement]) -> tuple[Measurement | None, str | None]:
    """The batch-size-32 run and PASS/FAIL against the target, if that batch size was run."""
    target = next((m for m in runs if m.batch_size == TARGET_BATCH), None)
    if target is None or target.efficiency is None:
        return target, None
    return target, "PASS" if target.efficiency >= TARGET_EFFICIENCY else "FAIL"


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    os.chdir(REPO)  # eval functions are imported from the repository root, as on the platform
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    pool = one_step_rows()
    ov_rows, ov_runs = plan_rollouts(args.overhead_rollouts, len(pool))
    top = max(args.batch_sizes)
    sat_rows, sat_runs = plan_rollouts(rollouts_for(top, args.rollouts), len(pool))
    in_process = args.in_process_server
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="runner-bench-") as tmp:
        work = Path(tmp)
        dataset = write_dataset(pool, work)
        with policy_endpoint(dataset, 0.0, in_process=in_process) as url:
            run_eval(url, dataset, work, rows=2, runs=1, batch_size=2)  # warm-up: first-call costs, untimed
            raw = measure("raw L=0", url, dataset, work, latency_s=0.0, rows=ov_rows, runs=ov_runs, batch_size=1)
            saturated = measure(
                "saturated L=0", url, dataset, work, latency_s=0.0, rows=sat_rows, runs=sat_runs, batch_size=top
            )
        with policy_endpoint(dataset, args.overhead_latency, in_process=in_process) as url:
            slow = measure(
                "overhead",
                url,
                dataset,
                work,
                latency_s=args.overhead_latency,
                rows=ov_rows,
                runs=ov_runs,
                batch_size=1,
            )
        common = {"fixed_rollouts": args.rollouts, "in_process": in_process}
        scaling = efficiency_runs(
            "batch", dataset, work, len(pool), latency_s=args.latency, batch_sizes=args.batch_sizes, **common
        )
        stress_sizes = [b for b in args.batch_sizes if b > 1] if args.stress_latency > 0 else []
        stress = (
            efficiency_runs(
                "stress", dataset, work, len(pool), latency_s=args.stress_latency, batch_sizes=stress_sizes, **common
            )
            if stress_sizes
            else []
        )
    total_s = time.perf_counter() - started
    load_after = os.getloadavg()[0]

    raw_ms, slow_ms = raw.overhead_per_rollout_ms, slow.overhead_per_rollout_ms
    ratio = slow_ms / raw_ms if raw_ms > 0 else None
    cost_s = saturated.measured_s / saturated.rollouts  # serial runner cost per rollout, model answering at once
    needed_l = latency_for_efficiency(TARGET_EFFICIENCY, 2 * TARGET_BATCH, TARGET_BATCH, cost_s)
    server_kind = "thread in this process" if in_process else "child process"
    print(f"runner_bench: scripted-policy TEST DOUBLE on 127.0.0.1 ({server_kind}); "
          f"one-step rows, {CALLS_PER_ROLLOUT} LLM calls per rollout; time = summary.total_duration_ms; "
          f"load average {load_before:.2f} -> {load_after:.2f} on {os.cpu_count()} CPUs")
    print_table("1. Overhead per rollout (batch size 1), and the runner's throughput ceiling", [raw, slow, saturated])
    print(f"   raw cost per rollout at L=0: {raw_ms:.1f} ms; "
          f"overhead per rollout at L={slow.latency_s:g}: {slow_ms:.1f} ms; "
          f"ratio overhead/raw = {fmt(ratio, '.2f')}")
    print(f"   ceiling with an instant model at batch {saturated.batch_size}: {1 / cost_s:.1f} rollouts/s "
          f"= {cost_s * 1000:.1f} ms of serial runner work per rollout (c)")
    print_table(f"2. Concurrency efficiency (ideal = ceil(R/B) x C x L, L={args.latency:g} s)", scaling)
    target, verdict = verdict_for(scaling)
    if target is not None and verdict is not None:
        print(f"   target efficiency >= {TARGET_EFFICIENCY} at batch size {TARGET_BATCH}, L={args.latency:g} s: "
              f"{target.efficiency:.3f} -> {verdict} (a figure, not a gate)")
    stress_target, _ = verdict_for(stress)
    if stress:
        print_table(f"3. Stress: the same at L={args.stress_latency:g} s, where the serial cost c dominates", stress)
        if stress_target is not None and stress_target.efficiency is not None:
            print(f"   batch size {TARGET_BATCH} at L={args.stress_latency:g} s: {stress_target.efficiency:.3f} "
                  f"(lock-step estimate C L / (C L + B c) = "
                  f"{lockstep_estimate(args.stress_latency, TARGET_BATCH, cost_s):.2f} "
                  f"with c = {cost_s * 1000:.1f} ms)")
    print(f"   the lock-step estimate (every wave pays B x c in full, c = {cost_s * 1000:.1f} ms) "
          f"reaches {TARGET_EFFICIENCY} at batch {TARGET_BATCH} from L = {needed_l:.2f} s; "
          f"measured runs beat it where the staggered pool overlaps CPU with waiting")
    if any(m.listen_overflows for m in (raw, saturated, slow, *scaling, *stress)):
        print("   warning: the kernel dropped SYNs during a run (SYN drops > 0): "
              "those runs include 1 s connect retries")
    print(f"   whole benchmark: {total_s:.1f} s wall")
    record = {
        "benchmark": "runner_bench",
        "server": "in_process" if in_process else "subprocess",
        "quick": args.quick,
        "load_average": [round(load_before, 2), round(load_after, 2)],
        "cpus": os.cpu_count(),
        "overhead": {
            "raw": raw.as_dict(),
            "with_latency": slow.as_dict(),
            "raw_per_rollout_ms": round(raw_ms, 1),
            "overhead_per_rollout_ms": round(slow_ms, 1),
            "overhead_to_raw_ratio": round(ratio, 3) if ratio is not None else None,
        },
        "saturation": {
            **saturated.as_dict(),
            "rollouts_per_s": round(1 / cost_s, 1),
            "serial_ms_per_rollout": round(cost_s * 1000, 1),
        },
        "concurrency": [m.as_dict() for m in scaling],
        "stress": [m.as_dict() for m in stress],
        "target": {
            "batch_size": TARGET_BATCH,
            "min_efficiency": TARGET_EFFICIENCY,
            "latency_s": args.latency,
            "verdict": verdict,
            "efficiency": round(target.efficiency, 3) if target is not None and target.efficiency is not None else None,
            "latency_needed_s": round(needed_l, 2),
        },
        "wall_s": round(total_s, 1),
    }
    print(json.dumps(record, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
