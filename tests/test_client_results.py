"""Search results in notebooks and scripts: indexing, flat records, the HTML table."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pytest

from paraseek.client import SearchHit, SearchResult, StyleScore


def result_of(*hits: SearchHit) -> SearchResult:
    return SearchResult(hits=list(hits), collection="voices-v2", model="tiny", encode_ms=1.0, search_ms=2.0,
                        total_ms=3.5, text_cached=False)


@pytest.fixture
def result(tmp_path: Path) -> SearchResult:
    clip = tmp_path / "clip one.wav"
    clip.write_bytes(b"RIFF")
    return result_of(
        SearchHit(id="a", score=0.9, payload={"path": str(clip), "gender": "female", "tags": {"pitch": "low"}},
                  styles={"emotion": [StyleScore("calm", 0.4123), StyleScore("sad", 0.2)]}),
        SearchHit(id="b", score=0.5, payload={"id": "p225_001", "speaker": "<b>p225</b> & co", "path": None}),
        SearchHit(id="c", score=0.1, payload={"path": "https://example.org/c.wav"}),
    )


class Table(HTMLParser):
    """The cells, audio sources and tags of an HTML table."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self.audio: list[str] = []
        self.tags: list[str] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "audio":
            self.audio.append(dict(attrs)["src"] or "")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append("".join(self._cell))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def test_hits_by_rank_and_slices(result: SearchResult) -> None:
    assert result[0].id == "a" and result[-1].id == "c"
    top = result[:2]
    assert isinstance(top, SearchResult) and [h.id for h in top] == ["a", "b"]
    assert top.collection == "voices-v2" and top.total_ms == 3.5
    assert len(result[1:]) == 2 and len(result) == 3
    with pytest.raises(IndexError):
        result[3]


def test_records_are_flat(result: SearchResult) -> None:
    records = result.to_records()
    assert records[0] == {"id": "a", "score": 0.9, "path": result[0].payload["path"], "gender": "female",
                          "tags.pitch": "low", "style.emotion": "calm (0.412), sad (0.200)"}
    assert records[1] == {"id": "b", "score": 0.5, "payload.id": "p225_001", "speaker": "<b>p225</b> & co",
                          "path": None}
    assert result_of().to_records() == []


def test_html_table_plays_local_files_and_escapes_text(result: SearchResult) -> None:
    page = result._repr_html_()
    table = Table()
    table.feed(page)
    assert "b" not in table.tags, "payload text must not become markup"
    header, *rows = table.rows
    assert header[:4] == ["#", "score", "id", "audio"]
    assert len(rows) == 3
    speaker = header.index("speaker")
    assert rows[1][speaker] == "<b>p225</b> & co"
    assert rows[0][header.index("style.emotion")] == "calm (0.412), sad (0.200)"
    assert rows[1][header.index("path")] == ""
    assert table.audio == [Path(result[0].payload["path"]).as_uri()]
    assert "clip%20one.wav" in table.audio[0]
    assert "3 hits from voices-v2" in page


def test_wire_payloads_come_back_as_plain_values() -> None:
    from google.protobuf import struct_pb2

    from paraseek.client.protocol import struct_dict

    sent = {"count": 3, "ratio": 0.25, "name": "p225", "whispered": False, "speaker": None,
            "tags": ["calm", 2, {"depth": 1.5}], "measured": {"pitch": {"median_hz": 180.0}, "empty": []}}
    message = struct_pb2.Struct()
    message.update(sent)
    received = struct_dict(message)
    assert received == {**sent, "measured": {"pitch": {"median_hz": 180}, "empty": []}}
    assert type(received["count"]) is int and type(received["ratio"]) is float
    assert type(received["measured"]["pitch"]["median_hz"]) is int  # JSON numbers: integral ones as ints
    assert received["whispered"] is False and received["speaker"] is None
