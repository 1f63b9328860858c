"""Chinese and English words shared by the web app, the charts and the report.

Every label lives once in labels.toml (package data), keyed by name, with its zh and en text;
``t(key, lang)`` picks the language. Number formats are riskpool.present.formats.
"""

from __future__ import annotations

import tomllib
from importlib import resources
from typing import Any, Literal

Lang = Literal["zh", "en"]
LANGS: tuple[Lang, ...] = ("zh", "en")
CATALOGUE = "labels.toml"


def load_catalogue(text: str) -> dict[str, tuple[str, str]]:
    """key: (zh, en) of a catalogue's TOML text; nested tables join their names with dots.

    >>> load_catalogue('fund.zh = "资金池"\\nfund.en = "Fund"\\n[param]\\n"credit.annual_pd" = {zh = "年违约率", en = "PD"}')
    {'fund': ('资金池', 'Fund'), 'param.credit.annual_pd': ('年违约率', 'PD')}
    """
    labels: dict[str, tuple[str, str]] = {}

    def walk(table: dict[str, Any], prefix: str) -> None:
        for name, entry in table.items():
            key = prefix + name
            if not isinstance(entry, dict):
                raise ValueError(f"{CATALOGUE}: {key} is not a table of zh and en")
            if "zh" not in entry and "en" not in entry:
                walk(entry, key + ".")
            elif set(entry) != set(LANGS) or not all(isinstance(entry[lang], str) for lang in LANGS):
                raise ValueError(f"{CATALOGUE}: {key} needs exactly a zh and an en text")
            elif key in labels:
                raise ValueError(f"{CATALOGUE}: {key} is given twice")
            else:
                labels[key] = (entry["zh"], entry["en"])

    walk(tomllib.loads(text), "")
    return labels


LABELS: dict[str, tuple[str, str]] = load_catalogue(
    (resources.files(__package__) / CATALOGUE).read_text(encoding="utf-8"))  # key: (zh, en)


def translate(labels: dict[str, tuple[str, str]], key: str, lang: Lang, **values: object) -> str:
    """The label ``key`` of ``labels`` in ``lang``, formatted with ``values`` if it has placeholders."""
    text = labels[key][0 if lang == "zh" else 1]
    return text.format(**values) if values else text


def t(key: str, lang: Lang, **values: object) -> str:
    """A label shared by the app, the charts and the report."""
    return translate(LABELS, key, lang, **values)

