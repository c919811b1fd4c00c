"""``etl-cli submit`` and ``etl-cli export k8s``: a pipeline's run on a cluster (use cases in
:mod:`etl_cli.usecases.submit`; see docs/cluster.md)."""

from __future__ import annotations

import shlex
from pathlib import Path, PurePosixPath
from typing import Annotated

import typer

from etl_cli.cli.options import ConfirmEnvOpt, EnvOpt, ParamOpt, PipelineArg, SetOpt, TakesDebug, VerboseOpt
from etl_cli.usecases.submit import KubernetesOptions, RunArguments, SubmitOptions

SUBMIT_HELP = "Run a pipeline on a cluster through spark-submit: etl-cli, the project's files and jars go with it."
EXPORT_HELP = (
    "Write a pipeline's run for a cluster manager to run: a SparkApplication of the Kubernetes Spark operator."
)

export_app = typer.Typer(name="export", help=EXPORT_HELP, no_args_is_help=True, rich_markup_mode=None)


def submit_command(
    pipeline: PipelineArg,
    master: Annotated[
        str,
        typer.Option(
            "--master",
            metavar="URL",
            envvar="ETL_MASTER",
            help="Where to run: spark://HOST:PORT (standalone), yarn, k8s://https://HOST:PORT, local[N].",
        ),
    ],
    deploy_mode: Annotated[
        str,
        typer.Option(
            "--deploy-mode",
            metavar="client|cluster",
            help="client: the driver runs here; cluster: on the cluster (YARN and Kubernetes only).",
        ),
    ] = "client",
    env: EnvOpt = None,
    sets: SetOpt = None,
    params: ParamOpt = None,
    confirm_env: ConfirmEnvOpt = None,
    staging_dir: Annotated[
        Path | None,
        typer.Option(
            "--staging-dir",
            metavar="DIR",
            help="Where to build the package spark-submit ships (default: .etl/submit/ID in the project).",
        ),
    ] = None,
    verbose: VerboseOpt = False,
    print_only: Annotated[
        bool,
        typer.Option("--print", help="Build the package and print the spark-submit command instead of running it."),
    ] = False,
) -> None:
    """Run a pipeline on a cluster through spark-submit: etl-cli, the project's files and jars go with it.

    The driver runs `etl-cli run` (client deploy mode: the exit code is the run's). Secret values never
    reach the command line: the driver resolves the pipeline's references through the project's providers.
    """
    from etl_cli.usecases.submit import prepare_submission, submit

    run = RunArguments(env, tuple(sets or ()), tuple(params or ()), confirm_env)
    submission = prepare_submission(pipeline, SubmitOptions(master, deploy_mode, run, staging_dir, verbose))
    if print_only:
        variables = [f"{name}={shlex.quote(value)}" for name, value in submission.environment.items()]
        print(" ".join([*variables, *map(shlex.quote, submission.command)]))
        return
    typer.echo(f"submitting {submission.pipeline} to {master} ({deploy_mode} deploy mode)", err=True)
    raise typer.Exit(submit(submission))


@export_app.command("k8s", cls=TakesDebug)
def k8s_command(
    pipeline: PipelineArg,
    image: Annotated[
        str,
        typer.Option("--image", help="The container image holding etl-cli, the project and the driver program."),
    ],
    namespace: Annotated[str, typer.Option("--namespace", "-n", help="The SparkApplication's namespace.")] = "default",
    env: EnvOpt = None,
    sets: SetOpt = None,
    params: ParamOpt = None,
    confirm_env: ConfirmEnvOpt = None,
    image_project_dir: Annotated[
        str, typer.Option("--image-project-dir", metavar="DIR", help="The project's folder in the image.")
    ] = "/project",
    main_file: Annotated[
        str | None,
        typer.Option(
            "--main-file",
            metavar="URI",
            help="The driver program in the image (default: local://DIR/etl-cli-driver.py, DIR the project's).",
        ),
    ] = None,
    service_account: Annotated[
        str | None,
        typer.Option("--service-account", metavar="NAME", help="The service account of the driver's pod."),
    ] = None,
    secret_env: Annotated[
        list[str] | None,
        typer.Option(
            "--secret-env",
            metavar="SECRET",
            help="A Kubernetes Secret whose keys become the driver's environment variables (repeatable).",
        ),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", metavar="FILE", help="Write to this file instead of stdout.")
    ] = None,
) -> None:
    """Write the SparkApplication (sparkoperator.k8s.io/v1beta2) that runs a pipeline on Kubernetes.

    Its driver runs `etl-cli run` in the image; secrets stay references, resolved there by the
    project's providers (--secret-env hands Kubernetes Secrets to the env provider). Offline.
    """
    from etl_cli.usecases.submit import spark_application

    options = KubernetesOptions(
        image=image,
        namespace=namespace,
        run=RunArguments(env, tuple(sets or ()), tuple(params or ()), confirm_env),
        image_project_dir=PurePosixPath(image_project_dir),
        main_file=main_file,
        service_account=service_account,
        secret_env=tuple(secret_env or ()),
    )
    text = spark_application(pipeline, options)
    if output is None:
        print(text, end="")
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    typer.echo(f"wrote {output}", err=True)
