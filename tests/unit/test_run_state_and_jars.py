"""The state store (values kept only once a run committed) and local jars for Maven coordinates."""

from __future__ import annotations

from pathlib import Path

from etl_cli.runtime.bookkeeping.state import RunState, state_folder
from etl_cli.runtime.spark.jars import resolve_local_jars


def test_a_value_is_written_only_at_commit_and_read_by_the_next_run(tmp_path: Path) -> None:
    folder = state_folder(tmp_path, "pipe", "dev")
    first = RunState(folder, "run-1")
    assert first.get("orders") is None
    first.save_on_success("orders", {"column": "updated_at", "value": "2024-03-01 10:00:00"})
    assert not folder.exists(), "nothing is written before the run's sinks committed"
    first.commit()

    second = RunState(folder, "run-2")
    assert second.get("orders") == {"column": "updated_at", "value": "2024-03-01 10:00:00"}
    second.save_on_success("orders", {"column": "updated_at", "value": "2024-03-02 10:00:00"})
    # run 2 fails: no commit, so run 3 reads run 1's value again
    assert RunState(folder, "run-3").get("orders") == {"column": "updated_at", "value": "2024-03-01 10:00:00"}


def test_a_full_refresh_ignores_the_kept_value_and_replaces_it(tmp_path: Path) -> None:
    folder = state_folder(tmp_path, "pipe", None)
    kept = RunState(folder, "run-1")
    kept.save_on_success("orders", {"value": "old"})
    kept.commit()
    refresh = RunState(folder, "run-2", full_refresh=True)
    assert refresh.get("orders") is None
    refresh.save_on_success("orders", {"value": "new"})
    refresh.commit()
    assert RunState(folder, "run-3").get("orders") == {"value": "new"}
    assert (tmp_path / "state" / "pipe" / "default" / "orders.json").is_file()


def jar(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"PK")
    return path


def test_coordinates_found_in_the_fetch_jars_cache_become_jars_and_the_rest_stay_packages(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    aws = cache / "jars" / "org.apache.hadoop__hadoop-aws__3.4.1"
    hadoop_aws, bundle = jar(aws / "hadoop-aws-3.4.1.jar"), jar(aws / "bundle-2.24.6.jar")
    (aws / ".complete").touch()
    jar(cache / "jars" / "org.postgresql__postgresql__42.7.8" / "postgresql-42.7.8.jar")  # fetch never completed

    found = resolve_local_jars(
        [
            "org.apache.hadoop:hadoop-aws:3.4.1",
            "software.amazon.awssdk:bundle:2.24.6",
            "org.postgresql:postgresql:42.7.8",
        ],
        environ={"ETL_CACHE_DIR": str(cache)},
    )
    assert set(found.jars) == {str(hadoop_aws), str(bundle)}, "the bundle came with hadoop-aws's folder"
    assert found.packages == ("org.postgresql:postgresql:42.7.8",)


def test_a_dependency_two_packages_bring_is_one_jar(tmp_path: Path) -> None:
    """Spark refuses (logging an error) a second jar of the same file name from another folder."""
    cache = tmp_path / "cache" / "jars"
    aws, azure = cache / "org.apache.hadoop__hadoop-aws__3.4.2", cache / "org.apache.hadoop__hadoop-azure__3.4.2"
    hadoop_aws, wildfly = jar(aws / "hadoop-aws-3.4.2.jar"), jar(aws / "wildfly-openssl-2.1.4.Final.jar")
    hadoop_azure = jar(azure / "hadoop-azure-3.4.2.jar")
    jar(azure / "wildfly-openssl-2.1.4.Final.jar")
    (aws / ".complete").touch()
    (azure / ".complete").touch()
    found = resolve_local_jars(
        ["org.apache.hadoop:hadoop-aws:3.4.2", "org.apache.hadoop:hadoop-azure:3.4.2"],
        environ={"ETL_CACHE_DIR": str(tmp_path / "cache")},
    )
    assert sorted(found.jars) == sorted([str(hadoop_aws), str(wildfly), str(hadoop_azure)])


def test_etl_jars_dir_is_searched_first_and_may_hold_single_jars(tmp_path: Path) -> None:
    single = jar(tmp_path / "jars" / "mariadb-java-client-3.5.6.jar")
    found = resolve_local_jars(
        ["org.mariadb.jdbc:mariadb-java-client:3.5.6"],
        environ={"ETL_JARS_DIR": str(tmp_path / "jars"), "ETL_CACHE_DIR": str(tmp_path / "none")},
    )
    assert found.jars == (str(single),) and found.packages == ()
