"""Environment helpers: device choice, seeding, offline detection, doctor."""

from __future__ import annotations

import os
import socket
import threading
import time

import numpy as np
import pytest
import torch

import course_utils as cu
from course_utils import checkup, env


def test_cpu_is_chosen_without_a_gpu(capsys):
    if torch.cuda.is_available():
        pytest.skip("this check describes a CPU-only machine")
    device = env._choose_device()
    assert device.type in ("cpu", "mps")
    assert "device:" in capsys.readouterr().out


def test_requesting_a_missing_device_says_what_exists():
    if torch.cuda.is_available():
        pytest.skip("CUDA exists here")
    with pytest.raises(ValueError, match="not available here"):
        env._choose_device("cuda")
    with pytest.raises(ValueError, match="expected one of"):
        env._choose_device("tpu")


def test_seed_everything_repeats_every_generator():
    import random

    env._seed_everything(7)
    a = (random.random(), np.random.rand(), torch.rand(3))
    env._seed_everything(7)
    b = (random.random(), np.random.rand(), torch.rand(3))
    assert a[0] == b[0] and a[1] == b[1] and torch.equal(a[2], b[2])


def test_offline_detection_is_fast_and_sets_the_hub_switches(monkeypatch):
    monkeypatch.setattr(env, "_online_cache", None)
    for var in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "P2L_OFFLINE"):
        monkeypatch.delenv(var, raising=False)
    # A loopback port nobody listens on: the connection is refused at once.
    monkeypatch.setattr(env, "HUB_HOST", ("127.0.0.1", 9))
    start = time.perf_counter()
    assert env.is_online(refresh=True) is False
    assert time.perf_counter() - start < 2.0
    assert os.environ["HF_HUB_OFFLINE"] == "1" and os.environ["HF_DATASETS_OFFLINE"] == "1"


def test_a_hanging_network_is_given_up_within_the_timeout(monkeypatch):
    monkeypatch.setattr(env, "_online_cache", None)
    for var in ("HF_HUB_OFFLINE", "P2L_OFFLINE"):
        monkeypatch.delenv(var, raising=False)
    release = threading.Event()

    def hang(*args, **kwargs):
        release.wait(10)
        raise OSError("gave up")

    monkeypatch.setattr(socket, "create_connection", hang)
    start = time.perf_counter()
    assert env.is_online(timeout=0.5, refresh=True) is False
    release.set()
    assert time.perf_counter() - start < 1.5


def test_online_when_the_host_answers(monkeypatch):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    monkeypatch.setattr(env, "HUB_HOST", server.getsockname())
    monkeypatch.setattr(env, "_online_cache", None)
    for var in ("HF_HUB_OFFLINE", "P2L_OFFLINE"):
        monkeypatch.delenv(var, raising=False)
    try:
        assert env.is_online(refresh=True) is True
    finally:
        server.close()


def test_doctor_reports_versions_device_and_data(capsys):
    report = cu.doctor(check_network=False)
    out = capsys.readouterr().out
    assert report.facts["torch"] == torch.__version__.split("+")[0] or report.facts["torch"].startswith(torch.__version__[:4])
    assert "device" in report.facts and "widgets" in report.facts
    assert report.ok, f"problems on the CI machine: {report.problems}"
    assert "everything the course needs is here" in out


def test_doctor_names_a_fix_for_each_problem(monkeypatch):
    monkeypatch.setattr(checkup, "_version", lambda dist: None if dist == "mlxtend" else "9.9")
    report = cu.doctor(check_network=False, verbose=False)
    problems = [p for p in report.problems if "mlxtend" in p.what]
    assert problems and "make install" in problems[0].fix


def test_setup_seeds_and_returns_the_device(capsys):
    device = cu.setup(seed=3, threads=1)
    first = torch.rand(2)
    cu.setup(seed=3, threads=1, verbose=False)
    assert torch.equal(first, torch.rand(2))
    assert isinstance(device, torch.device)
    assert torch.get_num_threads() == 1
    assert "seed 3" in capsys.readouterr().out
    env.set_threads()


def test_platform_detection_outside_jupyter():
    assert env._detect_platform() == "plain"
