"""The end-to-end results as Markdown tables and as a chart (PNG, matplotlib)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from e2e_report import QUOTED_SEED

DASH = "—"


def _cell(figure: dict[str, float] | None, digits: int = 2, scale: float = 1.0) -> str:
    """``median (min–max)``, or the value alone when every run gave the same."""
    if not figure:
        return DASH
    low, mid, high = (figure[k] * scale for k in ("min", "median", "max"))
    text = f"{mid:,.{digits}f}"
    if round(low, digits) != round(high, digits):
        text += f" ({low:,.{digits}f}–{high:,.{digits}f})"
    return text


def _ratio(row: dict[str, float] | None) -> str:
    if not row:
        return DASH
    return f"{row['median']:,.1f}× ({row['worst']:,.1f}–{row['best']:,.1f})"


#: The baselines measured in the same run, by their key in a size's results.
BASELINE_LABELS = {
    "peer": "best peer (polars + xlsxwriter)",
    "baseline": "old way (pandas + openpyxl)",
}


def results_table(sizes: list[dict[str, Any]]) -> str:
    """One row per size for the stack, the old way measured alongside, and the quoted seed."""
    lines = [
        "| run | invoices | input MB | upload s | queue s | processing s | download s "
        "| end to end s | records/s | api RSS MB (upload) | worker RSS MB (tree) "
        "| worker PSS MB (tree) | worker RSS MB (one process) | ZIP MB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for size in sizes:
        mb = size["inputBytes"] / 1e6
        for label, source in (
            ("stack", "e2e"),
            ("stack, helpers (AR_BUILD_PROCESSES=0)", "e2eHelpers"),
        ):
            s = (size.get(source) or {}).get("summary")
            if not s:
                continue
            lines.append(
                f"| {label} | {size['records']:,} | {mb:,.0f} | {_cell(s['uploadSeconds'])} "
                f"| {_cell(s['queueWaitSeconds'])} | {_cell(s['processingSeconds'])} "
                f"| {_cell(s['downloadSeconds'])} | {_cell(s['totalSeconds'])} "
                f"| {_cell(s['recordsPerSecond'], 0)} | {_cell(s['apiUploadPeakRssMB'], 0)} "
                f"| {_cell(s['workerTreePeakRssMB'], 0)} "
                f"| {_cell(s.get('workerTreePeakPssMB'), 0)} "
                f"| {_cell(s['workerProcessPeakRssMB'], 0)} | {_cell(s['zipBytes'], 1, 1e-6)} |"
            )
        for key, label in BASELINE_LABELS.items():
            base = size.get(key) or {}
            b = base.get("summary")
            if b and "seconds" in b:
                lines.append(
                    f"| {label} | {size['records']:,} | {mb:,.0f} | {DASH} "
                    f"| {DASH} | {_cell(b['seconds'])} | {DASH} | {_cell(b['seconds'])} "
                    f"| {_cell(b['recordsPerSecond'], 0)} | {DASH} | {_cell(b['peakRssMB'], 0)} "
                    f"| {DASH} | {_cell(b['peakRssMB'], 0)} | {_cell(b['zipBytes'], 1, 1e-6)} |"
                )
            elif base.get("note"):
                lines.append(f"| {label} | {size['records']:,} | {mb:,.0f} "
                             f"| {base['note']} |" + " |" * 10)  # fmt: skip
    q = QUOTED_SEED
    lines.append(
        f"| {q['label']} | {q['records']:,} | {DASH} | {DASH} | {DASH} | {DASH} | {DASH} "
        f"| {q['seconds']:,.0f} | {q['records'] / q['seconds']:,.0f} | {DASH} "
        f"| {q['peakRssMB']:,.0f} | {DASH} | {q['peakRssMB']:,.0f} | {DASH} |"
    )
    return "\n".join(lines)


def ratios_table(rows: list[dict[str, Any]], quoted: dict[str, Any] | None) -> str:
    """Old way ÷ new way, measured in the same run: median (worst–best pairing of runs)."""
    lines = [
        "| invoices | faster, end to end | faster, processing | less memory (worker tree) "
        "| less memory (worker tree, PSS) | less memory (worker process) |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row['records']:,} | {_ratio(row['speedupEndToEnd'])} "
            f"| {_ratio(row['speedupProcessing'])} | {_ratio(row['lessMemoryVsWorkerTree'])} "
            f"| {_ratio(row.get('lessMemoryVsWorkerTreePss'))} "
            f"| {_ratio(row['lessMemoryVsWorkerProcess'])} |"
        )
    if quoted:
        lines.append(
            f"| {quoted['records']:,} vs seed (quoted) | {_ratio(quoted['speedupEndToEnd'])} "
            f"| {DASH} | {_ratio(quoted['lessMemoryVsWorkerTree'])} | {DASH} | {DASH} |"
        )
    return "\n".join(lines)


def stages_table(stages: list[dict[str, Any]]) -> str:
    """Seconds per stage of a worker's processing, per size."""
    names = ["parse", "price", "totals", "xlsx", "csv", "zip", "other"]
    lines = [
        "| invoices | build s (CPU s) | "
        + " | ".join(names)
        + " | build s, 2 processes | S3 read payload s | S3 write ZIP s | build peak RSS MB "
        "| S3 adds MB |",
        "|---:|---:|" + "---:|" * (len(names) + 5),
    ]
    for row in stages:
        total = row["instrumentedSeconds"] or 1
        cells = " | ".join(
            f"{row['stages'][n]:.2f} ({100 * row['stages'][n] / total:.0f} %)" for n in names
        )
        lines.append(
            f"| {row['records']:,} | {row['buildSeconds']:.2f} ({row['buildCpuSeconds']:.2f}) "
            f"| {cells} | {row.get('buildSecondsTwoProcesses', DASH)} "
            f"| {row.get('s3GetPayloadSeconds', DASH)} "
            f"| {row.get('s3PutZipSeconds', DASH)} "
            f"| {row['buildPeakRssMB']:.0f} | {row.get('s3PeakRssGrowthMB', DASH)} |"
        )
    return "\n".join(lines)


