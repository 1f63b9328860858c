"""The one catalogue of words (riskpool/present/labels.toml): both languages for every key, the
same placeholders in both, every key the code asks for, and a unit and a name for every scenario
field (riskpool.scenario.field_unit)."""

from __future__ import annotations

import re
import string
from collections import Counter
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

import pytest
from pydantic import BaseModel

from riskpool import report, scenario
from riskpool.present import figures, views
from riskpool.present.labels import LABELS, LANGS, load_catalogue, t
from riskpool.webapp import controls

PACKAGE = Path(__file__).resolve().parents[1] / "riskpool"
# t("key", ...) or tr("key", ...) with a literal key; and f-string keys, of which the part before
# the first {...} must begin some key
LITERAL_KEY = re.compile(r"""\bt[r]?\(\s*(["'])([^"'{}\s]+)\1""")
FSTRING_KEY = re.compile(r"""\bt[r]?\(\s*f(["'])([^"'{]*)\{""")


def sources() -> list[tuple[Path, str]]:
    return [(p, p.read_text(encoding="utf-8")) for p in sorted(PACKAGE.rglob("*.py"))]


def fields(model: type[BaseModel], prefix: str = "") -> list[tuple[str, Any]]:
    """(dotted path, field) of every scalar or list-of-scalars field, sections flattened
    (``regions.lending.tenor_months``, ``sharing.bands.max_loan``)."""
    out = []
    for name, field in model.model_fields.items():
        sub, _ = scenario._model_in(field.annotation)
        out += fields(sub, f"{prefix}{name}.") if sub else [(f"{prefix}{name}", field)]
    return out


def placeholders(text: str) -> Counter[str]:
    return Counter(name for _, name, _, _ in string.Formatter().parse(text) if name is not None)


def test_every_key_has_both_languages() -> None:
    assert len(LABELS) > 300
    assert [k for k, texts in LABELS.items() if len(texts) != len(LANGS) or not all(x.strip() for x in texts)] == []


def test_both_languages_of_a_key_have_the_same_placeholders() -> None:
    differ = {k: (placeholders(zh), placeholders(en)) for k, (zh, en) in LABELS.items()
              if placeholders(zh) != placeholders(en)}
    assert differ == {}


def test_no_two_keys_say_the_same_in_both_languages() -> None:
    seen = Counter(LABELS.values())
    assert [k for k, texts in LABELS.items() if seen[texts] > 1] == []


def test_the_catalogue_refuses_what_is_not_one_zh_and_one_en_text() -> None:
    with pytest.raises(ValueError, match="a.b needs exactly a zh and an en text"):
        load_catalogue('[a.b]\nzh = "甲"\n')
    with pytest.raises(ValueError, match="a.b needs exactly a zh and an en text"):
        load_catalogue('[a.b]\nzh = "甲"\nen = "A"\nfr = "A"\n')
    with pytest.raises(ValueError, match="a is not a table"):
        load_catalogue('a = "A"\n')
    with pytest.raises(ValueError, match="a.b is given twice"):
        load_catalogue('"a.b" = {zh = "乙", en = "B"}\n[a]\nb = {zh = "甲", en = "A"}\n')


def test_every_key_the_code_names_literally_is_in_the_catalogue() -> None:
    missing, prefixes = [], []
    for path, text in sources():
        missing += [f"{path.name}: {m[2]}" for m in LITERAL_KEY.finditer(text) if m[2] not in LABELS]
        prefixes += [(path.name, m[2]) for m in FSTRING_KEY.finditer(text)]
    assert missing == []
    assert len(prefixes) > 5
    assert [f"{name}: {prefix}..." for name, prefix in prefixes if not any(k.startswith(prefix) for k in LABELS)] == []


