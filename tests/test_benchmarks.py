"""The benchmark harness: its machine probe and its turns (the timings themselves are not tests)."""
import json
import os
import re
import shutil

import pytest

from benchmarks import harness, versions
from benchmarks.harness import machine_line


def test_the_machine_line_gives_product_speeds_on_one_thread_and_on_all():
    line = machine_line(2)
    one, two = (float(v) for v in re.findall(r"(\d+) (?:GFLOP/s on 1 thread|on 2)", line))
    assert line.startswith("1024^3 float32 product:") and one > 0 and two > 0


def test_each_library_times_its_rounds_in_its_own_process(monkeypatch):
    monkeypatch.setattr(harness, "ROUND_SECONDS", 0.0)     # ROUND_STEPS steps a round
    times = harness._rounds("Linear 600x256->1024", rounds=2, threads=1, pause=0.0)
    assert set(times) == {"numpy", "torch"}
    assert all(len(rounds) == 2 and all(t > 0 for t in rounds) for rounds in times.values())


def test_a_case_that_fails_reports_the_childs_error():
    with pytest.raises(RuntimeError, match="(?s)no such case.*KeyError"):
        harness._Library("no such case", "numpy", threads=1)


def test_the_gpt_parts_build_and_run_a_step_in_both_libraries():
    cases = harness.load_cases()
    parts = [name for name in cases if name.startswith("GPT part:")]
    assert len(parts) == 12
    for name in parts:
        for lib in ("numpy", "torch"):
            cases[name][0](lib)()


def test_versions_times_this_tree_against_another_in_turns(monkeypatch, capsys):
    monkeypatch.setattr(harness, "ROUND_SECONDS", 0.0)
    monkeypatch.setattr(versions, "machine_line", lambda threads: "(probe)")
    rows = versions.main([harness.REPO, "--filter", "Linear 600x256->1024", "--rounds", "2",
                          "--threads", "1", "--pause", "0"])
    assert [row["case"] for row in rows] == ["Linear 600x256->1024"]
    assert len(rows[0]["this_s"]) == len(rows[0]["other_s"]) == 2
    assert "| Linear 600x256->1024 |" in capsys.readouterr().out


def _tree_whose_linear_case_raises(folder, message_code):
    """A copy of the benchmarks in `folder` whose Linear case raises ValueError(message_code)."""
    shutil.copytree(os.path.join(harness.REPO, "benchmarks"), folder / "benchmarks")
    (folder / "benchmarks" / "cases" / "linear.py").write_text(
        "from ..harness import case\n\n"
        "@case('Linear 600x256->1024')\n"
        "def report(lib):\n"
        "    import numpy_transformer as nt\n"
        f"    raise ValueError({message_code})\n")
    return str(folder)


def test_the_other_side_runs_the_other_trees_code(tmp_path):
    other = _tree_whose_linear_case_raises(tmp_path / "other", "'the other tree'")
    sides = (("other", "numpy", other),)
    with pytest.raises(RuntimeError, match="the other tree"):
        harness._rounds("Linear 600x256->1024", rounds=1, threads=1, pause=0.0, sides=sides)


def test_our_side_runs_the_kernel_set_asked_for_after_the_clis_cpu_settings(tmp_path):
    tree = _tree_whose_linear_case_raises(
        tmp_path / "tree", "f'{nt.kernels.active()} tuned={nt.kernels.cpu_tuned()}'")
    sides = (("ours", "numpy", tree),)
    with pytest.raises(RuntimeError, match="reference tuned=True"):
        harness._rounds("Linear 600x256->1024", rounds=1, threads=1, pause=0.0, sides=sides,
                        kernels="reference")