def load_table(throughput: dict[str, Any] | None, polling: dict[str, Any] | None) -> str:
    """Jobs/minute under the cap and status polling, idle and while jobs are built."""
    lines = ["| figure | value |", "|---|---|"]
    if throughput:
        t = throughput
        lines += [
            f"| jobs queued at once | {t['jobs']} × {t['recordsPerJob']:,} invoices |",
            f"| jobs/minute (client wall clock) | {t['jobsPerMinute']} |",
            f"| jobs/minute (first created → last completed) | {t['serverJobsPerMinute']} |",
            f"| most jobs running at once (cap 2; from the jobs' start and end) "
            f"| {t['mostRunningAtOnce']} |",
            f"| processing s per job, median / max | {t['processingSecondsMedian']} / "
            f"{t['processingSecondsMax']} |",
        ]
        cpu = t.get("cpu")
        if cpu:
            lines.append(
                f"| CPU during the batch | stack {cpu['stackCpuSeconds']} s (worker "
                f"{cpu['workerCpuSeconds']} s, api {cpu['apiCpuSeconds']} s, S3 "
                f"{cpu['s3CpuSeconds']} s) over {t['wallSeconds']} s; other work on the "
                f"machine: {cpu['otherCores']} cores |"
            )
    for label, key in (("idle stack", "idle"), ("while jobs are built", "busy")):
        p = (polling or {}).get(key)
        if p:
            lines.append(
                f"| GET /status, {label} ({p['tool']}, {p['seconds']:.0f} s) "
                f"| {p['requestsPerSecond']:,} req/s, p50 {p['p50Ms']} ms, "
                f"p99 {p['p99Ms']} ms, {p['errors']} errors |"
            )
    busy = (polling or {}).get("busy", {}).get("batchWhilePolled")
    if busy:
        lines.append(f"| jobs/minute while polled | {busy['jobsPerMinute']} "
                     f"({busy['jobs']} jobs) |")  # fmt: skip
    return "\n".join(lines)


def targets_table(rows: list[dict[str, Any]]) -> str:
    """Each target: limit, the median measured, the worst run, met or not."""
    lines = ["| target | limit | measured (median) | worst run | met |", "|---|---:|---:|---:|---|"]
    for row in rows:
        value = DASH if row["value"] is None else f"{row['value']:,}"
        worst = DASH if row["worstRun"] is None else f"{row['worstRun']:,}"
        met = {True: "yes", False: "**no**", None: "not run"}[row["met"]]
        sign = "≤" if row["kind"] == "at most" else "≥"
        lines.append(f"| {row['target']} | {sign} {row['limit']:,} | {value} | {worst} | {met} |")
    return "\n".join(lines)