def test_every_key_the_code_builds_is_in_the_catalogue() -> None:
    built = [*(f"report.brief_{n}" for n in report.MODEL_BRIEF), *(f"report.step_{n}" for n in report.MONTH_ORDER),
             *(f"report.rule_{n}{end}" for n in report.RULES for end in ("", "_title")),
             *(f"section.{part}" for part in (*report.SCENARIO_PARTS, "regions", "sharing.bands")),
             *(key for key, _ in views.COMPARED), *figures.SOBOL_OUTPUTS.values(), *scenario.TIERS,
             *(f"param.regions.{c}" for c in ("id", "parent", "fund", "annual_topup", "pd_multiplier")),
             *(f"param.regions.lending.{f}" for f in report.LENDING_FIELDS)]
    assert [k for k in built if k not in LABELS] == []
    for lang in LANGS:  # each control and section names itself, its unit and its choices from the catalogue
        for section in controls.SECTIONS:
            assert section.label(lang)
            for control in section.controls:
                assert control.label(lang) and all(control.choice_label(v) for v in control.choices)
                control.help(lang)


def test_every_report_rule_names_only_values_the_report_fills() -> None:
    raw = scenario.load("hunan-baseline").canonical()
    values, _ = report._rule_values(raw, "en")
    for name in report.RULES:
        for lang in LANGS:
            assert set(placeholders(t(f"report.rule_{name}", lang))) <= set(values), name


def test_every_scenario_field_has_a_unit_and_a_name() -> None:
    """A new scenario field needs ``json_schema_extra=_unit(...)`` in riskpool/scenario.py and a
    ``param.<path>`` name in labels.toml (a band's shares are named as the shares they replace)."""
    shares = set(scenario.Shares.model_fields)
    paths = [path for path, _ in fields(scenario.Scenario)]
    assert "regions.lending.tenor_months" in paths and "sharing.bands.max_loan" in paths
    assert [p for p in paths if scenario.field_unit(p)[0] is None] == []
    named = [p.replace("sharing.bands.", "sharing.").replace("products.", "sharing.")
             .replace("banks.shares.", "sharing.") if p.split(".")[-1] in shares
             else p for p in paths]
    assert [p for p in named if f"param.{p}" not in LABELS] == []
    assert [p for p in scenario.OVERRIDE_UNITS if scenario.field_unit(p) != ("multiple", False)] == []


def test_choice_fields_are_literals_with_words_for_every_value() -> None:
    choices = [(p, f) for p, f in fields(scenario.Scenario) if scenario.field_unit(p)[0] == "choice"]
    assert {p for p, _ in choices} == {"rules.compensation_basis", "rules.shortfall", "rules.leverage_scope",
                                       "regions.topup_rule", "rules.deposits", "book.loans.status"}
    for path, field in choices:
        assert get_origin(field.annotation) is Literal
        assert [v for v in get_args(field.annotation) if f"choice.{path.split('.')[-1]}.{v}" not in LABELS] == []


def test_units_name_what_the_report_shows() -> None:
    assert scenario.field_unit("regions.430104.fund") == scenario.field_unit("regions.fund") == ("yuan", False)
    assert scenario.field_unit("regions.changsha.lending.loan_size_mean") == ("yuan", False)
    assert scenario.field_unit("sharing.bands[0].fund") == ("fraction", False)
    assert scenario.field_unit("rules.leverage") == ("multiple", True)
    assert scenario.field_unit("regions") == scenario.field_unit("no.such.path") == (None, False)
    assert "unit" in scenario.Scenario.model_json_schema()["$defs"]["Credit"]["properties"]["annual_pd"]


def test_every_scenario_description_is_in_both_languages_and_not_in_the_model() -> None:
    """What a parameter means lives in labels.toml (help.<path>), not in pydantic's description."""
    paths = {p for p, _ in fields(scenario.Scenario)}
    assert [p for p, f in fields(scenario.Scenario) if f.description] == []
    helps = [k.removeprefix("help.") for k in LABELS if k.startswith("help.")]
    assert helps and [p for p in helps if p not in paths] == []
