"""Scenario files: pydantic models of docs/model.md section 7, TOML loading, overrides, validation.

Money is in yuan, rates are fractions per year, times are in months unless a name says years.
Every problem found in a scenario is reported as a :class:`Problem` naming the field path
(``regions.430104.fund``), the value and what is allowed; :class:`ScenarioError` carries them
all at once, so that a user fixes a file in one pass.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import re
import sys
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, ValidationError

SHARE_TOLERANCE = 1e-9
MIN_SD = 1e-6  # smallest positive standard deviation of a recovery or a disposal delay
PARTIES = ("fund", "bank", "guarantor", "insurer", "evaluator")
TIERS = ("province", "city", "county")
DEFAULT_SCENARIO = "hunan-baseline"
MAX_UPLOAD_BYTES = 256 * 1024  # an uploaded scenario file; the Hunan baseline is 35 KiB
MAX_NESTING = 16  # tables and arrays inside one another in a scenario file; a valid one needs 3

Fraction = Annotated[float, Field(ge=0.0, le=1.0)]
# an amount in yuan; above 1e15 (some eight times China's yearly GDP) it is a typing error, and
# amounts near the float limit overflow to inf when summed over paths and months
MAX_MONEY = 1e15
Money = Annotated[float, Field(ge=0.0, le=MAX_MONEY)]


def _unit(unit: str, zero_is_none: bool = False, added: bool = False) -> dict[str, Any]:
    """A field's ``json_schema_extra``: the unit its value is read in, and whether 0 means none
    (read back by :func:`field_unit`). Units: yuan, fraction (shown in per cent), multiple,
    months, years, count, number, text, flag, choice (worded by the ``choice.`` labels).

    ``added``: an option added after the first scenario format. At its default it is left out of
    the canonical form (``Scenario.canonical``), so that adding it changes no scenario's SHA-256.
    """
    extra: dict[str, Any] = {"unit": unit}
    if zero_is_none:
        extra["zero_is_none"] = True
    if added:
        extra["added"] = True
    return extra


class _Section(BaseModel):
    """Base of every section: unknown keys and non-finite numbers are errors."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, strict=False)


class Meta(_Section):
    name: str = Field(min_length=1, max_length=200, json_schema_extra=_unit("text"))
    currency: Literal["CNY"] = Field("CNY", json_schema_extra=_unit("text"))
    description: str = Field("", max_length=5000, json_schema_extra=_unit("text"))
    illustrative: bool = Field(False, json_schema_extra=_unit("flag"))
    sources: list[str] = Field(default_factory=list, max_length=100, json_schema_extra=_unit("text"))


class Simulation(_Section):
    horizon_years: int = Field(5, ge=1, le=20, json_schema_extra=_unit("years"))
    paths: int = Field(10_000, ge=1, json_schema_extra=_unit("count"))
    seed: int = Field(0, ge=0, lt=2**63, json_schema_extra=_unit("number"))
    indicators: bool = Field(False, json_schema_extra=_unit("flag", added=True))


class Credit(_Section):
    annual_pd: Fraction = Field(json_schema_extra=_unit("fraction"))
    asset_correlation: Annotated[float, Field(ge=0.0, lt=1.0)] = Field(0.0, json_schema_extra=_unit("fraction"))
    city_correlation: Annotated[float, Field(ge=0.0, lt=1.0)] = Field(0.0, json_schema_extra=_unit("fraction"))
    stress: list[Annotated[float, Field(ge=0.0, le=1e6)]] | None = Field(None, json_schema_extra=_unit("multiple"))


class Collateral(_Section):
    recovery_mean: Fraction = Field(json_schema_extra=_unit("fraction"))
    recovery_sd: Annotated[float, Field(ge=0.0, le=0.5)] = Field(0.0, json_schema_extra=_unit("fraction"))
    disposal_cost: Fraction = Field(0.0, json_schema_extra=_unit("fraction"))
    disposal_months_mean: Annotated[float, Field(ge=0.0, le=600.0)] = Field(18.0, json_schema_extra=_unit("months"))
    disposal_months_sd: Annotated[float, Field(ge=0.0, le=600.0)] = Field(0.0, json_schema_extra=_unit("months"))
    recovery_factor_loading: Annotated[float, Field(ge=0.0, le=10.0)] = Field(0.0, json_schema_extra=_unit("number"))
    p_no_sale: Fraction = Field(0.0, json_schema_extra=_unit("fraction", added=True))
    recovery_floor: Fraction = Field(0.0, json_schema_extra=_unit("fraction", zero_is_none=True, added=True))


class Shares(_Section):
    """Who bears what fraction of the eligible base; the five shares sum to 1."""

    fund: Fraction = Field(json_schema_extra=_unit("fraction"))
    bank: Fraction = Field(json_schema_extra=_unit("fraction"))
    guarantor: Fraction = Field(0.0, json_schema_extra=_unit("fraction"))
    insurer: Fraction = Field(0.0, json_schema_extra=_unit("fraction"))
    evaluator: Fraction = Field(0.0, json_schema_extra=_unit("fraction"))

    def vector(self) -> tuple[float, float, float, float, float]:
        return (self.fund, self.bank, self.guarantor, self.insurer, self.evaluator)


class Band(Shares):
    max_loan: Annotated[float, Field(gt=0.0, le=MAX_MONEY)] = Field(json_schema_extra=_unit("yuan"))


class TierSplit(_Section):
    province: Fraction = Field(json_schema_extra=_unit("fraction"))
    city: Fraction = Field(json_schema_extra=_unit("fraction"))
    county: Fraction = Field(json_schema_extra=_unit("fraction"))


