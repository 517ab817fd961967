"""The README's "What an answer costs" table and the lines under it, from the cost benchmarks' JSON.

Called by `python -m bench.tables` (the `costs` table); each function reads one bench/results file and
returns markdown lines.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

REPOSITORY = Path(__file__).resolve().parent.parent

REQUEST_COST = REPOSITORY / "bench" / "results" / "request_cost.json"
INTERLEAVED_COST = REPOSITORY / "bench" / "results" / "interleaved_cost.json"
PAGE_STROKES = REPOSITORY / "bench" / "results" / "page_strokes_c6d89a7.json"
LOAD_SIDE_BY_SIDE = REPOSITORY / "bench" / "results" / "load_side_by_side.json"
LIBRARY_SHARE = REPOSITORY / "bench" / "results" / "library_share.json"
LOAD_REPLICAS = REPOSITORY / "bench" / "results" / "load_replicas.json"
LOAD_REPLICAS_PINNING = REPOSITORY / "bench" / "results" / "load_replicas_pinning.json"
GIL_HANDOVER = REPOSITORY / "bench" / "results" / "gil_handover.json"
LOAD_PAGE = REPOSITORY / "bench" / "results" / "load_side_by_side_page.json"
PATHS = {
    "page_event": "the page's drawing event, uploaded",
    "page_event_blobs": "the same, as the canvas posts it (blobs)",
    "classify_session": "`/classify`, with a session hash",
    "classify_no_session": "`/classify`, without one (curl)",
    "read_number": "`/read_number` (4 digits)",
    "api_classify": "`POST /api/classify` (new)",
}


def ratio(today: float, before: float) -> str:
    return f"{today / before:.2f}x" if before else ""


def costs_table() -> list[str]:
    """What an answer costs, today's code against the previous, measured side by side in one run
    (bench/results/interleaved_cost.json; the floor from request_cost.json; load_side_by_side.json)."""
    interleaved = json.loads(INTERLEAVED_COST.read_text())
    per_path = interleaved["paths"]
    lines = [
        "| one client, requests one after another | app CPU per answer | ratio | p50 |",
        "| --- | --- | --- | --- |",
    ]
    for path, label in PATHS.items():
        # The new route has no previous: it is compared with the previous /classify.
        old = per_path[path].get("before") or per_path["classify_session"]["before"]
        new = per_path[path]["this"]
        lines.append(
            f"| {label} | {old['app_cpu_ms_per_answer']:.1f} -> {new['app_cpu_ms_per_answer']:.1f} ms | "
            f"{ratio(new['app_cpu_ms_per_answer'], old['app_cpu_ms_per_answer'])} | "
            f"{old['p50_ms']:.1f} -> {new['p50_ms']:.1f} ms |"
        )
    page_strokes = json.loads(PAGE_STROKES.read_text())
    strokes = page_strokes["median"]
    old, new = strokes["before"]["app_cpu_ms_per_stroke"], strokes["this"]["app_cpu_ms_per_stroke"]
    requests = {name: requests_per_stroke(runs) for name, runs in page_strokes["runs"].items()}
    lines.append(
        f"| a stroke on the real page (Chromium; `bench.page_strokes`) | {old:.0f} -> {new:.0f} ms | "
        f"{ratio(new, old)} | |"
    )
    library = json.loads(REQUEST_COST.read_text())["library_ms_per_image"]
    lines += [
        "",
        "Previous -> today: both apps running, each request sent to one and then the other (mean CPU, "
        "median latency over 200 each); a stroke: Chromium drawing 20 strokes on each app, twice, per stroke "
        "the app's CPU (with what it spends between strokes) and the page's requests "
        f"({requests['before']:.1f} -> {requests['this']:.1f}, of which uploads "
        f"{requests_per_stroke(page_strokes['runs']['before'], 'gradio_api/upload'):.1f} -> "
        f"{requests_per_stroke(page_strokes['runs']['this'], 'gradio_api/upload'):.1f}). "
        "The floor, in-process CPU per image: "
        f"decoding and preprocessing {library['decoding_and_preprocessing']:.1f} ms, "
        f"every model and the ensemble {library['every_model_and_the_ensemble']:.1f} ms "
        f"({library['library_total']:.1f} ms in all); the rest of the app's CPU is the HTTP server and Gradio.",
    ]
    if paired := interleaved.get("sessionless_over_session"):
        lines += [
            "",
            "`/classify` without a session hash against with one, the two interleaved request by request in the "
            f"same run: {paired['this']:.2f}x the CPU today, {paired['before']:.2f}x before.",
        ]
    return [
        *lines,
        "",
        *load_table(),
        "",
        *page_load_line(),
        "",
        *library_share_line(),
        "",
        *gil_handover_line(),
        "",
        *replicas_table(),
    ]


def load_table() -> list[str]:
    """20 clients on today's code against the previous, loads alternating (load_side_by_side.json)."""
    load = json.loads(LOAD_SIDE_BY_SIDE.read_text())
    medians, ratios = load["medians"], load["ratios_to_before"]
    columns = ("before_classify", "this_classify", "this_api")
    lines = [
        "| 20 clients, each its own session | previous `/classify` | today `/classify` | today `POST /api/classify` |",
        "| --- | --- | --- | --- |",
    ]
    for label, key, unit in (
        ("throughput", "concurrent_requests_per_second", " req/s"),
        ("p95", "concurrent_p95_ms", " ms"),
        ("errors", "concurrent_errors", ""),
        ("app CPU per request", "app_cpu_ms_per_request", " ms"),
        ("app CPU, cores", "app_cpu_cores", ""),
        ("the load generator's CPU per request", "load_generator_cpu_ms_per_request", " ms"),
        ("machine busy (both cores)", "machine_busy_percent", "%"),
    ):
        cells = [f"{medians[columns[0]][key]:g}{unit}"] + [
            f"{medians[name][key]:g}{unit} ({ratios[name].get(key, 0):.2f}x)"
            if key != "concurrent_errors"
            else f"{medians[name][key]:g}"
            for name in columns[1:]
        ]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return lines