def chart(sizes: list[dict[str, Any]], path: Path) -> bool:
    """Time and peak memory against dataset size, as a PNG; False without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    x = [s["records"] for s in sizes]
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.8))

    def plot(axis: Any, rows: list[dict[str, Any]], source: str, key: str, **style: Any) -> None:
        points = [(s["records"], s[source]["summary"][key]) for s in rows
                  if ((s.get(source) or {}).get("summary") or {}).get(key)]  # fmt: skip
        if not points:
            return
        xs = [p[0] for p in points]
        mid = [p[1]["median"] for p in points]
        err = [[p[1]["median"] - p[1]["min"] for p in points],
               [p[1]["max"] - p[1]["median"] for p in points]]  # fmt: skip
        axis.errorbar(xs, mid, yerr=err, capsize=3, marker="o", **style)

    plot(left, sizes, "e2e", "totalSeconds", label="stack: end to end")
    plot(left, sizes, "e2e", "processingSeconds", label="stack: processing", linestyle="--")
    plot(left, sizes, "e2e", "uploadSeconds", label="stack: upload", linestyle=":")
    plot(left, sizes, "e2eHelpers", "processingSeconds",
         label="stack with helpers: processing", linestyle="-.")  # fmt: skip
    plot(left, sizes, "baseline", "seconds", label="old way (pandas + openpyxl)", color="red")
    plot(left, sizes, "peer", "seconds", label=BASELINE_LABELS["peer"], color="purple")
    left.scatter([QUOTED_SEED["records"]], [QUOTED_SEED["seconds"]], marker="x", s=80,
                 color="black", label="seed, quoted (not measured)", zorder=5)  # fmt: skip
    left.set(title="Time against dataset size", xlabel="invoices", ylabel="seconds (log)",
             yscale="log")  # fmt: skip
    plot(right, sizes, "e2e", "workerTreePeakRssMB", label="worker, whole tree")
    plot(right, sizes, "e2e", "workerTreePeakPssMB", label="worker, whole tree (PSS)",
         linestyle="-.")  # fmt: skip
    plot(right, sizes, "e2eHelpers", "workerTreePeakRssMB",
         label="worker, whole tree, with helpers", linestyle=(0, (1, 3)))  # fmt: skip
    plot(right, sizes, "e2e", "workerProcessPeakRssMB", label="worker, one process",
         linestyle="--")  # fmt: skip
    plot(right, sizes, "e2e", "apiUploadPeakRssMB", label="api, during upload", linestyle=":")
    plot(right, sizes, "baseline", "peakRssMB", label="old way (pandas + openpyxl)", color="red")
    plot(right, sizes, "peer", "peakRssMB", label=BASELINE_LABELS["peer"], color="purple")
    right.scatter([QUOTED_SEED["records"]], [QUOTED_SEED["peakRssMB"]], marker="x", s=80,
                  color="black", label="seed, quoted (not measured)", zorder=5)  # fmt: skip
    right.set(title="Peak RSS against dataset size", xlabel="invoices", ylabel="MB (log)",
              yscale="log")  # fmt: skip
    for axis in (left, right):
        axis.set_xticks(x, [f"{n:,}" for n in x], rotation=0)
        axis.grid(True, which="both", alpha=0.3)
        axis.legend(fontsize=8)
    fig.suptitle("Async Reports, FacturacionMasiva: median of runs, bars from min to max")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def noise_table(sizes: list[dict[str, Any]]) -> str:
    """CPU of the stack during the runs, and what other work took (a shared machine)."""
    lines = [
        "| invoices | stack CPU s per job | of which worker | api | S3 server "
        "| machine busy (cores) | other work (cores) | waited for quiet s |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for size in sizes:
        s = size["e2e"]["summary"]
        if "stackCpuSeconds" in s:
            lines.append(
                f"| {size['records']:,} | {_cell(s['stackCpuSeconds'])} "
                f"| {_cell(s.get('workerCpuSeconds'))} | {_cell(s.get('apiCpuSeconds'))} "
                f"| {_cell(s.get('s3CpuSeconds'))} "
                f"| {_cell(s['machineBusyCores'])} | {_cell(s['otherCores'])} "
                f"| {_cell(s.get('quietWaitSeconds'), 0)} |"
            )
    return "\n".join(lines)