class Sharing(Shares):
    tiers: TierSplit
    bands: list[Band] = Field(default_factory=list, max_length=50)
    fund_cap_share: Annotated[float, Field(gt=0.0, le=1.0)] = Field(1.0, json_schema_extra=_unit("fraction", added=True))


class Rules(_Section):
    compensation_basis: Literal["principal", "net_loss"] = Field("principal", json_schema_extra=_unit("choice"))
    claim_lag_months: int = Field(3, ge=0, le=600, json_schema_extra=_unit("months"))
    per_loan_cap: Money = Field(0.0, json_schema_extra=_unit("yuan", zero_is_none=True))
    max_loan: Money = Field(0.0, json_schema_extra=_unit("yuan", zero_is_none=True))
    shortfall: Literal["queue", "parent", "bank"] = Field("queue", json_schema_extra=_unit("choice"))
    leverage: Annotated[float, Field(ge=0.0, le=1e6)] = Field(0.0, json_schema_extra=_unit("multiple", zero_is_none=True))
    leverage_scope: Literal["province", "county"] = Field("province", json_schema_extra=_unit("choice"))
    circuit_breaker_npl: Fraction = Field(0.0, json_schema_extra=_unit("fraction", zero_is_none=True))
    npl_warning: Fraction = Field(0.0, json_schema_extra=_unit("fraction", zero_is_none=True))
    circuit_breaker_months: int = Field(12, ge=1, le=600, json_schema_extra=_unit("months"))
    fund_interest_rate: Annotated[float, Field(ge=0.0, le=1.0)] = Field(0.0, json_schema_extra=_unit("fraction"))
    max_covered: Money = Field(0.0, json_schema_extra=_unit("yuan", zero_is_none=True, added=True))
    write_off_months: int = Field(0, ge=0, le=600, json_schema_extra=_unit("months", zero_is_none=True, added=True))
    deposits: Literal["pooled", "per_bank"] = Field("pooled", json_schema_extra=_unit("choice", added=True))


class Guarantor(_Section):
    capital: Money = Field(0.0, json_schema_extra=_unit("yuan"))
    fee_rate: Fraction = Field(0.0, json_schema_extra=_unit("fraction"))


class Insurer(_Section):
    premium_rate: Fraction = Field(0.0, json_schema_extra=_unit("fraction"))
    loss_ratio_cap: Annotated[float, Field(ge=0.0, le=1e6)] = Field(0.0, json_schema_extra=_unit("multiple"))


class Product(Shares):
    """A kind of loan (patent, trademark, geographical indication ...) with shares of its own."""

    id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$", json_schema_extra=_unit("text"))
    name: str = Field("", max_length=200, json_schema_extra=_unit("text"))
    share: Fraction = Field(json_schema_extra=_unit("fraction"))
    first_loans: Fraction = Field(0.0, json_schema_extra=_unit("fraction"))
    first_loan_bonus: Fraction = Field(0.0, json_schema_extra=_unit("fraction"))


class Layers(_Section):
    """First-loss layers, before the proportional shares (docs/model.md section 5.2)."""

    borrower_pool_rate: Fraction = Field(0.0, json_schema_extra=_unit("fraction", zero_is_none=True, added=True))
    bank_first_loss: Fraction = Field(0.0, json_schema_extra=_unit("fraction", zero_is_none=True, added=True))


class Bank(_Section):
    """A cooperating bank (合作银行): its committed credit line, and optionally its own rules and shares."""

    id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$", json_schema_extra=_unit("text"))
    name: str = Field("", max_length=200, json_schema_extra=_unit("text"))
    credit_line: Annotated[float, Field(gt=0.0, le=MAX_MONEY)] = Field(json_schema_extra=_unit("yuan"))
    leverage: Annotated[float, Field(ge=0.0, le=1e6)] = Field(0.0, json_schema_extra=_unit("multiple", zero_is_none=True))
    circuit_breaker_npl: Fraction = Field(0.0, json_schema_extra=_unit("fraction", zero_is_none=True))
    circuit_breaker_months: int = Field(12, ge=1, le=600, json_schema_extra=_unit("months"))
    shares: Shares | None = Field(None, json_schema_extra=_unit("fraction"))


MONTH_PATTERN = r"^\d{4}-(0[1-9]|1[0-2])$"  # a calendar month, YYYY-MM
MAX_BOOK_LOANS = 100_000


class BookLoan(_Section):
    """One loan of a fund's register at the valuation month (docs/model.md section 4.8)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, coerce_numbers_to_str=True)

    loan_id: str = Field(min_length=1, max_length=64, json_schema_extra=_unit("text"))
    county: str = Field(min_length=1, max_length=64, json_schema_extra=_unit("text"))
    bank: str | None = Field(None, max_length=64, json_schema_extra=_unit("text"))
    principal: Annotated[float, Field(gt=0.0, le=MAX_MONEY)] = Field(json_schema_extra=_unit("yuan"))
    start_month: str = Field(pattern=MONTH_PATTERN, json_schema_extra=_unit("text"))
    tenor_months: int = Field(ge=1, le=600, json_schema_extra=_unit("months"))
    status: Literal["performing", "overdue", "defaulted"] = Field(json_schema_extra=_unit("choice"))
    default_month: str | None = Field(None, pattern=MONTH_PATTERN, json_schema_extra=_unit("text"))
    compensated: Money = Field(0.0, json_schema_extra=_unit("yuan"))
    recovered: Money = Field(0.0, json_schema_extra=_unit("yuan"))


class Book(_Section):
    """The fund's own loans at ``valuation_month`` (month 0 of the run), in place of ``initial_loans``."""

    valuation_month: str = Field(pattern=MONTH_PATTERN, json_schema_extra=_unit("text"))
    loans: list[BookLoan] = Field(min_length=1, max_length=MAX_BOOK_LOANS, json_schema_extra=_unit("text"))


