"""This domain's `resight` commands: train, worker and score."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import Annotated, Any

import typer

from resight.config import Settings
from resight.db import make_engine, make_session_factory, transaction
from resight.events.alerts import raise_alert
from resight.migrations.runner import ensure_at_head


def _parse_time(value: str | None) -> dt.datetime | None:
    if value is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter(f"not an ISO 8601 time: {value!r}", param_hint="--until") from exc
    if moment.tzinfo is None:
        raise typer.BadParameter("give a UTC offset, e.g. 2026-11-28T18:30:00+05:30", param_hint="--until")
    return moment


def _metrics_line(metrics: dict[str, Any]) -> str:
    keys = [k for k in metrics if k.startswith(("ndcg", "spearman", "truth_"))]
    return ", ".join(f"{k} {metrics[k]:.4f}" for k in keys if isinstance(metrics[k], float))


def register(app: typer.Typer) -> None:
    @app.command()
    def train(
        rounds: Annotated[int, typer.Option(min=1, help="Boosting rounds (trees).")] = 100,
        leaves: Annotated[int, typer.Option(min=2, help="Leaves per tree.")] = 15,
        snapshot_hours: Annotated[int, typer.Option(min=1, help="Hours between training snapshots.")] = 12,
        eval_hours: Annotated[int, typer.Option(min=1, help="Length of the evaluation slice.")] = 48,
        until: Annotated[
            str | None, typer.Option(help="Use history before this time only (ISO 8601).")
        ] = None,
        if_missing: Annotated[
            bool,
            typer.Option(
                "--if-missing",
                help="Only if no model serves yet; without enough history, say so and exit 0 (make run).",
            ),
        ] = False,
    ) -> None:
        """Train a model on the stored history, evaluate it on a later slice, register it, and
        promote it if it is not worse than the serving model on the same evaluation."""
        from resight.ml.quality import truth_evaluation
        from resight.ml.registry import ModelStore
        from resight.ml.training import TrainingConfig, TrainingError, train_and_register

        settings = Settings()
        engine = make_engine(settings.database_url)
        config = TrainingConfig(
            rounds=rounds, num_leaves=leaves, snapshot_hours=snapshot_hours, eval_hours=eval_hours
        )
        try:
            ensure_at_head(engine)
            factory = make_session_factory(engine)
            with (
                typer.progressbar(length=rounds, label="Training") as bar,
                transaction(factory) as session,
            ):
                done = [0]

                def advance(iteration: int, _total: int) -> None:
                    bar.update(iteration - done[0])
                    done[0] = iteration

                serving = ModelStore().serving(session)
                if if_missing and serving is not None:
                    typer.echo(f"model {serving.version} already serves; not training (--if-missing)")
                    return
                result = train_and_register(
                    session,
                    settings.models_dir,
                    config=config,
                    until=_parse_time(until),
                    serving=serving,
                    progress=advance,
                    extra_evaluation=truth_evaluation(session),
                )
                if result.promoted:
                    raise_alert(
                        session,
                        "model_promoted",
                        f"ml:promoted:{result.model.version}",
                        f"Model {result.model.version} now serves (trained, not worse than the last)",
                        {"version": result.model.version, "metrics": result.metrics},
                        severity="info",
                    )
        except TrainingError as exc:
            if if_missing:
                typer.echo(f"no model trained yet: {exc}")
                return
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from exc
        finally:
            engine.dispose()
        typer.echo(
            f"model {result.model.version}: {result.rows:,} training rows; {_metrics_line(result.metrics)}"
        )
        if result.serving_metrics is not None:
            typer.echo(f"serving model on the same evaluation: {_metrics_line(result.serving_metrics)}")
        typer.echo(
            "promoted: now serving"
            if result.promoted
            else "kept as a candidate (worse than the serving model)"
        )

    @app.command()
    def worker() -> None:
        """Run only the scoring loop (no HTTP): one per database scores, others stand by."""
        from resight.ml.registry import ModelStore
        from resight.ml.worker import Scorer
        from resight.realtime.feeds import scoring_with_live_updates

        settings = Settings()
        logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(name)s %(message)s")
        if not settings.redis_url:
            typer.echo(
                "warning: REDIS_URL is not set: each cycle's ranking, alerts and model reach no "
                "dashboard (the API processes hear a separate scorer through Redis only)",
                err=True,
            )
        engine = make_engine(settings.database_url)
        ensure_at_head(engine)
        scorer = Scorer(engine, make_session_factory(engine), ModelStore(), settings)

        def report(result: Any) -> None:
            typer.echo(
                f"{result.computed_at:%H:%M:%S} scored {result.scored:,} products "
                f"with {result.model_version} ({len(result.changed_ids)} moved)"
            )

        scorer.on_scored.append(report)
        try:  # each cycle's ranking, alerts and model go to live dashboards (through REDIS_URL)
            asyncio.run(scoring_with_live_updates(scorer, settings, make_session_factory(engine)))
        except KeyboardInterrupt:
            pass
        finally:
            scorer.close()
            engine.dispose()