def page_load_line() -> list[str]:
    """The page's drawing event under 20 clients, today's code against the previous (load_side_by_side_page.json)."""
    load = json.loads(LOAD_PAGE.read_text())
    before, today = load["medians"]["before_page"], load["medians"]["this_page"]
    ratios = load["ratios_to_before"]["this_page"]

    def change(key: str, unit: str) -> str:
        return f"{before[key]:g} -> {today[key]:g}{unit} ({ratios[key]:.2f}x)"

    return [
        "The page's own drawing event under 20 clients, each its own session (`bench.load_side_by_side --page`:"
        " upload, queue join, the session's event stream; loads alternating): throughput"
        f" {change('concurrent_requests_per_second', ' req/s')}, p95 {change('concurrent_p95_ms', ' ms')}, app CPU"
        f" per event {change('app_cpu_ms_per_request', ' ms')}, {today['concurrent_errors']:g} errors."
    ]


def library_share_line() -> list[str]:
    """What bounds one process under 20 clients: the app against itself with some of its library's answers
    remembered (library_share.json)."""
    found = json.loads(LIBRARY_SHARE.read_text())
    as_is, parts = found["medians"]["as_is"], found["remembered_against_as_is"]

    def part(name: str) -> str:
        return (
            f"{parts[name]['app_cpu_ms_per_answer']:g} ms ({parts[name]['share_of_app_cpu']:.0%}; without it"
            f" {parts[name]['throughput_ratio']:.2f}x the throughput, p95 {parts[name]['p95_ratio']:.2f}x)"
        )

    return [
        "What bounded one process under those 20 clients in round 18, before the change below (`bench.library_share`:"
        " the same app with some of its"
        " library's work done once per example image, every upload, queue event and stream still made; loads"
        f" alternating): of the {as_is['app_cpu_ms_per_request']:g} ms of app CPU an answer costs there, decoding,"
        f" preprocessing and the models are {part('library')}; decoding and preprocessing alone"
        f" {part('preprocessing')}, the models alone {part('models')}. Gradio's three requests, queue and stream"
        " are the rest."
    ]


