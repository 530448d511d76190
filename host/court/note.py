"""The court package's written note (文字说明材料), as HTML and PDF, Chinese with English.

The rules ask that footage used as evidence be copied with a written note of who made it,
who extracted it and when, attached to the case file on disc (R-HOST-4; regulations 002
§17, 003 §16). The note is made from the package's manifest before the manifest is signed,
so it says nothing the manifest does not, and its SHA-256 is in the manifest: an edited note
does not verify. The PDF is the same HTML laid out by WeasyPrint, with a Chinese font.
"""

import html
import subprocess

from host import i18n, localtime
from host.errors import Unusable
from host.mp4export import PAUSE_NAMES_EN, PAUSE_NAMES_ZH

# One weight: a bold face is a second font to subset into every PDF (0.03 to 0.04 s of the
# PDF's 0.2 s); the headers stand out by their size and shading instead.
CSS = """
body { font-family: "WenQuanYi Zen Hei", "Noto Sans CJK SC", sans-serif; font-size: 10pt;
       margin: 1.5em; }
h1 { font-size: 16pt; } h2 { font-size: 12pt; margin-top: 1.2em; }
h1, h2, th { font-weight: normal; }
table { border-collapse: collapse; width: 100%; margin: 0.4em 0; table-layout: fixed; }
th, td { border: 1px solid #888; padding: 2px 4px; text-align: left; vertical-align: top; }
th { background: #eee; }
th.k { width: 28%; }
.en { color: #333; font-size: 9pt; }
.hash { font-family: monospace; font-size: 7pt; word-break: break-all; }
@page { size: A4; margin: 1.5cm; }
"""


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value))


def _label(zh: str, en: str) -> str:
    return '%s<br><span class="en">%s</span>' % (_e(zh), _e(en))


def _row(zh: str, en: str, value: str) -> str:
    return "<tr><th class='k'>%s</th><td>%s</td></tr>" % (_label(zh, en), value)


def _when(ms: "int | None", zone: str) -> str:
    return _e(localtime.show(ms, zone)) if isinstance(ms, int) else "-"


def _case(case: "dict | None", zone: str) -> str:
    if case is None:
        return "<p>无关联案件 <span class='en'>No case: recordings named one by one</span></p>"
    rows = [
        _row("案件编号", "Case number", _e(case.get("number"))),
        _row("案件类型", "Case type", _e(case.get("type"))),
        _row("案由", "Title", _e(case.get("title"))),
        _row("承办人", "Responsible", _e(case.get("responsible"))),
        _row("地点", "Place", _e(case.get("place"))),
        _row("时间", "When", _when(case.get("when_ms"), zone)),
    ]
    return "<table>%s</table>" % "".join(rows)


def _recording(rec: dict, zone: str) -> str:
    chunks = rec["chunks"]
    included = [c for c in chunks if c["included"]]
    part = rec.get("range")
    rows = [
        _row("录像", "Recording", _e(rec["item"])),
        _row("制作人（执法人员）", "Maker (officer)", _e(rec.get("officer") or "-")),
        _row("执法记录仪", "Recorder (device)", _e(rec["device"])),
        _row("开始时间", "Started", _when(rec.get("started_ms"), zone)),
        _row("结束时间", "Ended", _when(rec.get("ended_ms"), zone)),
        _row(
            "证明对象", "What it is meant to prove", _e("; ".join(rec.get("proves") or []) or "-")
        ),
        _row("类别", "Category", _e(rec.get("category") or "-")),
        _row(
            "导出范围",
            "Exported",
            _e(
                "部分：%d 个片段中的 %d 个（序号 %d 至 %d）/ part: %d of %d chunks (seq %d to %d)"
                % (
                    len(included),
                    len(chunks),
                    part["first_seq"],
                    part["last_seq"],
                    len(included),
                    len(chunks),
                    part["first_seq"],
                    part["last_seq"],
                )
                if part
                else "完整录像，%d 个片段 / the whole recording, %d chunks"
                % (len(chunks), len(chunks))
            ),
        ),
    ]
    if rec.get("restricted"):
        r = rec["restricted"]
        rows.append(
            _row("涉密/隐私", "Restricted", _e("%s: %s" % (r.get("kind"), r.get("reason"))))
        )
    pauses = []
    for n, p in enumerate(rec.get("pauses") or [], 1):
        code = p.get("reason_code")
        reason = "%s / %s" % (
            PAUSE_NAMES_ZH.get(code, "未说明原因") if isinstance(code, int) else "未说明原因",
            PAUSE_NAMES_EN.get(code, "no reason given") if isinstance(code, int) else "none",
        )
        spoken = (
            "有口述原因 / spoken reason recorded"
            if p.get("spoken_seq") is not None
            else ("无口述原因 / no spoken reason")
        )
        pauses.append(
            "<li>%d. %s (seq %s): %s</li>" % (n, _e(reason), _e(p["pause_seq"]), _e(spoken))
        )
    rows.append(
        _row(
            "中断及原因",
            "Pauses and reasons",
            "<ul>%s</ul>" % "".join(pauses) if pauses else "无 / none",
        )
    )
    return "<table>%s</table>" % "".join(rows)


