"""SVG charts: well-formed, escaped, and bars sized by the data."""
from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from markupsafe import Markup

from tracker.web.charts import Series, hbars, nice_ceiling, stacked_bars

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg: Markup) -> ET.Element:
    assert isinstance(svg, Markup)
    return ET.fromstring(str(svg))  # raises on anything that is not well-formed XML


def bars(root: ET.Element) -> list[ET.Element]:
    return [r for r in root.iter(f"{SVG}rect") if r.get("class") == "bar"]


@pytest.mark.parametrize(("value", "top"), [(0, 1), (1, 1), (3, 5), (5, 5), (7, 10), (11, 20), (180, 200),
                                            (0.37, 0.5), (1001, 2000)])
def test_axis_tops_are_round(value, top):
    assert nice_ceiling(value) == pytest.approx(top)


def test_stacked_bars_heights_follow_the_data():
    root = parse(stacked_bars(["11-11", "11-12", "11-13"], [Series("停滞", [2, 4, 0]), Series("破损", [1, 0, 0])],
                              title="每日异常", width=340, height=200))
    drawn = bars(root)
    assert len(drawn) == 3  # zeros draw nothing
    # the tallest column (4) under a top of 5: the plot is 200 - legend - axis high
    heights = [float(r.get("height")) for r in drawn]
    plot = heights[2] / 4 * 5
    assert heights == pytest.approx([plot * 2 / 5, plot * 1 / 5, plot * 4 / 5], abs=0.1)
    first_day = [r for r in drawn if r.find(f"{SVG}title").text.startswith("11-11")]
    # stacked: the second series sits on top of the first
    below, above = first_day
    assert float(above.get("y")) + float(above.get("height")) == pytest.approx(float(below.get("y")), abs=0.1)
    assert below.get("fill") != above.get("fill")
    assert root.find(f"{SVG}title").text == "每日异常"
    assert "11-12 · 停滞: 4" in [t.text for t in root.iter(f"{SVG}title")]


def test_hbars_widths_and_values():
    root = parse(hbars([("中通", 50), ("圆通", 25), ("无", None)], title="x", width=400, max_value=100,
                       fmt=lambda v: f"{v:.0f}%"))
    drawn = bars(root)
    assert len(drawn) == 2
    w1, w2 = (float(r.get("width")) for r in drawn)
    assert w1 == pytest.approx(2 * w2, abs=0.1)
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert texts == ["中通", "50%", "圆通", "25%", "无", "—"]


def test_labels_are_escaped():
    evil = '<script>alert(1)</script>"&'
    for svg in (stacked_bars([evil], [Series(evil, [1])], title=evil), hbars([(evil, 1)], title=evil)):
        assert "<script>" not in svg
        root = parse(svg)
        assert root.get("aria-label") == evil
        assert evil in [t.text for t in root.iter(f"{SVG}text")] + [t.text for t in root.iter(f"{SVG}title")]


def test_empty_charts_still_render():
    assert bars(parse(stacked_bars([], [], title="空"))) == []
    assert bars(parse(stacked_bars(["11-11"], [Series("a", [0])], title="空"))) == []
    assert bars(parse(hbars([], title="空"))) == []