def gil_handover_line() -> list[str]:
    """Why preprocessing cost more in a loaded app than alone (bench/results/gil_handover.json)."""
    found = json.loads(GIL_HANDOVER.read_text())
    alone, beside, many = found["alone"], found["beside_busy_python"], found["threads_16"]
    return [
        f"Why (`bench.gil_handover`): `to_mnist` takes {alone['thread_cpu_ms_per_call']:g} ms of its thread's CPU"
        f" per call alone, {beside['thread_cpu_ms_per_call']:g} ms beside one thread that only runs Python (as the"
        f" event loop does under load; {beside['waits_per_call']:g} waits for Python's lock per call) and"
        f" {many['process_cpu_ms_per_call']:g} ms in 16 threads at once. Since round 19 `/classify` and the page's"
        " events preprocess on the event loop, their models batch without a thread per caller, and Gradio's login"
        " check runs on the loop."
    ]


def replicas_table() -> list[str]:
    """One process against replicas behind nginx, loads alternating (bench/results/load_replicas.json); and
    against one process held to one core, where the run measured it."""
    replicas = json.loads(LOAD_REPLICAS.read_text())
    count = len(replicas["memory"]["replicas_mb"])
    one_core = "one_core" in replicas["calls"]["classify"]["median"]
    core_header = " one process on one core |" if one_core else ""
    core_ratio = " ratio to one core |" if one_core else ""
    lines = [
        f"| 20 clients (`bench.load --compare {count}`) | one process |{core_header} {count} replicas behind nginx "
        f"| ratio |{core_ratio}",
        "| --- | --- | --- | --- |" + " --- |" * (2 if one_core else 0),
    ]
    for call, label in (("classify", "`/classify`"), ("api", "`POST /api/classify`")):
        found = replicas["calls"][call]
        one, replicated = found["median"]["one_process"], found["median"]["replicas"]
        core = found["median"].get("one_core")
        core_rps = f" {core['requests_per_second']:g} req/s |" if core else ""
        core_p95 = f" {core['p95_ms']:g} ms |" if core else ""
        core_ratio = f" {found['throughput_ratio_to_one_core']:.2f}x |" if core else ""
        lines += [
            f"| {label} throughput | {one['requests_per_second']:g} req/s |{core_rps} "
            f"{replicated['requests_per_second']:g} req/s | {found['throughput_ratio']:.2f}x |{core_ratio}",
            f"| {label} p95 | {one['p95_ms']:g} ms |{core_p95} {replicated['p95_ms']:g} ms | "
            f"{found['p95_ratio']:.2f}x |" + (" |" if core else ""),
        ]
    errors = sum(found["errors"] for found in replicas["calls"].values())
    runs = replicas["calls"]["classify"]["runs"]
    seconds = replicas.get("load_seconds")
    loads = f"loads of {seconds:g} s" if seconds else "loads"
    each_client = " (each client sending back to back from its own address)" if seconds else ""
    note = (
        f"All serving at once, {len(runs['one_process'])} {loads} on each per path{each_client}, alternating "
        f"which goes first; medians; {errors} errors in all. "
    )
    if "cpu_ms_per_answer" in runs["one_process"][0]:
        cpu = {
            name: statistics.median(run["cpu_ms_per_answer"]["server"] for run in found) for name, found in runs.items()
        }
        generator = statistics.median(run["cpu_ms_per_answer"]["load_generator"] for run in runs["replicas"])
        note += (
            f"CPU per `/classify` answer: one process {cpu['one_process']:g} ms, "
            + (f"on one core {cpu['one_core']:g} ms, " if one_core else "")
            + f"the replicas and nginx {cpu['replicas']:g} ms, the load generator {generator:g} ms. "
        )
    note += "The replicas run on a core each (deploy.serve's default): "
    pinning = json.loads(LOAD_REPLICAS_PINNING.read_text())["classify"]
    pinned, unpinned = pinning["median"]["pinned"], pinning["median"]["unpinned"]
    note += (
        f"against the same replicas unpinned (`--compare {count} --pinning`), {pinned['requests_per_second']:g} "
        f"against {unpinned['requests_per_second']:g} req/s ({pinning['throughput_ratio']:.2f}x), p95 "
        f"{pinning['p95_ratio']:.2f}x."
    )
    return [*lines, "", note]


def requests_per_stroke(runs: list[dict[str, Any]], route: str | None = None) -> float:
    """The median over bench.page_strokes' runs of the page's requests per stroke (to `route`, or to all)."""
    return statistics.median(
        sum(count for name, count in run["requests_per_stroke"].items() if route in (None, name)) for run in runs
    )
