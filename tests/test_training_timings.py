"""`python -m training all --timings`: what each step, and each network of a step, took."""

from __future__ import annotations

from training.__main__ import step_seconds_of_each


def test_a_step_that_trains_several_networks_gives_each_its_own_time():
    entries = {"cnn": {"training_seconds": 2336.0}, "cnn_2": {"training_seconds": 778.0}}
    shares = step_seconds_of_each(entries, 3144.0)  # 30 s besides: the re-drawn copies, shared out
    assert {key: seconds for key, (_, seconds) in shares.items()} == {"cnn": 2351.0, "cnn_2": 793.0}
    assert step_seconds_of_each({"knn": {}}, 102.0)["knn"][1] == 102.0
    # Not every entry records its own time: the step's time is shared out evenly, as before.
    assert step_seconds_of_each({"a": {}, "b": {"training_seconds": 5.0}}, 10.0)["a"][1] == 5.0
