"""How ./dev test's parallel workers split the suite (tests/conftest.py)."""

from conftest import work_unit


def test_a_module_of_stack_tests_is_one_unit_and_unit_tests_go_one_by_one():
    assert work_unit("tests/integration/test_sink_faults.py::test_a") == "tests/integration/test_sink_faults.py"
    assert work_unit("tests/integration/test_sink_faults.py::test_b[x]") == "tests/integration/test_sink_faults.py"
    assert work_unit("tests/unit/test_config.py::test_a") == "tests/unit/test_config.py::test_a"


def test_tests_sharing_the_e2e_dagster_are_one_unit_and_long_independent_ones_go_alone_but_demos_in_turn():
    assert work_unit("tests/e2e/test_dagster_ui.py::test_lineage") == "e2e-dagster"
    assert work_unit("tests/e2e/test_run_recovery.py::test_a_run_whose_worker_is_killed_is_failed") == "e2e-dagster"
    orphan = "tests/e2e/test_run_recovery.py::test_a_run_orphaned_by_a_killed_dagster_dev"
    assert work_unit(orphan) == orphan
    assert work_unit("tests/e2e/test_demo.py::test_demo[json]") == work_unit("tests/e2e/test_demo.py::test_demo[avro]")
