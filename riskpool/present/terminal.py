"""The readable terminal summary of a run (rich tables) of the views of a summary."""

from __future__ import annotations

from functools import partial

from rich.console import Console
from rich.table import Table

from ..summary import Sampling, Summary
from .formats import TERMINAL_MISSING, as_given, millions, percent, times
from .views import WEAKEST, banks, groups, parties, weakest_nodes

# the terminal's formats: money in bare CNY millions (the tables' titles say so), "%" unspaced, "-" for none
money = partial(millions, missing=TERMINAL_MISSING)
pct = partial(percent, sign="%", missing=TERMINAL_MISSING)
month = partial(as_given, missing=TERMINAL_MISSING)
multiple = partial(times, sign="x", missing=TERMINAL_MISSING)


def sufficiency_table(summary: Summary) -> Table:
    table = Table(title=f"Fund sufficiency over {summary.horizon_months} months "
                        f"({summary.paths:,} paths, seed {summary.seed}; money in CNY m)",
                  caption="1st short: median month of the first shortfall among paths that ran short; "
                          "need: required capital (docs/model.md section 6.3)")
    for col in ("", "sufficient", "P(short) ± se", "1st short", "capital", "need 95%", "need 99%", "unpaid"):
        table.add_column(col, justify="left" if not col else "right", no_wrap=True)
    for key, v in groups(summary):
        table.add_row("whole fund" if key == "fund" else f"{key} tier", pct(v.sufficiency),
                      pct(v.p_shortfall, v.p_shortfall_se), month(v.first_shortfall_month.p50), money(v.capital),
                      money(v.required_capital.q95), money(v.required_capital.q99), money(v.unpaid_mean))
    return table


def weakest_table(summary: Summary) -> Table:
    nodes = weakest_nodes(summary)
    table = Table(title=f"The {min(WEAKEST, len(nodes))} weakest fund nodes (money in CNY m)")
    for col in ("node", "name", "tier", "P(short) ± se", "1st short", "capital", "need 95%", "payout"):
        table.add_column(col, justify="right" if col not in ("node", "name", "tier") else "left", no_wrap=True)
    for node, v in nodes:
        table.add_row(node, v.name, v.tier, pct(v.p_shortfall, v.p_shortfall_se), month(v.first_shortfall_month.p50),
                      money(v.capital), money(v.required_capital.q95), money(v.payout_net.mean))
    return table


def party_table(summary: Summary) -> Table:
    table = Table(title="Party losses, CNY m")
    for col in ("party", "mean", "VaR 99%", "ES 99%"):  # net of clawbacks
        table.add_column(col, justify="left" if col == "party" else "right")
    for party, v in parties(summary):
        table.add_row(party, money(v.loss_mean), money(v.var99), money(v.es99))
    return table


def bank_table(summary: Summary) -> Table:
    """Each cooperating bank: how often the money backing its claims ran short, its lending and losses."""
    table = Table(title="Cooperating banks (money in CNY m)",
                  caption="P(short): a claim on the bank's loans found the balance backing it short (its own "
                          "deposit under per-bank deposits); stopped / refused: candidates dropped by its breaker / "
                          "its credit line or leverage (docs/model.md section 5.9)")
    for col in ("bank", "name", "P(short)", "1st short", "credit line", "originated", "fund paid", "bank loss",
                "unpaid", "stopped", "refused", "P(breaker)"):
        table.add_column(col, justify="left" if col in ("bank", "name") else "right", no_wrap=True)
    for bank_id, v in banks(summary):
        table.add_row(bank_id, v.name, pct(v.p_shortfall), month(v.first_shortfall_month_p50), money(v.credit_line),
                      money(v.originated_mean), money(v.fund_paid_mean), money(v.loss_mean), money(v.unpaid_mean),
                      f"{v.suspended_mean:,.1f}", f"{v.refused_mean:,.1f}", pct(v.p_breaker))
    return table


def budget_table(summary: Summary) -> Table:
    """The top-ups that restoring the funds took at the start of each year: what a budget must hold."""
    table = Table(title="Top-ups by year, the appropriation each budget needed (CNY m)",
                  caption="mean and 95 % over paths of the top-ups paid at the start of each year (docs/model.md "
                          "section 5.6)")
    rows = summary.budget or {}
    table.add_column("year", justify="right")
    for group in rows:
        table.add_column(f"{group} mean", justify="right")
        table.add_column(f"{group} 95%", justify="right")
    for i, first in enumerate(next(iter(rows.values()), [])):
        table.add_row(str(first.year), *(x for a in rows.values() for x in (money(a[i].mean), money(a[i].q95))))
    return table


def caps_line(summary: Summary) -> str:
    caps = summary.caps
    return (f"Caps on compensation sent {money(caps.capped_mean)} CNY m a path to the bank on average (on "
            f"{pct(caps.p_capped)} of paths), by design: not a shortfall.")


def convergence_line(summary: Summary) -> str:
    """The estimate's batch-means error, and the paths a 95 % interval of ±0.1 point would need."""
    last = summary.convergence.checkpoints[-1]
    need = summary.convergence.paths_for.get("0.001")
    wanted = "-" if need is None else f"{need:,}"
    return (f"Convergence: P(short) {pct(last.p_shortfall, digits=2)} ± {pct(last.se, digits=2)} (batch means of "
            f"{summary.convergence.batch_paths} paths) at {last.paths:,} paths; ±0.1 point (95 %) needs {wanted} paths.")


def uncertainty_line(summary: Summary) -> str:
    """How much of the blocks' spread comes from the parameters, and the sufficiency range it gives."""
    u = summary.uncertainty
    return (f"Parameter uncertainty ({u.blocks} blocks, each with its own draw): sufficiency "
            f"{pct(u.sufficiency_q025)} - {pct(u.sufficiency_q975)} over the blocks (95 %); sd of the blocks' "
            f"P(short) {pct(u.total_sd, digits=2)}, of which Monte Carlo {pct(u.monte_carlo_sd, digits=2)}, "
            f"parameters {pct(u.parameter_sd, digits=2)}.")


def lending_line(summary: Summary) -> str:
    lend = summary.lending
    return (f"Lending: {money(lend.originated_mean)} CNY m originated on average "
            f"({lend.loans_originated_mean:.0f} loans), {money(lend.defaulted_ead_mean)} defaulted, "
            f"{money(lend.recovered_mean)} recovered; multiplier "
            f"{multiple(lend.multiplier_mean)} of initial fund capital, peak outstanding "
            f"{multiple(lend.leverage_peak_mean)}.")


def sampling_line(sampling: Sampling, paths: int) -> str:
    """How an importance-sampled run drew its factors, and what its weighted paths are worth."""
    shift = ", ".join(f"{mu:+.2f}" for mu in sampling.shift)
    return (f"Importance sampling: yearly factor shifted by [{shift}]; effective sample size "
            f"{sampling.ess:,.1f} of {paths:,} paths, {sampling.ess_shortfall:,.1f} among paths that ran short.")


def print_summary(summary: Summary, console: Console) -> None:
    console.print(f"[bold]{summary.scenario}[/bold]")
    if summary.sampling is not None:
        console.print(sampling_line(summary.sampling, summary.paths))
    console.print(sufficiency_table(summary))
    console.print(weakest_table(summary))
    console.print(party_table(summary))
    if summary.banks:
        console.print(bank_table(summary))
    if summary.budget:
        console.print(budget_table(summary))
    if summary.caps:
        console.print(caps_line(summary))
    console.print(lending_line(summary))
    if summary.convergence:
        console.print(convergence_line(summary))
    if summary.uncertainty:
        console.print(uncertainty_line(summary))