def months_between(earlier: str, later: str) -> int:
    """``later - earlier`` in whole months, both ``YYYY-MM``."""
    return (int(later[:4]) - int(earlier[:4])) * 12 + int(later[5:7]) - int(earlier[5:7])


class Spread(_Section):
    """A parameter's uncertainty: uniform on [low, high], or one of ``values`` (a calibration's
    sample, say), equally likely; in the parameter's own unit."""

    low: Annotated[float, Field(ge=0.0, le=1.0)] | None = Field(None, json_schema_extra=_unit("fraction"))
    high: Annotated[float, Field(ge=0.0, le=1.0)] | None = Field(None, json_schema_extra=_unit("fraction"))
    values: list[Fraction] | None = Field(None, min_length=1, max_length=10_000, json_schema_extra=_unit("fraction"))


class Uncertainty(_Section):
    """Parameters drawn afresh for each block of paths (docs/model.md section 2.7)."""

    annual_pd: Spread | None = None
    asset_correlation: Spread | None = None
    recovery_mean: Spread | None = None

    def spreads(self) -> list[tuple[str, Spread]]:
        """(scenario path, spread) of the uncertain parameters, in the order they are drawn."""
        named = (("credit.annual_pd", self.annual_pd), ("credit.asset_correlation", self.asset_correlation),
                 ("collateral.recovery_mean", self.recovery_mean))
        return [(path, spread) for path, spread in named if spread is not None]


class Parties(_Section):
    guarantor: Guarantor = Field(default_factory=Guarantor)
    insurer: Insurer = Field(default_factory=Insurer)


class Lending(_Section):
    initial_loans: int = Field(0, ge=0, json_schema_extra=_unit("count"))
    new_loans_per_year: Annotated[float, Field(ge=0.0)] = Field(0.0, json_schema_extra=_unit("count"))
    loan_size_mean: Annotated[float, Field(gt=0.0, le=1e12)] = Field(json_schema_extra=_unit("yuan"))
    loan_size_cv: Annotated[float, Field(ge=0.0, le=10.0)] = Field(0.0, json_schema_extra=_unit("number"))
    tenor_months: int = Field(12, ge=1, le=600, json_schema_extra=_unit("months"))
    ip_collateral_share: Fraction = Field(1.0, json_schema_extra=_unit("fraction"))


class Region(_Section):
    # county ids are GB/T 2260 codes: accept them unquoted (``id = 430104``) as text
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, coerce_numbers_to_str=True)

    id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$", json_schema_extra=_unit("text"))
    name: str = Field("", max_length=200, json_schema_extra=_unit("text"))
    tier: Literal["province", "city", "county"] = Field(json_schema_extra=_unit("text"))
    parent: str | None = Field(None, json_schema_extra=_unit("text"))
    fund: Money | None = Field(None, json_schema_extra=_unit("yuan"))
    annual_topup: Money = Field(0.0, json_schema_extra=_unit("yuan"))
    pd_multiplier: Annotated[float, Field(ge=0.0, le=1e6)] = Field(1.0, json_schema_extra=_unit("multiple"))
    lending: Lending | None = None
    annual_cap: Money = Field(0.0, json_schema_extra=_unit("yuan", zero_is_none=True, added=True))
    tiers: TierSplit | None = Field(None, json_schema_extra=_unit("fraction", added=True))
    topup_rule: Literal["fixed", "restore"] = Field("fixed", json_schema_extra=_unit("choice", added=True))
    target_balance: Money = Field(0.0, json_schema_extra=_unit("yuan", added=True))
    target_reserve_ratio: Annotated[float, Field(ge=0.0, le=10.0)] = Field(
        0.0, json_schema_extra=_unit("fraction", added=True))
    topup_budget: Money = Field(0.0, json_schema_extra=_unit("yuan", zero_is_none=True, added=True))
    restore_years: int = Field(0, ge=0, le=50, json_schema_extra=_unit("years", zero_is_none=True, added=True))
    bank_shares: dict[str, Fraction] | None = Field(None, max_length=200, json_schema_extra=_unit("fraction", added=True))


class Scenario(_Section):
    meta: Meta
    simulation: Simulation = Field(default_factory=Simulation)
    credit: Credit
    collateral: Collateral
    sharing: Sharing
    rules: Rules = Field(default_factory=Rules)
    parties: Parties = Field(default_factory=Parties)
    regions: list[Region] = Field(min_length=1, max_length=20_000)
    products: list[Product] = Field(default_factory=list, max_length=20, json_schema_extra=_unit("text", added=True))
    layers: Layers = Field(default_factory=Layers, json_schema_extra=_unit("text", added=True))
    banks: list[Bank] = Field(default_factory=list, max_length=200, json_schema_extra=_unit("text", added=True))
    uncertainty: Uncertainty = Field(default_factory=Uncertainty, json_schema_extra=_unit("text", added=True))
    book: Book | None = Field(None, json_schema_extra=_unit("text", added=True))

    @property
    def horizon_months(self) -> int:
        return 12 * self.simulation.horizon_years

    def stress_factors(self) -> list[float]:
        return self.credit.stress or [1.0] * self.simulation.horizon_years

    def canonical(self) -> dict[str, Any]:
        """Plain data with every default filled in: the form that is hashed and recorded.

        Options added after the first format are left out while at their default, so that a
        scenario that does not use them keeps its SHA-256 (``_unit(added=True)``)."""
        return _without_added_defaults(self, self.model_dump(mode="json"))

    def canonical_json(self) -> str:
        return json.dumps(self.canonical(), sort_keys=True, ensure_ascii=False, separators=(",", ":"))

    def sha256(self) -> str:
        return hashlib.sha256(self.canonical_json().encode("utf-8")).hexdigest()


