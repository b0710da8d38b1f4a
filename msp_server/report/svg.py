"""Inline SVG charts (no script, no external reference): hours per day as bars stacked by
project, and each project's progress from its first to its last session in the range."""

from __future__ import annotations

import math
from datetime import date
from html import escape
from typing import Any

from msp_server.report.text import MONTHS, hours, one_line, signed

PALETTE = ("#2f6fdf", "#e07b39", "#3a9d5d", "#9b59b6", "#c0392b", "#16a2b8", "#b7950b", "#7f8c8d")
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def colors(projects: list[str]) -> dict[str, str]:
    return {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(projects)}


def _nice_max(value: float) -> float:
    """The axis top: a round number of hours (4 grid steps), at least one hour."""
    value = max(value, 1.0)
    power = 10 ** math.floor(math.log10(value))
    steps = (1, 1.2, 1.6, 2, 3, 4, 6, 8, 10)
    return float(next(step * power for step in steps if step * power >= value))


def _label(day: str) -> tuple[str, str]:
    d = date.fromisoformat(day)
    return WEEKDAYS[d.weekday()], f"{d.day} {MONTHS[d.month - 1]}"


def hours_chart(days: list[dict[str, Any]], palette: dict[str, str]) -> str:
    width, height, left, bottom, top = 720, 240, 44, 40, 14
    plot_w, plot_h = width - left - 8, height - bottom - top
    top_value = _nice_max(max((d["hours"] for d in days), default=0.0))
    slot = plot_w / max(len(days), 1)
    bar = max(min(slot * 0.7, 48), 1.5)
    every = max(1, math.ceil(len(days) / 14))  # at most ~14 day labels
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="Hours per day" xmlns="http://www.w3.org/2000/svg">'
    ]
    for i in range(5):
        value = top_value * i / 4
        y = top + plot_h - plot_h * i / 4
        parts.append(
            f'<line x1="{left}" x2="{width - 8}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" class="axis" text-anchor="end">'
            f"{value:g} h</text>"
        )
    for i, day in enumerate(days):
        x = left + slot * i + (slot - bar) / 2
        y = top + plot_h
        for project, value in day["projects"].items():
            h = plot_h * value / top_value
            if h <= 0:
                continue
            y -= h
            title = escape(f"{day['date']} · {project}: {value:.2f} h")
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                f'fill="{palette.get(project, PALETTE[-1])}"><title>{title}</title></rect>'
            )
        if day["hours"] and len(days) <= 31:
            parts.append(
                f'<text x="{x + bar / 2:.1f}" y="{y - 4:.1f}" class="value" '
                f'text-anchor="middle">{hours(day["hours"])[:-2]}</text>'
            )
        if i % every == 0:
            weekday, label = _label(day["date"])
            cx = left + slot * i + slot / 2
            parts.append(
                f'<text x="{cx:.1f}" y="{top + plot_h + 16}" class="axis" '
                f'text-anchor="middle">{weekday}</text>'
                f'<text x="{cx:.1f}" y="{top + plot_h + 30}" class="axis" '
                f'text-anchor="middle">{label}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


def progress_chart(projects: list[dict[str, Any]], palette: dict[str, str]) -> str:
    row, width, label_w = 34, 720, 170
    track = width - label_w - 150
    height = row * len(projects) + 8
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="Progress per project" xmlns="http://www.w3.org/2000/svg">'
    ]
    for i, p in enumerate(projects):
        y = 4 + i * row
        low, high = sorted((p["fromProgress"], p["toProgress"]))
        color = palette.get(p["project"], PALETTE[-1])
        parts.append(
            f'<text x="0" y="{y + 18}" class="label">{escape(one_line(p["project"], 24))}</text>'
            f'<rect x="{label_w}" y="{y + 6}" width="{track}" height="16" rx="3" class="track"/>'
            f'<rect x="{label_w}" y="{y + 6}" width="{track * low / 100:.1f}" height="16" '
            f'rx="3" fill="{color}" opacity="0.35"/>'
            f'<rect x="{label_w + track * low / 100:.1f}" y="{y + 6}" '
            f'width="{track * (high - low) / 100:.1f}" height="16" fill="{color}"/>'
            f'<text x="{label_w + track + 10}" y="{y + 18}" class="label">'
            f"{p['fromProgress']}% → {p['toProgress']}% ({signed(p['progress'])})</text>"
        )
    parts.append("</svg>")
    return "".join(parts)
