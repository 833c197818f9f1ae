"""The job cache: a job whose config and input bytes are unchanged is restored, not run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import subprocess_env

from djsandbox.cache import cache_root
from djsandbox.errors import ConfigError

PLUGINS = ["sandbox_test_plugins", "cache_test_plugins"]


@pytest.fixture()
def calls(tmp_path, monkeypatch):
    """Reads how many times each test component ran."""
    path = tmp_path / "calls.log"
    monkeypatch.setenv("DJSANDBOX_TEST_CALLS", str(path))
    monkeypatch.setenv("DJSANDBOX_CACHE_DIR", str(tmp_path / "cache"))
    return lambda: path.read_text().split() if path.exists() else []


def upper_job(data, **extra):
    return {
        "hook": "EvaluateDataHook",
        "meta_name": "upper",
        "extra_configs": {
            "type": "test_upper",
            "dataset_path": str(data),
            "export_path": "${work_dir}/upper/out.txt",
            **extra,
        },
    }


def run(run_cfg, tmp_path, name, jobs, **extra):
    work = tmp_path / name
    out = run_cfg({"evaluation_job_configs": jobs}, work_dir=str(work), plugins=PLUGINS, **extra)
    state = json.loads((work / "sandbox_state.json").read_text())
    return out, work, state["jobs"]


def cache_of(statuses):
    return [s.get("notes", {}).get("cache") for s in statuses.values()]


def test_hit_restores_results_and_files_of_the_new_run_miss_on_config_or_input_change(
    run_cfg, tmp_path, calls, capsys
):
    data = tmp_path / "data.txt"
    data.write_text("one\ntwo\n")
    _, first, st = run(run_cfg, tmp_path, "first", [upper_job(data)])
    assert calls() == ["upper"] and cache_of(st) == ["miss"]
    out, second, st = run(run_cfg, tmp_path, "second", [upper_job(data)])
    assert calls() == ["upper"] and cache_of(st) == ["hit"]
    assert "done (restored from the job cache; it ran " in capsys.readouterr().out
    res = out.context.iterations[0]["anonymous"]["upper"]
    # results name this run's own files, which hold what the job wrote
    assert res["res_1"] == str(second / "upper" / "out.txt")
    assert res["res_2"]["note"].startswith(str(second / "iter_0"))
    assert Path(res["res_1"]).read_text() == "ONE\nTWO\n"
    # a file that names the run's own paths names the new run's
    note = {"rows": 2, "export": str(second / "upper" / "out.txt")}
    assert json.loads(Path(res["res_2"]["note"]).read_text()) == note
    # a private, writable copy: changing it reaches neither the cache nor the first run
    restored = Path(res["res_1"])
    assert restored.stat().st_nlink == 1 and os.access(restored, os.W_OK)
    blobs = list((cache_root() / "entries").rglob("files/*"))
    assert blobs and all(not os.access(b, os.W_OK) or os.geteuid() == 0 for b in blobs)
    assert not any(os.path.samefile(restored, b) for b in blobs)
    restored.write_text("changed by a later job\n")
    assert "ONE" in (first / "upper" / "out.txt").read_text()
    _, _, st = run(run_cfg, tmp_path, "third", [upper_job(data)])
    assert (
        cache_of(st) == ["hit"] and (tmp_path / "third/upper/out.txt").read_text() == "ONE\nTWO\n"
    )
    # a config value the component reads, then the input file's bytes
    _, _, st = run(run_cfg, tmp_path, "times", [upper_job(data, times=2)])
    assert cache_of(st) == ["miss"] and calls() == ["upper"] * 2
    data.write_text("one\nthree\n")
    _, fourth, st = run(run_cfg, tmp_path, "bytes", [upper_job(data)])
    assert cache_of(st) == ["miss"] and calls() == ["upper"] * 3
    assert (fourth / "upper" / "out.txt").read_text() == "ONE\nTHREE\n"


def test_secrets_stay_out_of_the_entry_and_do_not_change_the_key(run_cfg, tmp_path, calls):
    data = tmp_path / "data.txt"
    data.write_text("x\n")
    secret = "sk-live-0123456789abcdefSECRET"
    run(run_cfg, tmp_path, "a", [upper_job(data, api_key=secret)])
    files = [p for p in cache_root().rglob("*") if p.is_file()]
    assert files and not any(secret in p.read_text(errors="replace") for p in files)
    material = next(cache_root().rglob("material.json")).read_text()
    assert "***" in material and "test_upper" in material
    _, _, st = run(run_cfg, tmp_path, "b", [upper_job(data, api_key=secret + "2")])
    assert cache_of(st) == ["hit"]


def test_cache_false_globally_or_per_job_and_training_only_when_asked(run_cfg, tmp_path, calls):
    data = tmp_path / "data.txt"
    data.write_text("x\n")
    for name in ("a", "b"):
        run(run_cfg, tmp_path, name, [upper_job(data)], cache=False)
    run(run_cfg, tmp_path, "c", [{**upper_job(data), "cache": False}])
    assert calls() == ["upper"] * 3 and not (cache_root() / "entries").exists()
    train = {
        "hook": "TrainModelHook",
        "meta_name": "fit",
        "extra_configs": {"type": "test_fit", "dataset_path": str(data)},
    }
    for name in ("d", "e"):
        run_cfg({"execution_job_configs": [train]}, work_dir=str(tmp_path / name), plugins=PLUGINS)
    assert calls().count("fit") == 2  # training is not cached by default
    for name in ("f", "g"):
        out = run_cfg(
            {"execution_job_configs": [{**train, "cache": True}]},
            work_dir=str(tmp_path / name),
            plugins=PLUGINS,
        )
    assert calls().count("fit") == 3
    checkpoint = Path(out.context.iterations[0]["anonymous"]["fit"]["res_1"])
    assert checkpoint == tmp_path / "g/iter_0/anonymous/execution_0_fit/model.ckpt"
    assert checkpoint.read_text() == "weights for 'x\\n'"
    with pytest.raises(ConfigError, match="cache: expected true or false, got 'yes'"):
        run(run_cfg, tmp_path, "h", [{**upper_job(data), "cache": "yes"}])


def test_a_changed_entry_is_discarded_and_the_job_runs(run_cfg, tmp_path, calls):
    data = tmp_path / "data.txt"
    data.write_text("x\n")
    run(run_cfg, tmp_path, "a", [upper_job(data)])
    for blob in (cache_root() / "entries").rglob("files/*"):
        blob.chmod(0o644)
        blob.write_text("poisoned\n")
    _, work, st = run(run_cfg, tmp_path, "b", [upper_job(data)])
    assert cache_of(st) == ["miss"] and calls() == ["upper"] * 2
    assert (work / "upper" / "out.txt").read_text() == "X\n"
    _, work, st = run(run_cfg, tmp_path, "c", [upper_job(data)])
    assert cache_of(st) == ["hit"] and (work / "upper" / "out.txt").read_text() == "X\n"


def test_two_processes_with_the_same_job_compute_it_once(tmp_path, calls):
    """The second waits on the entry's lock, then restores what the first stored."""
    data = tmp_path / "data.txt"
    data.write_text("x\n")
    procs = []
    for name in ("a", "b"):
        cfg = {
            "work_dir": str(tmp_path / name),
            "plugins": PLUGINS,
            "evaluation_job_configs": [upper_job(data, seconds=3)],
        }
        (tmp_path / f"{name}.json").write_text(json.dumps(cfg))
        env = {**subprocess_env(), "DJSANDBOX_TEST_CALLS": str(tmp_path / "calls.log")}
        env["DJSANDBOX_CACHE_DIR"] = str(tmp_path / "cache")
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "djsandbox.cli", "--config", str(tmp_path / f"{name}.json")],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
        )
    outputs = [p.communicate(timeout=120)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    assert calls() == ["upper"]
    assert any("waits for another process" in o for o in outputs), outputs
    for name in ("a", "b"):
        assert (tmp_path / name / "upper" / "out.txt").read_text() == "X\n"


def test_ls_and_prune_by_size_and_age_touch_nothing_outside_the_cache(
    run_cfg, tmp_path, calls, capsys
):
    from djsandbox.cache.__main__ import main

    data = tmp_path / "data.txt"
    for n in range(3):
        data.write_text(f"row {n}\n" * (n + 1))
        run(run_cfg, tmp_path, f"r{n}", [upper_job(data)])
    beside = cache_root().parent / "keep.txt"
    beside.write_text("not the cache's")
    stray = cache_root() / "entries" / "not-an-entry"
    stray.mkdir()
    assert main(["ls"]) == 0
    listed = capsys.readouterr().out
    assert "3 entries" in listed and "evaluation_job_configs[0]" in listed
    assert main(["prune"]) == 2  # says what to remove
    assert main(["prune", "--older-than", "1d"]) == 0
    assert "0 entries removed" in capsys.readouterr().out
    assert main(["prune", "--max-size", "1"]) == 0  # keeps none: each is over a byte
    assert "3 entries removed" in capsys.readouterr().out
    main(["ls"])
    assert "(empty)" in capsys.readouterr().out
    assert beside.read_text() == "not the cache's" and stray.is_dir()
    assert main(["prune", "--max-size", "lots"]) == 2


def test_an_output_file_naming_its_own_path_names_the_new_runs(run_cfg, tmp_path, calls):
    data = tmp_path / "data.txt"
    data.write_text("a\n")
    for name in ("one", "two"):
        _, work, st = run(run_cfg, tmp_path, name, [upper_job(data, stamp=True)])
    assert cache_of(st) == ["hit"]
    out = work / "upper" / "out.txt"
    assert out.read_text() == f"A\nwritten to {out}\n"


def test_a_job_reading_an_earlier_jobs_file_hits_in_a_new_run_folder(run_cfg, tmp_path, calls):
    """The input's path differs between run folders; its bytes (with the run folder's own
    path written as a token) do not."""
    data = tmp_path / "data.txt"
    data.write_text("a\n")
    second = {
        **upper_job(data),
        "meta_name": "again",
        "input": {"extra_configs.dataset_path": "-1.res_2.note"},
    }
    second["extra_configs"] = {**second["extra_configs"], "export_path": "${work_dir}/b.txt"}
    for name in ("one", "two"):
        _, work, st = run(run_cfg, tmp_path, name, [upper_job(data), second])
    assert calls() == ["upper", "upper"] and cache_of(st) == ["hit", "hit"]
    assert json.loads((work / "b.txt").read_text())["ROWS"] == 1


@pytest.mark.slow
def test_a_rerun_of_the_unchanged_demo_restores_every_job(tmp_path):
    env = {**subprocess_env(), "DJSANDBOX_CACHE_DIR": str(tmp_path / "cache")}
    rows = []
    keys = ("pipeline", "rows kept", "test.accuracy", "test.macro_f1")
    for name in ("first", "rerun"):
        proc = subprocess.run(
            [sys.executable, "-m", "djsandbox", "trainer=debug", f"work_dir={tmp_path / name}"],
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        jobs = json.loads((tmp_path / name / "sandbox_state.json").read_text())["jobs"]
        summary = json.loads((tmp_path / name / "summary.json").read_text())
        rows.append([{k: r.get(k) for k in keys} for r in summary["pipelines"]])
    assert [j["notes"]["cache"] for j in jobs.values()] == ["hit"] * 7
    assert proc.stdout.count("done (restored from the job cache; it ran ") == 7
    assert rows[0][1]["test.accuracy"] is not None and rows[0] == rows[1]


def test_a_data_juicer_jobs_key_follows_the_media_its_rows_name(tmp_path, calls):
    """Video and image ops read the files the rows name, not only the dataset's bytes."""
    from djsandbox.cache.keys import Places, job_key
    from djsandbox.context import Context
    from djsandbox.hooks.base import JobRun
    from djsandbox.hooks.data_juicer import ProcessDataHook

    video = tmp_path / "clip.mp4"
    video.write_bytes(b"one")
    data = tmp_path / "rows.jsonl"
    data.write_text(json.dumps({"videos": ["clip.mp4"], "text": "t"}) + "\n")
    recipe = {
        "dataset_path": str(data),
        "export_path": str(tmp_path / "run" / "out.jsonl"),
        "video_key": "videos",
        "process": [{"video_motion_score_filter": {"min_score": 0.1}}],
    }
    run = JobRun("job", "p", "m", 0, recipe, None, tmp_path / "run" / "job", [tmp_path], Context())

    def key() -> str:
        return job_key(
            "ProcessDataHook",
            ProcessDataHook(),
            run,
            Places(tmp_path / "run", run.job_dir, [tmp_path]),
        )[0]

    before = key()
    assert key() == before
    video.write_bytes(b"re-rendered at the same path")
    assert key() != before


def _generated(run: Path, clip: bytes) -> Path:
    """A generated.jsonl inside `run` naming one clip inside `run` (as EasyAnimate's writes)."""
    videos = run / "generate" / "videos"
    videos.mkdir(parents=True, exist_ok=True)
    (videos / "a prompt-0.mp4").write_bytes(clip)
    rows = run / "generate" / "generated.jsonl"
    rows.write_text(json.dumps({"videos": [str(videos / "a prompt-0.mp4")], "seed": 1}) + "\n")
    return rows


def test_a_row_files_digest_follows_the_bytes_of_the_clips_it_names(tmp_path, calls):
    """Two runs' generated.jsonl read alike (same prompts, seed and places in their run
    folders); an evaluator's result depends on the clips. Other clips: another digest (this
    restored one model's FVDs for another's once); the same clips: the same digest; a clip
    re-rendered under its name: another digest, though the row file is unchanged."""
    from djsandbox.cache.files import Digests

    one, two, three = (tmp_path / n for n in ("one", "two", "three"))
    rows = {run: _generated(run, clip) for run, clip in ((one, b"A"), (two, b"A"), (three, b"B"))}
    digests = Digests()
    same, other = (digests.file(rows[r], r) for r in (two, three))
    first = digests.file(rows[one], one)
    assert first == same and first != other
    (one / "generate" / "videos" / "a prompt-0.mp4").write_bytes(b"re-rendered")
    assert Digests().file(rows[one], one) != first  # the memo keeps names, not the clips' bytes


def test_media_names_are_found_across_blocks_relative_and_escaped(tmp_path, monkeypatch):
    from djsandbox.cache import media_refs
    from djsandbox.cache.files import Digests

    monkeypatch.setattr(media_refs, "BLOCK", 64)  # many blocks, lines cut between them
    clips = tmp_path / "clips"
    clips.mkdir()
    (clips / "café.MP4").write_bytes(b"x")
    lines = [{"text": "no media here. a sentence.", "n": i} for i in range(20)]
    lines.insert(7, {"videos": ["clips/café.MP4"], "text": 'a "quoted" word.mp4 in text'})
    lines.append({"image": "/nowhere/img.png"})
    data = tmp_path / "rows.jsonl"
    data.write_text("\n".join(json.dumps(r) for r in lines))  # ensure_ascii: \u00e9
    assert media_refs.named_media(data) == ["clips/café.MP4", "/nowhere/img.png"]
    assert media_refs.resolve_media("clips/café.MP4", data) == clips / "café.MP4"
    text_only = tmp_path / "text.jsonl"
    text_only.write_text("\n".join(json.dumps(r) for r in lines[:5]))
    assert media_refs.named_media(text_only) == []
    digests = Digests()
    assert digests.file(text_only) == digests._own(text_only, None)  # keys of text data unchanged
    before = digests.file(data)
    (clips / "café.MP4").write_bytes(b"y")
    assert Digests().file(data) != before