def _without_added_defaults(model: BaseModel, data: dict[str, Any]) -> dict[str, Any]:
    for name, field in type(model).model_fields.items():
        value = getattr(model, name)
        extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
        if extra.get("added") and value == field.get_default(call_default_factory=True):
            del data[name]
        elif isinstance(value, BaseModel):
            _without_added_defaults(value, data[name])
        elif isinstance(value, list):
            for item, item_data in zip(value, data[name]):
                if isinstance(item, BaseModel):
                    _without_added_defaults(item, item_data)
    return data


# --------------------------------------------------------------------------- problems


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a scenario: where, what was given, what is allowed."""

    path: str
    value: Any
    allowed: str

    def __str__(self) -> str:
        shown = _short_repr(self.value)
        return f"{self.path} = {shown}: {self.allowed}" if shown else f"{self.path}: {self.allowed}"


class ScenarioError(ValueError):
    """A scenario that cannot be simulated, with every problem found."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def _short_repr(value: Any) -> str:
    if value is _MISSING:
        return ""
    text = json.dumps(value, ensure_ascii=False, default=str) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


_MISSING = object()
NO_VALUE = _MISSING  # a Problem about something absent or not a single value: no "= value" part


# --------------------------------------------------------------------------- loading


def bundled_path(name: str) -> Path:
    """Path of a scenario shipped inside the package (``hunan-baseline``, ``minimal`` ...)."""
    return Path(str(resources.files("riskpool") / "scenarios" / f"{name}.toml"))


def bundled_names() -> list[str]:
    folder = resources.files("riskpool") / "scenarios"
    return sorted(p.name[: -len(".toml")] for p in folder.iterdir() if p.name.endswith(".toml"))


def resolve_source(source: str | Path | None) -> Path:
    """A file path, a bundled scenario's name, or None for the default scenario."""
    if source is None:
        return bundled_path(DEFAULT_SCENARIO)
    path = Path(source)
    if path.exists() or path.suffix == ".toml" or str(source) not in bundled_names():
        return path
    return bundled_path(str(source))


def read_toml(path: Path) -> dict[str, Any]:
    """Parse a TOML file; unreadable or malformed files become a ScenarioError."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ScenarioError([Problem(str(path), _MISSING, f"cannot read file ({exc.strerror})")]) from None
    return parse_toml(data, str(path))


def parse_toml(data: bytes, label: str = "scenario") -> dict[str, Any]:
    """Parse TOML bytes; anything that is not UTF-8 TOML of a sane depth is a ScenarioError."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError([Problem(label, _MISSING, f"not UTF-8 text (byte {exc.start})")]) from None
    try:
        raw = tomllib.loads(text.removeprefix("\ufeff"))  # the byte-order mark some Windows editors write
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError([Problem(label, _MISSING, f"invalid TOML: {exc}")]) from None
    except ValueError:  # tomllib's int() refuses more digits than Python's limit
        limit = sys.get_int_max_str_digits()
        raise ScenarioError([Problem(label, _MISSING, f"invalid TOML: a number of more than {limit} digits")]) from None
    except RecursionError:  # tomllib parses nested arrays and inline tables recursively
        raise ScenarioError([Problem(label, _MISSING, "invalid TOML: arrays or inline tables nested too deeply")]) from None
    deep = _too_deep(raw)
    if deep is not None:
        raise ScenarioError([Problem(_display_path(deep, raw), _MISSING, f"nested more than {MAX_NESTING} levels deep")])
    return raw


def _too_deep(raw: dict[str, Any]) -> list[Any] | None:
    """The path of a table or array nested deeper than MAX_NESTING, if any.

    Deeper data would exhaust the recursion of copying, validating and printing it; dotted keys
    (``a.b.c... = 1``) nest without limit in TOML itself.
    """
    stack: list[tuple[Any, list[Any]]] = [(raw, [])]
    while stack:
        node, path = stack.pop()
        if len(path) > MAX_NESTING:
            return path
        children = node.items() if isinstance(node, dict) else enumerate(node)
        stack.extend((child, [*path, key]) for key, child in children if isinstance(child, dict | list))
    return None


def from_upload(data: bytes, label: str = "upload") -> Scenario:
    """Validate an uploaded scenario file: at most MAX_UPLOAD_BYTES of TOML, nothing else parsed."""
    if len(data) > MAX_UPLOAD_BYTES:
        size = f"{len(data) / 1024:.0f} KiB, limit {MAX_UPLOAD_BYTES // 1024} KiB"
        raise ScenarioError([Problem(label, _MISSING, f"file too large ({size})")])
    return validate(parse_toml(data, label))


def load(
    source: str | Path | None = None,
    overrides: list[str] | None = None,
    **settings: Any,
) -> Scenario:
    """Load, override and validate a scenario; raises ScenarioError listing every problem."""
    raw = read_toml(resolve_source(source))
    return from_dict(raw, overrides, **settings)


def read_raw_with(source: str | Path | None, overrides: list[str] | None = None) -> dict[str, Any]:
    """The scenario's plain data with ``--set`` overrides applied (not yet validated)."""
    raw = read_toml(resolve_source(source))
    for item in overrides or []:
        apply_override(raw, *split_override(item))
    return raw


def from_dict(raw: dict[str, Any], overrides: list[str] | None = None, **settings: Any) -> Scenario:
    """Validate plain data (as read from TOML) after applying ``PATH=VALUE`` overrides.

    ``settings`` are dotted paths given as keyword arguments with ``__`` for dots, e.g.
    ``simulation__paths=2000``; they are applied after ``overrides``.
    """
    raw = copy.deepcopy(raw)
    for item in overrides or []:
        path, value = split_override(item)
        apply_override(raw, path, value)
    for key, value in settings.items():
        if value is not None:
            apply_override(raw, key.replace("__", "."), value)
    return validate(raw)