def test_a_run_writes_its_json_and_its_own_block_of_the_performance_page(monkeypatch, tmp_path):
    monkeypatch.setattr(harness, "ROUND_SECONDS", 0.0)
    monkeypatch.setattr(harness, "gemm_speeds", lambda threads: [50.0, 99.0])
    page = tmp_path / "performance.md"
    page.write_text("# Performance\n\nWritten by hand.\n")
    options = ["--filter", "Linear 600x256->1024", "--rounds", "1", "--threads", "1",
               "--pause", "0", "--json", str(tmp_path / "layers.json"), "--write", str(page)]
    harness.main(options)
    harness.main(options)                               # the second run replaces its block
    record = json.loads((tmp_path / "layers.json").read_text())
    assert record["command"] == 'python -m benchmarks.layers --rounds 1 --filter "Linear 600x256->1024" --threads 1'
    assert {"date", "commit", "machine", "numpy", "torch"} <= set(record)
    assert record["probe_before"] == [50.0, 99.0] and len(record["rows"]) == 1
    text = page.read_text()
    assert text.startswith("# Performance\n\nWritten by hand.\n")
    assert text.count("| Linear 600x256->1024 |") == 1
    assert "GEMM probe before: 1024^3 float32 product: 50 GFLOP/s on 1 thread, 99 on 1" in text
    assert f"commit `{record['commit']}`" in text


def test_several_runs_are_written_as_one_table_of_their_medians(monkeypatch, tmp_path):
    monkeypatch.setattr(harness, "ROUND_SECONDS", 0.0)
    monkeypatch.setattr(harness, "gemm_speeds", lambda threads: [50.0, 99.0])
    options = ["--filter", "Linear 600x256->1024", "--rounds", "1", "--threads", "1", "--pause", "0"]
    runs = [tmp_path / f"run{k}.json" for k in range(3)]
    ratios = [harness.main(options + ["--json", str(run)])[0]["ratio"] for run in runs]
    page = tmp_path / "performance.md"
    rows = harness.main(["--from-json", *map(str, runs), "--write", str(page),
                         "--json", str(tmp_path / "median.json")])
    assert rows[0]["ratio"] == sorted(ratios)[1] and rows[0]["run_ratios"] == ratios
    assert len(json.loads((tmp_path / "median.json").read_text())["runs"]) == 3
    text = page.read_text()
    assert "the median of 3 runs" in text and "| each run |" in text
    assert text.count("GEMM probe before") == 3


def test_each_recipe_tagged_case_is_a_recipe():
    from numpy_transformer.recipes import RECIPES
    harness.load_cases()
    tagged = {r for r in harness.RECIPE_OF.values() if r}
    assert tagged <= set(RECIPES) and len(tagged) == 8


@pytest.mark.parametrize("dso, symbol, lib, part", [
    ("libscipy_openblas64_-32a4b2a6.so", "sgemm_kernel_HASWELL", "numpy", "products"),
    ("libscipy_openblas64_-32a4b2a6.so", "blas_thread_server", "numpy", "waiting"),
    ("[JIT] tid 6314", "0x00007f9d1e3ed42a", "numpy", "compiled"),
    ("[JIT] tid 6314", "0x00007f9d1e3ed42a", "torch", "products"),
    ("_multiarray_umath.cpython-311-x86_64-linux-gnu.so", "simd_exp_FLOAT", "numpy", "elementwise"),
    ("libtorch_cpu.so", "mkl_blas_avx2_sgemm_kernel_0", "torch", "products"),
    ("libtorch_cpu.so", "at::native::vectorized_loop", "torch", "elementwise"),
    ("libgomp.so.1", "gomp_barrier_wait_end", "torch", "waiting"),
    ("libpython3.11.so.1.0", "_PyEval_EvalFrameDefault", "numpy", "python"),
    ("[kernel.kallsyms]", "clear_page_erms", "numpy", "system"),
])
def test_anatomy_puts_each_sample_in_the_part_its_library_and_function_name(dso, symbol, lib, part):
    from benchmarks.anatomy import part_of
    assert part_of(dso, symbol, lib) == part


@pytest.mark.skipif(shutil.which("perf") is None, reason="Linux perf is not installed")
def test_anatomy_samples_both_libraries_and_its_parts_add_up_to_the_cpu_time():
    from benchmarks.anatomy import PARTS, profile
    try:
        side = profile("Linear 600x256->1024", "numpy", seconds=0.5, threads=1)
    except RuntimeError as error:                   # perf present but not allowed to sample
        pytest.skip(f"perf cannot sample here: {str(error)[-200:]}")
    assert side["ms_per_step"] > 0 and set(side["parts"]) == set(PARTS)
    assert sum(side["parts"].values()) == pytest.approx(side["cpu_ms_per_step"], rel=0.05)
    assert side["parts"]["products"] > 0.3 * side["cpu_ms_per_step"]    # a product, mostly