def _files(files: list) -> str:
    # Fixed column widths: the PDF's layout then need not measure every hash (3x faster).
    rows = [
        "<colgroup><col style='width:24%'><col style='width:11%'><col style='width:22%'>"
        "<col style='width:9%'><col style='width:34%'></colgroup>"
        "<tr><th>文件 File</th><th>类别 Category</th><th>格式 Format</th>"
        "<th>字节 Bytes</th><th>SHA-256</th></tr>"
    ]
    for f in files:
        rows.append(
            "<tr><td>%s</td><td>%s</td><td>%s</td><td>%d</td><td class='hash'>%s</td></tr>"
            % (_e(f["path"]), _e(f["category"]), _e(f["format"]), f["bytes"], _e(f["sha256"]))
        )
    return "<table>%s</table>" % "".join(rows)


def note_html(manifest: dict, files: list) -> str:
    """The note of the package ``manifest`` describes; ``files`` are the package's files
    other than the note itself and the manifest (category, format, size, SHA-256)."""
    zone = manifest["time_zone"]
    ex = manifest["extractor"]
    host = manifest["host"]
    cp = manifest["checkpoint"]
    parts = [
        "<!DOCTYPE html><html lang='zh-CN'><head><meta charset='utf-8'>",
        "<title>执法音像资料提取说明 Note of extraction</title><style>%s</style></head><body>"
        % CSS,
        "<h1>执法音像资料提取说明<br><span class='en'>Note of the extraction of enforcement "
        "footage</span></h1>",
        "<table>",
        _row("提取人", "Extractor", _e(ex["name"])),
        _row("提取时间", "Extracted at", _when(manifest["created_ms"], zone)),
        _row("提取地点", "Place of extraction", _e(manifest.get("place") or "-")),
        _row("用途", "Purpose", _e(manifest.get("purpose") or "-")),
        _row(
            "制作方法",
            "How it was made",
            "由 sealcam 从证据库导出：原始签名视频逐字节复制，未剪辑、未改动。<br><span "
            "class='en'>Exported from the sealcam evidence store: the signed original "
            "footage copied byte for byte, neither cut nor edited.</span>",
        ),
        _row(
            "证据包编号", "Package id", "<span class='hash'>%s</span>" % _e(manifest["package_id"])
        ),
        _row(
            "主机密钥指纹",
            "Host key fingerprint",
            "<span class='hash'>%s (%s)</span>" % (_e(host["fingerprint"]), _e(host["name"])),
        ),
        _row(
            "主机日志检查点",
            "Host log checkpoint",
            "<span class='hash'>%s, %d, %s</span>" % (_e(cp["origin"]), cp["size"], _e(cp["root"])),
        ),
        "</table>",
        "<h2>案件 <span class='en'>Case</span></h2>",
        _case(manifest.get("case"), zone),
        "<h2>录像 <span class='en'>Recordings</span></h2>",
    ]
    parts.extend(_recording(rec, zone) for rec in manifest["recordings"])
    parts.append("<h2>文件清单 <span class='en'>Files</span></h2>")
    parts.append(_files(files))
    parts.append(
        "<h2>如何核验 <span class='en'>How to check</span></h2><p>用浏览器打开光盘上的 "
        "verify.html，选择本文件夹；或运行 python3 verify.py。<br><span class='en'>Open "
        "verify.html from the disc in a browser and choose this folder, or run python3 "
        "verify.py.</span></p>"
    )
    for line in manifest.get("not_included") or []:
        parts.append("<p class='en'>%s</p>" % _e(line))
    parts.append(
        "<p>提取人签名 Extractor's signature: ____________　　"
        "制作人签名 Maker's signature: ____________</p></body></html>"
    )
    return "".join(parts)


_FONTS: list = []  # WeasyPrint's font configuration, made once per process


class NoChineseFont(Unusable):
    """No installed font covers Chinese: the PDF would show an empty box for every Chinese
    character of the note, and a court would be handed that."""


def _chinese_font() -> None:
    """Refuse (NoChineseFont) where fontconfig knows no font for Chinese. Asked of
    ``fc-list`` (fontconfig's own tool, installed with the library WeasyPrint lays text
    out with); where it cannot be asked, the PDF is made as WeasyPrint finds the fonts."""
    try:
        found = subprocess.run(
            ["fc-list", ":lang=zh", "family"], capture_output=True, text=True, timeout=60
        )
    except (OSError, subprocess.SubprocessError):
        return
    if found.returncode == 0 and not found.stdout.strip():
        raise NoChineseFont(i18n.text("court.no_chinese_font"))


def _font_config() -> object:
    """WeasyPrint's font configuration, made once per process, once a Chinese font is known
    to be there."""
    if not _FONTS:
        from weasyprint.text.fonts import FontConfiguration

        _chinese_font()
        _FONTS.append(FontConfiguration())
    return _FONTS[0]


def note_pdf(html_text: str) -> bytes:
    """The note as PDF (WeasyPrint, loaded only when a package is made). The fonts are
    found and loaded once per process, not once per note."""
    import logging

    from weasyprint import HTML

    logging.getLogger("weasyprint").setLevel(logging.ERROR)  # font notices are not for users
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    pdf = HTML(string=html_text).write_pdf(font_config=_font_config())
    assert pdf is not None  # write_pdf without a target returns the bytes
    return bytes(pdf)


def warm_up() -> None:
    """Load the PDF library and find the fonts (seconds, mostly the library's own loading),
    so that a note laid out later need not wait for them. Nothing is laid out: a small
    note laid out first was measured to make the real one no cheaper in all."""
    import logging

    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    try:
        _font_config()
    except NoChineseFont:
        return  # said when the note is laid out, where the package's failure is handled