def validate(raw: dict[str, Any]) -> Scenario:
    try:
        scenario = Scenario.model_validate(raw)
    except ValidationError as exc:
        raise ScenarioError([_from_pydantic(err, raw) for err in exc.errors()]) from None
    problems = semantic_problems(scenario)
    if problems:
        raise ScenarioError(problems)
    return scenario


def _from_pydantic(err: dict[str, Any], raw: dict[str, Any]) -> Problem:
    loc = list(err["loc"])
    path = _display_path(loc, raw)
    if err["type"] == "extra_forbidden":
        return Problem(path, _MISSING, "unknown key (check the spelling; see docs/model.md section 7)")
    if err["type"] == "missing":
        return Problem(path, _MISSING, "required but missing")
    allowed = err["msg"]
    if err["type"] == "finite_number":
        allowed = "must be a finite number (not nan or inf)"
    return Problem(path, err.get("input", _MISSING), allowed)


def _display_path(loc: list[Any], raw: dict[str, Any]) -> str:
    """Dotted path as used by ``--set``, naming regions by their id where it has one."""
    parts: list[str] = []
    node: Any = raw
    for key in loc:
        if isinstance(key, int) and parts == ["regions"] and isinstance(node, list):
            region = node[key] if key < len(node) else None
            rid = region.get("id") if isinstance(region, dict) else None
            if isinstance(rid, str | int) and not isinstance(rid, bool) and str(rid):
                parts.append(_key_text(str(rid)))
            else:
                parts[-1] = f"regions[{key}]"
        elif isinstance(key, int):
            parts[-1] = f"{parts[-1]}[{key}]" if parts else f"[{key}]"
        else:
            parts.append(_key_text(str(key)))
        node = _child(node, key)
    return ".".join(parts) or "scenario"


_BARE_KEY = re.compile(r"[A-Za-z0-9_\-]+")


def _key_text(key: str) -> str:
    """A key as shown in a dotted path: bare if it can be, else quoted with escapes, so that an
    unknown key such as ``"a.b"`` or one holding a line break stays one unambiguous line."""
    return key if _BARE_KEY.fullmatch(key) else repr(key)


def _child(node: Any, key: Any) -> Any:
    if isinstance(node, dict):
        return node.get(key)
    if isinstance(node, list) and isinstance(key, int) and key < len(node):
        return node[key]
    return None


# --------------------------------------------------------------------------- overrides


def split_override(item: str) -> tuple[str, Any]:
    """``credit.annual_pd=0.05`` -> (path, value); the value is read as a TOML literal."""
    if "=" not in item:
        raise ScenarioError([Problem(f"set {item}", _MISSING, "expected PATH=VALUE")])
    path, text = item.split("=", 1)
    return path.strip(), parse_value(text.strip())


