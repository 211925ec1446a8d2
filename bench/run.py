"""``python -m bench.run [--quick] [--scenarios a,c] [--profile] ...``

Starts the stack (its own database, Redis db and ports), runs the scenarios, writes
``bench/results/<run id>.json`` and ``.md``, prints the markdown and stops the stack, also on
error and Ctrl-C. Exit status: 0 whatever the numbers, 2 when the stack could not be started,
130 when interrupted.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import time
import traceback
from datetime import UTC, datetime
from types import FrameType, ModuleType
from typing import Any

from bench import procinfo
from bench.calibration import calibrate
from bench.config import ROOT, BenchConfig, ConfigError
from bench.pgactivity import PgActivitySampler
from bench.pgstatements import StatementWatch, availability
from bench.profiling import Profiler, find_py_spy, summarise
from bench.report import CaseResult, Report
from bench.stack import Stack, StackError
from bench.stats import median_of_runs

logger = logging.getLogger("bench")

EXIT_STACK_FAILED = 2
EXIT_INTERRUPTED = 130


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[1])
    parser.add_argument("--quick", action="store_true", help="small sizes, one run per case (about 5 minutes)")
    parser.add_argument("--scenarios", default="all", help="comma-separated: a-e or single_send, sendbulk, "
                        "end_to_end, dlr_ingest, failover (default: all)")
    parser.add_argument("--runs", type=int, default=None, help="runs per case (default: 3, quick: 1)")
    parser.add_argument("--profile", nargs="?", const="all", default=None, metavar="SCENARIOS",
                        help="record web and worker with py-spy during the first run of each case "
                        "(of the given scenarios; default all)")
    parser.add_argument("--profile-mode", choices=["cpu", "wall"], default="cpu",
                        help="cpu: only threads holding the GIL (where Python spends CPU); wall: every busy "
                        "thread, waits on PostgreSQL and the network included")
    parser.add_argument("--loadgen", choices=["auto", "wrk", "python"], default="auto",
                        help="wrk (installed with apt-get when missing and root) or the asyncio client")
    parser.add_argument("-v", "--verbose", action="store_true")
    return parser.parse_args(argv)


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


class Runner:
    def __init__(self, args: argparse.Namespace, config: BenchConfig, scenarios: list[ModuleType],
                 profiled: list[ModuleType]) -> None:
        self.args = args
        self.config = config
        self.scenarios = scenarios
        self.profiled = profiled
        self.stack = Stack(config)
        self.report = Report(config=config, started_at=datetime.now(UTC))
        self.profiler: Profiler | None = None
        self.statements_unavailable = ""

    def setup(self) -> Any:
        """Everything up to a logged-in API client; StackError when something does not come up."""
        cfg = self.config
        logger.info("services (PostgreSQL, Redis)")
        self.stack.ensure_services()
        logger.info("database %s: recreate and migrate", cfg.describe()["database"])
        self.stack.recreate_database()
        self.stack.migrate()
        import django

        django.setup()
        # Django's LOGGING set the root logger to the stack's level: keep ours talking.
        logging.getLogger("bench").setLevel(logging.DEBUG if self.args.verbose else logging.INFO)
        from bench.fake_client import FakeProviderClient
        from bench.loadgen import LoadGenerator
        from bench.provision import ApiClient, accounts_provision
        from bench.reset import purge_queues
        from bench.scenarios.common import BenchContext

        self.report.calibration_ms = calibrate()
        self.statements_unavailable = self.report.statements_unavailable = availability(cfg.database_url)
        if self.statements_unavailable:
            self.report.notes.append(f"{self.statements_unavailable}: no top statements per case (start PostgreSQL "
                                     "with shared_preload_libraries = 'pg_stat_statements', see bench/README.md)")
        purge_queues()  # tasks a killed earlier run left in the benchmark's Redis db
        logger.info("starting the fake provider, web, %d worker process(es), beat", cfg.worker_processes)
        self.stack.start()
        accounts = accounts_provision(provider_url=cfg.provider_url)
        api = ApiClient(cfg.web_url, accounts)
        try:
            api.login()
        except Exception as exc:
            raise StackError(f"login against the started web failed: {exc}") from exc
        loadgen = LoadGenerator.choose(self.args.loadgen, python=cfg.python, work_dir=cfg.run_dir)
        self.report.loadgen = loadgen.tool
        if loadgen.tool != "wrk":
            self.report.notes.append("wrk was not available: the asyncio load generator was used (it needs more "
                                     "CPU per request than wrk, which lowers what a 2-core machine can show)")
        if self.profiled:
            py_spy = find_py_spy(cfg.python)
            if py_spy is None:
                self.report.notes.append("--profile: py-spy not found (pip install py-spy, or set PY_SPY); "
                                         "ran without profiling")
            else:
                self.profiler = Profiler(py_spy, cfg.run_dir / "profiles", mode=self.args.profile_mode)
        ctx = BenchContext(config=cfg, stack=self.stack, api=api, accounts=accounts,
                           provider=FakeProviderClient(cfg.provider_url), loadgen=loadgen)
        self._warm_up_and_count(ctx)
        return ctx

    def _warm_up_and_count(self, ctx: Any) -> None:
        from bench.census import query_census, warm_up

        logger.info("warming the web up, counting statements per request")
        try:
            warm_up(ctx)
            self.report.census = query_census(ctx)
        except Exception as exc:
            logger.error("warm-up or statement count failed:\n%s", traceback.format_exc())
            self.report.notes.append(f"warm-up / statement count failed: {type(exc).__name__}: {exc}"[:300])
        self.stack.check_alive()

    def run_case(self, ctx: Any, module: ModuleType, case: Any) -> CaseResult:
        from bench.reset import pipeline_reset

        runs = self.config.sizes.runs
        result = CaseResult(scenario=module.NAME, title=module.TITLE, case=case.name, params=case.params)
        for index in range(runs):
            logger.info("%s %s: run %d/%d", module.NAME, case.name, index + 1, runs)
            try:
                pipeline_reset(ctx.provider)
                ctx.api.login()  # tokens live an hour; a full run takes longer
            except Exception as exc:
                self.stack.check_alive()
                result.runs.append({"error": f"reset before the run failed: {type(exc).__name__}: {exc}"[:300]})
                continue
            result.runs.append(self._measured_run(ctx, module, case, profiling=index == 0))
            self.stack.check_alive()
        errors = [run for run in result.runs if "error" in run]
        result.median = median_of_runs([r for r in result.runs if "error" not in r]) or errors[0]
        return result

    def _measured_run(self, ctx: Any, module: ModuleType, case: Any, *, profiling: bool) -> dict[str, Any]:
        """One run of a case with everything measured around it: the calibration loop before and
        after, CPU per process group, PostgreSQL's activity and statement statistics, and the
        message accounting once it is over."""
        from bench.accounting import message_accounting, settle

        profiling = profiling and self.profiler is not None and module in self.profiled
        calibration_before = calibrate()
        round_trip = procinfo.database_round_trip_ms()
        statements = StatementWatch(self.config.database_url, unavailable=self.statements_unavailable).start()
        database = PgActivitySampler(self.config.database_url).start()
        self.stack.bench_backends = {pid for pid in (_own_backend_pid(), database.wait_connected()) if pid}
        load_before, started = os.getloadavg()[0], time.monotonic()
        cpu = procinfo.CpuTracker(self.stack.cpu_groups).start()
        if profiling and self.profiler is not None:
            assert self.stack.web is not None  # started above
            targets = {"web": self.stack.web.pid, **{p.name: p.pid for p in self.stack.workers}}
            self.profiler.start(f"{module.NAME}-{case.name}", targets)
        try:
            metrics = module.run(ctx, case)
        except StackError:
            raise
        except Exception as exc:
            logger.error("%s %s failed:\n%s", module.NAME, case.name, traceback.format_exc())
            metrics = {"error": f"{type(exc).__name__}: {exc}"[:300]}
        finally:
            if profiling and self.profiler is not None:
                for path in self.profiler.stop():
                    name = path.name.removesuffix(".collapsed.txt")
                    self.report.profiles.append({"name": name, "mode": self.profiler.mode, **summarise(path)})
        elapsed = time.monotonic() - started
        items = metrics.get("items")
        drain = getattr(module, "drain", None)
        if drain is not None and "error" not in metrics and isinstance(items, int):
            # A run cut short (quick mode's cap) has paid CPU for messages that are not done yet:
            # the CPU is measured on until they are (bounded), and divided by all that got done.
            drained_at = time.monotonic()
            items = drain(ctx, metrics, timeout=self.config.sizes.wait_bound(60))
            metrics["drain_seconds"] = round(time.monotonic() - drained_at, 2)
        metrics["cpu_cores"] = cpu.stop()
        metrics["cpu_seconds"] = cpu.seconds
        metrics["postgres_activity"] = database.stop()
        metrics["postgres_statements"] = statements.stop()
        if isinstance(items, int):
            metrics["gateway_cpu"] = procinfo.gateway_cpu_per_item(cpu.seconds, items)
            if metrics["gateway_cpu"] is not None and isinstance(metrics.get("accepted"), int):
                metrics["gateway_cpu"]["complete"] = items >= metrics["accepted"]
        metrics["load_average_before"] = round(load_before, 2)
        metrics["db_round_trip_ms_before"] = round_trip
        metrics["wall_seconds"] = round(elapsed, 2)
        accepted = metrics.get("accepted")
        if isinstance(accepted, int):
            options = getattr(module, "ACCOUNTING", {})
            if options.get("settle", True):
                settle(ctx.accounts.customer_id, timeout=self.config.sizes.wait_bound(60))
            metrics["accounting"] = message_accounting(
                ctx.accounts.customer_id, accepted, first_hops_only=options.get("first_hops_only", False))
        metrics["calibration_ms"] = {"before": calibration_before, "after": calibrate()}
        logger.info("%s %s: %s", module.NAME, case.name,
                    {k: v for k, v in metrics.items() if isinstance(v, int | float)})
        return metrics

    def run(self) -> int:
        ctx = self.setup()
        for module in self.scenarios:
            for case in module.cases(self.config.sizes):
                self.report.cases.append(self.run_case(ctx, module, case))
                self.report.write()  # a partial report survives an interrupted run
        return 0

    def finish(self) -> None:
        if self.profiler is not None:
            self.profiler.stop()
        self.stack.stop()
        self.report.finished_at = datetime.now(UTC)
        if self.report.cases or self.report.outcome != "ok":
            json_path, md_path = self.report.write()
            sys.stdout.write(md_path.read_text())
            sys.stdout.write(f"\nreport: {json_path.relative_to(ROOT)} and {md_path.relative_to(ROOT)}\n")


def _own_backend_pid() -> int | None:
    """The backend serving this process's Django connection (its polling is not the gateway's)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    return int(pid)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(name)s %(message)s", datefmt="%H:%M:%S")
    from bench import scenarios

    try:
        selected = scenarios.select(args.scenarios)
        profiled = scenarios.select(args.profile) if args.profile else []
        config = BenchConfig.from_env(
            quick=args.quick, run_id=datetime.now(UTC).strftime("%Y%m%d-%H%M%S"), runs=args.runs
        )
    except (ValueError, ConfigError) as exc:
        sys.stderr.write(f"bench: {exc}\n")
        return EXIT_STACK_FAILED
    # This process reads and writes the benchmark database and signs callback tokens with the
    # stack's keys, so it takes the stack's environment before Django loads.
    os.environ.update(config.stack_env())
    runner = Runner(args, config, selected, profiled)
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    code = 0
    try:
        code = runner.run()
    except StackError as exc:
        logger.error("the stack could not be started or died: %s", exc)
        runner.report.outcome = "stack failed"
        runner.report.notes.append(f"stack failed: {str(exc)[:500]}")
        code = EXIT_STACK_FAILED
    except KeyboardInterrupt:
        logger.warning("interrupted: stopping the stack")
        runner.report.outcome = "interrupted"
        code = EXIT_INTERRUPTED
    except Exception:
        logger.exception("the benchmark itself failed")
        runner.report.outcome = "benchmark error"
        code = 1
    finally:
        try:
            runner.finish()
        finally:
            signal.signal(signal.SIGTERM, previous)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
