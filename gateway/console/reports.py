"""The reports page: the /v1/reports/* answers, drawn as charts (gateway/console/charts.py)."""

from __future__ import annotations

import asyncio

from gateway.console.api import Caller
from gateway.console.charts import Bar, Row, bar_chart, diverging_chart

REPORTS = ("funnel", "time-to-hire", "notification-timing", "sources", "interviewers", "talent-pool")


async def gather(api: Caller, params: dict) -> dict[str, dict | None]:
    """Every report for the same filters; one the key may not read (or that fails) is None."""
    answers = await asyncio.gather(*(api.get_or_none(f"/v1/reports/{name}", **params) for name in REPORTS))
    return dict(zip(REPORTS, answers, strict=True))


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f} %"


def _hours(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 60 else f"{seconds / 60:.0f} min" if seconds < 3600 else \
        f"{seconds / 3600:.1f} h"


def _days(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} d"


def funnel_chart(report: dict | None):
    rows = []
    for group in (report or {}).get("groups", []):
        for stage in group["stages"]:
            if not stage["reached"] and stage["status"] == "awaiting_approval":
                continue  # basic roles skip approvals: an empty bar there would read as a drop to zero
            text = f"{stage['reached']}" + (f" · {_pct(stage['conversion'])}" if stage.get("conversion") is not None
                                            else "")
            rows.append(Row(f"{group.get('division') or ''} · {stage['status'].replace('_', ' ')}",
                            (Bar(stage["reached"], text),)))
    return bar_chart("chart-funnel", "Hiring funnel",
                     "Applications that reached each stage, and the share of the stage before that reached it.", rows)


def time_to_hire_chart(report: dict | None):
    rows = []
    for g in (report or {}).get("groups", []):
        offer, hire = g.get("to_offer_days") or {}, g.get("to_hire_days") or {}
        rows.append(Row(f"{g['division']} · {g['tier']} · to offer",
                        (Bar(offer.get("median"), f"median {_days(offer.get('median'))}", 0),
                         Bar(offer.get("p90"), f"p90 {_days(offer.get('p90'))}", 1))))
        rows.append(Row(f"{g['division']} · {g['tier']} · to hire",
                        (Bar(hire.get("median"), f"median {_days(hire.get('median'))}", 0),
                         Bar(hire.get("p90"), f"p90 {_days(hire.get('p90'))}", 1))))
    return bar_chart("chart-time-to-hire", "Time to offer and to hire",
                     "Days from application to offer and to hire, median and 90th percentile, per division and tier.",
                     rows, series=["median", "p90"])


def timing_chart(report: dict | None):
    rows = []
    for g in (report or {}).get("groups", []):
        if g["kind"] != "offer":
            continue
        delay = g.get("median_delay_seconds")
        after = f" · after {_hours(delay)}" if delay is not None else ""
        rows.append(Row(f"{g.get('tier') or ''} · {g['mode'].replace('_', ' ')}{after}",
                        (Bar(g.get("acceptance_rate"), f"accepted {_pct(g.get('acceptance_rate'))}", 0),
                         Bar(g.get("no_show_rate"), f"no-show {_pct(g.get('no_show_rate'))}", 1))))
    return bar_chart("chart-timing", "Notification timing against acceptance and no-show",
                     "For offers by tier and timing mode, with the median delay from decision to notice: the share "
                     "accepted and the share of accepted offers that ended in a no-show.",
                     rows, series=["accepted", "no-show"], max_value=1)


def sources_chart(report: dict | None):
    rows = [Row(s["source"], (Bar(s["applications"], f"{s['applications']} applications", 0),
                              Bar(s["hires"], f"{s['hires']} hired ({_pct(s.get('hire_rate'))})", 1)))
            for s in (report or {}).get("items", [])]
    return bar_chart("chart-sources", "Source channels",
                     "Applications and hires per source channel, with the share hired.", rows,
                     series=["applications", "hires"])


def leniency_chart(report: dict | None):
    rows = [Row(i["interviewer"], (Bar(i.get("leniency_z"), (
        f"z {i['leniency_z']:+.2f} (mean {i['mean_rating']:.2f})" if i.get("leniency_z") is not None
        else f"mean {i['mean_rating']:.2f}" if i.get("mean_rating") is not None else "—"),
        0 if (i.get("leniency_z") or 0) >= 0 else 1),))
        for i in (report or {}).get("items", [])]
    return diverging_chart("chart-leniency", "Interviewer leniency",
                           "Each interviewer's mean rating as a z-score against the other interviewers: "
                           "left of the line harsher, right more lenient.", rows)


def charts(figures: dict[str, dict | None]) -> dict:
    return {
        "funnel": funnel_chart(figures["funnel"]),
        "time-to-hire": time_to_hire_chart(figures["time-to-hire"]),
        "notification-timing": timing_chart(figures["notification-timing"]),
        "sources": sources_chart(figures["sources"]),
        "interviewers": leniency_chart(figures["interviewers"]),
    }