def parse_value(text: str) -> Any:
    """A TOML literal (number, string, boolean, array); anything else is a bare string."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except (ValueError, RecursionError):  # not TOML (TOMLDecodeError), or too long or deep to parse
        return text


def literal(value: Any) -> str:
    """A value written back as the TOML literal an override reads (``parse_value``'s inverse)."""
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(float(value))  # a numpy float's repr names its type
    return str(value)


def apply_override(raw: dict[str, Any], path: str, value: Any) -> None:
    """Set a dotted path in raw scenario data; also ``regions.<id>.<field>`` and ``funds.*`` scales."""
    keys = [k for k in path.split(".")]
    if not path or any(not k for k in keys):
        raise ScenarioError([Problem(f"set {path}", value, "expected a dotted path like credit.annual_pd")])
    if keys[0] == "funds":
        _scale_path(raw, keys, value)
        return
    if keys[0] == "regions":
        _set_region_field(raw, keys, value)
        return
    node = raw
    for key in keys[:-1]:
        node = _descend(node, key, path, value)
    name, index = _indexed(keys[-1])
    if index is None:
        node[name] = value
        return
    items = _descend(node, name, path, value, want_list=True)
    if index >= len(items):
        raise ScenarioError([Problem(path, value, f"{name} has {len(items)} entries; index {index} does not exist")])
    items[index] = value


_INDEXED = re.compile(r"^(?P<name>[A-Za-z_][A-Za-z0-9_]*)\[(?P<index>\d+)\]$")


def _indexed(key: str) -> tuple[str, int | None]:
    """``bands[0]`` -> ("bands", 0); ``fund`` -> ("fund", None)."""
    match = _INDEXED.match(key)
    return (match["name"], int(match["index"])) if match else (key, None)


def _descend(node: dict[str, Any], key: str, path: str, value: Any, want_list: bool = False) -> Any:
    """The section (or list element) at ``key`` below ``node``, creating missing sections."""
    name, index = _indexed(key)
    if want_list:
        child = node.get(name)
        if not isinstance(child, list):
            raise ScenarioError([Problem(path, value, f"{name} is not a list in this scenario")])
        return child
    if index is not None:
        items = node.get(name)
        if not isinstance(items, list) or index >= len(items):
            count = len(items) if isinstance(items, list) else 0
            raise ScenarioError([Problem(path, value, f"{name} has {count} entries; index {index} does not exist")])
        child = items[index]
    else:
        child = node.setdefault(name, {})
    if not isinstance(child, dict):
        raise ScenarioError([Problem(path, value, f"{key} is not a section")])
    return child


def _set_region_field(raw: dict[str, Any], keys: list[str], value: Any) -> None:
    path = ".".join(keys)
    if len(keys) < 3:
        raise ScenarioError([Problem(path, value, "address a region field as regions.<id>.<field>")])
    regions = raw.get("regions") if isinstance(raw.get("regions"), list) else []
    matches = [r for r in regions if isinstance(r, dict) and str(r.get("id")) == keys[1]]
    if not matches:
        raise ScenarioError([Problem(path, value, f"no region with id {keys[1]!r}")])
    node = matches[0]
    for key in keys[2:-1]:
        node = node.setdefault(key, {})
        if not isinstance(node, dict):
            raise ScenarioError([Problem(path, value, f"{key} is not a section")])
    node[keys[-1]] = value


FUND_SCALES = {"scale": ("fund", "annual_topup"), "fund_scale": ("fund",), "topup_scale": ("annual_topup",)}
# units of the override-only paths, which scale fields rather than being fields themselves
OVERRIDE_UNITS = {"funds.scale": "multiple", **{f"funds.{tier}.{name}": "multiple" for tier in TIERS for name in FUND_SCALES}}


def field_unit(path: str) -> tuple[str | None, bool]:
    """(unit, zero_is_none) of the field at a dotted path, or of a ``funds.*`` scale.

    A region's id and list indices may be left in or out: ``regions.fund``,
    ``regions.430104.lending.loan_size_mean`` and ``sharing.bands[0].max_loan`` all name fields.
    A path that is no field, or a section, gives (None, False).
    """
    if path in OVERRIDE_UNITS:
        return OVERRIDE_UNITS[path], False
    model: type[BaseModel] | None = Scenario
    field = None
    in_list = False  # the last field was a list of tables: the next key may be a region's id
    for key in (_indexed(k)[0] for k in path.split(".")):
        found = model.model_fields.get(key) if model is not None else None
        if found is None and in_list:
            in_list = False
            continue
        if found is None:
            return None, False
        field = found
        model, in_list = _model_in(found.annotation)
    extra = field.json_schema_extra if field is not None and model is None else None
    if not isinstance(extra, dict):
        return None, False
    return extra.get("unit"), bool(extra.get("zero_is_none"))  # type: ignore[return-value]


def _model_in(annotation: Any) -> tuple[type[BaseModel] | None, bool]:
    """The section model a field holds (``Lending | None``, ``list[Region]``) and whether in a list."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, False
    for arg in get_args(annotation):
        model, listed = _model_in(arg)
        if model is not None:
            return model, listed or get_origin(annotation) is list
    return None, False


def _scale_path(raw: dict[str, Any], keys: list[str], value: Any) -> None:
    """``funds.scale`` (every fund and top-up) or ``funds.<tier>.scale|fund_scale|topup_scale``."""
    path = ".".join(keys)
    if keys == ["funds", "scale"]:
        scale_funds(raw, value, path)
    elif len(keys) == 3 and keys[1] in TIERS and keys[2] in FUND_SCALES:
        scale_funds(raw, value, path, keys[1], FUND_SCALES[keys[2]])
    else:
        raise ScenarioError([Problem(path, value, "expected funds.scale or funds.<tier>.scale|fund_scale|topup_scale "
                                                  "with tier province, city or county")])


def scale_funds(raw: dict[str, Any], factor: Any, path: str = "funds.scale", tier: str | None = None,
                fields: tuple[str, ...] = ("fund", "annual_topup")) -> None:
    """Multiply the funds and/or annual top-ups of every region (of ``tier``) by ``factor``."""
    if isinstance(factor, bool) or not isinstance(factor, int | float) or not (
        math.isfinite(factor) and factor >= 0
    ):
        raise ScenarioError([Problem(path, factor, "must be a finite number >= 0")])
    for region in raw.get("regions") or []:
        if not isinstance(region, dict) or (tier is not None and region.get("tier") != tier):
            continue
        for key in fields:
            if isinstance(region.get(key), int | float) and not isinstance(region.get(key), bool):
                region[key] = region[key] * factor


# --------------------------------------------------------------------------- semantic checks


def semantic_problems(s: Scenario) -> list[Problem]:
    """Checks that span fields: sums of shares, the region tree, distributions, lengths."""
    problems: list[Problem] = []
    problems += _share_problems("sharing", s.sharing.vector(), "fund + bank + guarantor + insurer + evaluator")
    tiers = s.sharing.tiers
    problems += _share_problems("sharing.tiers", (tiers.province, tiers.city, tiers.county), "province + city + county")
    for i, band in enumerate(s.sharing.bands):
        problems += _share_problems(f"sharing.bands[{i}]", band.vector(), "the five shares")
    limits = [b.max_loan for b in s.sharing.bands]
    if len(set(limits)) != len(limits):
        problems.append(Problem("sharing.bands", limits, "each band needs a different max_loan"))
    years = s.simulation.horizon_years
    if s.credit.stress is not None and len(s.credit.stress) != years:
        problems.append(
            Problem("credit.stress", s.credit.stress, f"needs one factor per year: {years} values (horizon_years)")
        )
    rho, rho_c = s.credit.asset_correlation, s.credit.city_correlation
    if rho + rho_c >= 1.0:
        problems.append(Problem("credit.city_correlation", rho_c, f"asset_correlation + city_correlation must be < 1 (is {rho + rho_c})"))
    c = s.collateral
    for name in ("recovery_sd", "disposal_months_sd"):
        value = getattr(c, name)
        if 0 < value < MIN_SD:  # below this the Beta/Gamma parameters overflow: say "fixed" with 0
            problems.append(Problem(f"collateral.{name}", value, f"must be 0 (fixed) or at least {MIN_SD}"))
    if c.recovery_sd > 0 and c.recovery_sd**2 >= c.recovery_mean * (1 - c.recovery_mean):
        bound = math.sqrt(c.recovery_mean * (1 - c.recovery_mean))
        problems.append(
            Problem("collateral.recovery_sd", c.recovery_sd, f"no Beta distribution has this sd; with recovery_mean {c.recovery_mean} it must be < {bound:.6g} (or 0 for a fixed recovery)")
        )
    if c.disposal_months_sd > 0 and c.disposal_months_mean <= 0:
        problems.append(Problem("collateral.disposal_months_sd", c.disposal_months_sd, "must be 0 when disposal_months_mean is 0"))
    if s.rules.npl_warning > 0 and s.rules.circuit_breaker_npl > 0 and s.rules.npl_warning > s.rules.circuit_breaker_npl:
        problems.append(Problem("rules.npl_warning", s.rules.npl_warning, f"must not exceed rules.circuit_breaker_npl ({s.rules.circuit_breaker_npl})"))
    problems += _region_problems(s.regions)
    problems += _product_problems(s)
    problems += _bank_problems(s)
    problems += _uncertainty_problems(s)
    problems += _book_problems(s)
    return problems


def _book_problems(s: Scenario) -> list[Problem]:
    return [] if s.book is None else book_problems(s, s.book)


def book_problems(s: Scenario, book: Book) -> list[Problem]:
    """A register's rows against the scenario and the valuation month (docs/model.md section 4.8),
    named ``book.loans[k].<column>``."""
    counties = {r.id for r in s.regions if r.tier == "county" and r.lending is not None}
    banks = {b.id for b in s.banks}
    v = book.valuation_month
    problems: list[Problem] = []
    seen: set[str] = set()
    for k, loan in enumerate(book.loans):
        def bad(name: str, value: Any, allowed: str, k: int = k) -> None:
            problems.append(Problem(f"book.loans[{k}].{name}", value, allowed))

        if loan.loan_id in seen:
            bad("loan_id", loan.loan_id, "an id not used by an earlier loan of the register")
        seen.add(loan.loan_id)
        if loan.county not in counties:
            bad("county", loan.county, "the id of a county of the scenario that has a lending table")
        if banks and loan.bank not in banks:
            bad("bank", loan.bank, "the id of one of [[banks]]")
        if not banks and loan.bank:
            bad("bank", loan.bank, "empty: the scenario has no [[banks]]")
        if months_between(loan.start_month, v) < 0:
            bad("start_month", loan.start_month, f"not after the valuation month {v}")
        remaining = months_between(v, loan.start_month) + loan.tenor_months
        if loan.status == "performing" and remaining < 1:
            bad("tenor_months", loan.tenor_months, f"a performing loan whose term runs past {v} (it ended "
                f"{-remaining + 1} month(s) before; mark it overdue or leave it out)")
        if loan.status == "defaulted":
            if loan.default_month is None:
                bad("default_month", None, "the month of default of a defaulted loan")
            elif months_between(loan.default_month, v) < 0 or months_between(loan.start_month, loan.default_month) < 0:
                bad("default_month", loan.default_month, f"between start_month and the valuation month {v}")
            if loan.recovered > loan.principal:
                bad("recovered", loan.recovered, f"at most the principal ({loan.principal:,.0f})")
        else:
            for name in ("default_month", "compensated", "recovered"):
                if getattr(loan, name):
                    bad(name, getattr(loan, name), "empty (0) unless the loan is defaulted")
    return problems


def _uncertainty_problems(s: Scenario) -> list[Problem]:
    """Each spread is a range or a list, and every value it can draw makes a valid scenario."""
    problems: list[Problem] = []
    for path, spread in s.uncertainty.spreads():
        where = f"uncertainty.{path.split('.')[-1]}"
        ranged = spread.low is not None or spread.high is not None
        if ranged == (spread.values is not None) or (ranged and (spread.low is None or spread.high is None)):
            problems.append(Problem(where, NO_VALUE, "give either low and high (a uniform range) or values (a list)"))
            continue
        if ranged and spread.low > spread.high:
            problems.append(Problem(f"{where}.low", spread.low, f"must not exceed high ({spread.high})"))
            continue
        for value in sorted({*(spread.values or ()), *((spread.low, spread.high) if ranged else ())}):
            try:
                validate(with_parameters(s, {path: value}))
            except ScenarioError as exc:
                problems.append(Problem(where, value, f"this value makes the scenario invalid: {exc.problems[0]}"))
                break
    return problems


def with_parameters(s: Scenario, values: dict[str, float]) -> dict[str, Any]:
    """The scenario's data with each ``section.key`` path set to its value and no uncertainty
    (one block's scenario, docs/model.md section 2.7)."""
    raw = s.canonical()
    raw.pop("uncertainty", None)
    for path, value in values.items():
        section, key = path.split(".")
        raw[section][key] = value
    return raw


def _bank_problems(s: Scenario) -> list[Problem]:
    """Banks: unique ids; lending shares over known banks summing to 1; per-bank deposits need banks
    and a target in yuan; banks' own shares neither with bands nor with products."""
    ids = [b.id for b in s.banks]
    problems = [] if len(set(ids)) == len(ids) else [Problem("banks", ids, "each bank needs a different id")]
    if s.rules.deposits == "per_bank" and not s.banks:
        problems.append(Problem("rules.deposits", "per_bank", "per-bank deposits need [[banks]]"))
    for b in s.banks:
        if b.shares is not None:
            problems += _share_problems(f"banks.{b.id}.shares", b.shares.vector(), "the five shares")
            if s.sharing.bands or s.products:
                problems.append(Problem(f"banks.{b.id}.shares", _MISSING, "a bank's own shares do not mix with sharing.bands or products"))
    for r in s.regions:
        where = f"regions.{r.id}"
        if s.rules.deposits == "per_bank" and r.target_reserve_ratio > 0:
            problems.append(Problem(f"{where}.target_reserve_ratio", r.target_reserve_ratio, "not available with per-bank deposits (use target_balance)"))
        if r.bank_shares is None:
            continue
        if r.tier == "province":
            problems.append(Problem(f"{where}.bank_shares", _MISSING, "the province lends in the banks' credit-line weights; a city or county may override them"))
        unknown = sorted(set(r.bank_shares) - set(ids))
        if unknown:
            problems.append(Problem(f"{where}.bank_shares", unknown, "not the id of a bank in [[banks]]"))
        problems += _share_problems(f"{where}.bank_shares", tuple(r.bank_shares.values()), "the banks' shares")
    return problems


def _product_problems(s: Scenario) -> list[Problem]:
    """Products: unique ids, shares of loans summing to 1, five shares each, a bonus the bank can give."""
    if not s.products:
        return []
    problems = _share_problems("products", tuple(p.share for p in s.products), "the products' shares of loans")
    ids = [p.id for p in s.products]
    if len(set(ids)) != len(ids):
        problems.append(Problem("products", ids, "each product needs a different id"))
    if s.sharing.bands:
        problems.append(Problem("sharing.bands", _MISSING, "bands and products do not mix: give each product its shares"))
    for p in s.products:
        where = f"products.{p.id}"
        problems += _share_problems(where, p.vector(), "the five shares")
        if p.first_loan_bonus > p.bank:
            problems.append(Problem(f"{where}.first_loan_bonus", p.first_loan_bonus, f"comes from the bank's share ({p.bank}): at most that"))
    return problems


def _share_problems(path: str, shares: tuple[float, ...], what: str) -> list[Problem]:
    total = math.fsum(shares)
    if abs(total - 1.0) > SHARE_TOLERANCE:
        return [Problem(path, round(total, 12), f"{what} must sum to 1 (within 1e-9)")]
    return []


_PARENT_TIER = {"province": None, "city": "province", "county": "city"}


def _topup_problems(r: Region, where: str) -> list[Problem]:
    """A restoring top-up needs a fund and a target, and replaces the fixed one."""
    restore_only = {"target_balance": r.target_balance, "target_reserve_ratio": r.target_reserve_ratio,
                    "topup_budget": r.topup_budget, "restore_years": r.restore_years}
    if r.topup_rule == "fixed":
        return [Problem(f"{where}.{name}", value, 'applies with topup_rule = "restore" only')
                for name, value in restore_only.items() if value]
    problems = []
    if r.fund is None:
        problems.append(Problem(f"{where}.topup_rule", r.topup_rule, "a region without a fund cannot be topped up"))
    if r.target_balance <= 0 and r.target_reserve_ratio <= 0:
        problems.append(Problem(f"{where}.topup_rule", r.topup_rule,
                                "restoring needs a target: target_balance (yuan) or target_reserve_ratio > 0"))
    if r.annual_topup > 0:
        problems.append(Problem(f"{where}.annual_topup", r.annual_topup, 'a restoring fund gets no fixed top-up (topup_rule = "restore")'))
    return problems


def _region_problems(regions: list[Region]) -> list[Problem]:
    problems: list[Problem] = []
    by_id: dict[str, Region] = {}
    for r in regions:
        if r.id in by_id:
            problems.append(Problem(f"regions.{r.id}.id", r.id, "duplicate region id; ids must be unique"))
        by_id.setdefault(r.id, r)
    provinces = [r.id for r in regions if r.tier == "province"]
    if len(provinces) != 1:
        problems.append(Problem("regions", provinces, "the tree needs exactly one region with tier = \"province\""))
    if not any(r.tier == "county" for r in regions):
        problems.append(Problem("regions", _MISSING, "the tree needs at least one county (loans are originated in counties)"))
    for r in regions:
        where = f"regions.{r.id}"
        expected = _PARENT_TIER[r.tier]
        if expected is None and r.parent is not None:
            problems.append(Problem(f"{where}.parent", r.parent, "the province has no parent"))
        elif expected is not None:
            parent = by_id.get(r.parent) if r.parent is not None else None
            if r.parent is None:
                problems.append(Problem(f"{where}.parent", _MISSING, f"a {r.tier} needs a parent of tier {expected}"))
            elif parent is None:
                problems.append(Problem(f"{where}.parent", r.parent, "no region has this id"))
            elif parent.tier != expected:
                problems.append(Problem(f"{where}.parent", r.parent, f"a {r.tier}'s parent must be a {expected}, not a {parent.tier}"))
        if r.fund is None and r.annual_topup > 0:
            problems.append(Problem(f"{where}.annual_topup", r.annual_topup, "a region without a fund cannot have a top-up (set fund, even 0)"))
        if r.fund is None and r.annual_cap > 0:
            problems.append(Problem(f"{where}.annual_cap", r.annual_cap, "a region without a fund has nothing to cap"))
        problems += _topup_problems(r, where)
        if r.tiers is not None:
            if r.tier == "province":
                problems.append(Problem(f"{where}.tiers", _MISSING, "the province's split is sharing.tiers; a city or county may override it"))
            problems += _share_problems(f"{where}.tiers", (r.tiers.province, r.tiers.city, r.tiers.county), "province + city + county")
        if r.lending is not None and r.tier != "county":
            problems.append(Problem(f"{where}.lending", _MISSING, "loans are originated in counties only"))
        if r.tier != "county" and r.pd_multiplier != 1.0:
            problems.append(Problem(f"{where}.pd_multiplier", r.pd_multiplier, "applies to counties only"))
    return problems
