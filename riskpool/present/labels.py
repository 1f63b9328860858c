"""Chinese and English words and number formats shared by the web app, the charts and the report.

Money follows each audience's habit: 万元 and 亿元 in Chinese (a budget line of 2.96 亿元),
CNY millions in English. Every label lives in LABELS once; ``t(key, lang)`` picks the language.
"""

from __future__ import annotations

import math
from typing import Literal

Lang = Literal["zh", "en"]
LANGS: tuple[Lang, ...] = ("zh", "en")
WAN, YI = 1e4, 1e8  # 万 and 亿 yuan

LABELS: dict[str, tuple[str, str]] = {  # key: (zh, en)
    # regions, tiers and parties
    "fund": ("风险补偿资金池（合计）", "Whole fund"),
    "province": ("省级", "Province"),
    "city": ("市级", "City"),
    "county": ("县级", "County"),
    "tier": ("层级", "Tier"),
    "node": ("资金节点", "Fund node"),
    "name": ("名称", "Name"),
    "bank": ("银行", "Bank"),
    "guarantor": ("担保机构", "Guarantor"),
    "insurer": ("保险机构", "Insurer"),
    "evaluator": ("评估机构", "Evaluator"),
    "party": ("承担方", "Party"),
    "party_fund": ("补偿资金池", "Fund"),
    # metrics
    "sufficiency": ("充足率（期内不缺口概率）", "Sufficiency (no shortfall within the horizon)"),
    "p_shortfall": ("缺口概率", "P(shortfall)"),
    "first_shortfall": ("首次缺口月份（中位数）", "Median month of first shortfall"),
    "capital": ("现有资金", "Capital now"),
    "required_q95": ("95% 置信所需资金", "Capital needed at 95 %"),
    "required_q99": ("99% 置信所需资金", "Capital needed at 99 %"),
    "unpaid_mean": ("平均未付补偿", "Mean unpaid compensation"),
    "payout_mean": ("平均净补偿支出", "Mean net payout"),
    "multiplier": ("贷款放大倍数", "Lending multiplier"),
    "loss_mean": ("平均损失", "Mean loss"),
    "var99": ("99% 风险价值", "VaR 99 %"),
    "es99": ("99% 预期缺口", "ES 99 %"),
    "month": ("月份", "Month"),
    "balance": ("资金余额", "Fund balance"),
    "median": ("中位数", "Median"),
    "band_5_95": ("5%–95% 区间", "5–95 % band"),
    "survival": ("未出现缺口的概率", "Probability of no shortfall yet"),
    "none": ("无", "none"),
    "paths": ("模拟路径", "paths"),
    "seed": ("随机种子", "seed"),
    "of_paths": ("{n:,} 条路径，种子 {seed}", "{n:,} paths, seed {seed}"),
    # chart titles
    "fan_title": ("资金余额扇形图（按月）", "Fund balance by month (fan chart)"),
    "survival_title": ("资金不出现缺口的概率", "Survival of the fund: no shortfall yet"),
    "parties_title": ("各方损失（扣除追偿返还）", "Losses by party (net of clawbacks)"),
    "regions_title": ("各地区资金缺口概率", "Shortfall probability by region"),
    "heatmap_title": ("参数网格上的缺口概率（黑线：95% 充足）", "P(shortfall) over the grid (black line: 95 % sufficient)"),
    "contour_95": ("95% 充足", "95 % sufficient"),
    "no_fund": ("无本级资金", "no fund of its own"),
    # the report (riskpool report): sections, tables, audit
    "report.title": ("知识产权质押融资风险补偿资金池充足性评估报告", "Sufficiency report: IP pledge-loan risk-compensation fund"),
    "report.sweep_title": ("风险补偿资金池参数扫描报告", "Parameter sweep report: IP pledge-loan risk-compensation fund"),
    "report.run_line": ("{months} 个月，{n:,} 条模拟路径，随机种子 {seed}；运行完成于 {finished}（UTC）",
                        "{months} months, {n:,} simulated paths, seed {seed}; run finished {finished} (UTC)"),
    "report.sweep_line": ("{points} 个网格点，每点 {n:,} 条路径，随机种子 {seed}；运行完成于 {finished}（UTC）",
                          "{points} grid points, {n:,} paths each, seed {seed}; run finished {finished} (UTC)"),
    "report.made_by": ("本报告由 riskpool {version} 根据结果目录中的文件生成，所列日期均取自 manifest.json。",
                       "Made by riskpool {version} from the files of the result folder; every date shown comes from manifest.json."),
    "report.illustrative": ("本情景的数据为示意性数据，并非官方数据。", "The figures of this scenario are illustrative, not official data."),
    "report.contents": ("目录", "Contents"),
    "report.sec_sufficiency": ("资金充足性", "Sufficiency"),
    "report.sec_capital": ("所需资金与现有资金", "Required capital against actual capital"),
    "report.sec_balances": ("资金余额", "Fund balances"),
    "report.sec_survival": ("未出现缺口的概率", "Survival: no shortfall yet"),
    "report.sec_weakest": ("最薄弱的资金节点", "The weakest fund nodes"),
    "report.sec_parties": ("各方损失", "Losses by party"),
    "report.sec_lending": ("贷款与放大倍数", "Lending and multiplier"),
    "report.sec_scenario": ("情景参数", "Scenario"),
    "report.sec_method": ("方法说明", "Methodology"),
    "report.sec_audit": ("审计信息", "Audit trail"),
    "report.sec_sweep": ("扫描设置", "Sweep specification"),
    "report.sec_heatmap": ("缺口概率热力图", "Heatmap of the shortfall probability"),
    "report.sec_points": ("各网格点结果", "Results by grid point"),
    "report.headline": ("资金池整体在 {months} 个月内不出现缺口的概率为 {suff}（{n:,} 条模拟路径）。",
                        "The whole fund has no shortfall within {months} months with probability {suff} ({n:,} simulated paths)."),
    "report.se_note": ("± 为蒙特卡洛标准误（百分点）。概率为 0 时，{n:,} 条路径只能说明其低于约 {bound}。首次缺口月份为出现缺口的路径中的中位数，月份从 0 起算。",
                       "± is the Monte Carlo standard error in percentage points. A probability of 0 with {n:,} paths only says that it is below about {bound}. The month of the first shortfall is the median among the paths that ran short; months count from 0."),
    "report.scope": ("范围", "Scope"),
    "report.sufficient": ("充足率", "Sufficiency"),
    "report.pm_se": ("± 标准误", "± se"),
    "report.item": ("项目", "Item"),
    "report.tier_row": ("{tier}资金（{n} 个）", "{tier} tier (funds: {n})"),
    "report.cover_99": ("现有资金 / 99% 所需", "Capital / need at 99 %"),
    "report.capital_note": ("所需资金：在放款与本次模拟相同的条件下，可使 95% 或 99% 的路径不出现任何缺口的期初余额（近似值）。合计与各层级的所需资金为各资金节点之和。",
                            "Required capital: the initial balance that would have avoided every shortfall in 95 % or 99 % of paths, with lending as in the run (an approximation). For the whole fund and the tiers it is the sum over their funds."),
    "report.balances_note": ("实线为各月末余额的中位数，阴影为 5%–95% 区间。", "Lines are the median month-end balance, bands the 5–95 % range over paths."),
    "report.weakest_note": ("按缺口概率从高到低排列，概率相同时按代码排列；金额为现有资金、95% 所需资金与平均净补偿支出。",
                            "Ordered by shortfall probability, highest first, then by id; money is the capital now, the capital needed at 95 % and the mean net payout."),
    "report.parties_note": ("损失已扣除追偿返还。99% 风险价值为损失的 99% 分位数，99% 预期缺口为不低于该分位数的损失的平均值。",
                            "Losses are net of clawbacks. VaR 99 % is the 99 % quantile of the loss; ES 99 % is the mean of the losses at or above it."),
    "report.loss_ratio": ("保险机构赔付率（净赔付 / 保费）", "Insurer's loss ratio (net paid / premiums)"),
    "report.premiums_mean": ("保险机构平均保费收入", "Insurer's mean premiums earned"),
    "report.fees_mean": ("担保机构平均担保费收入", "Guarantor's mean fees earned"),
    "report.p_exhausted": ("担保能力耗尽的概率", "Probability that the guarantor is exhausted"),
    "report.figure": ("指标", "Figure"),
    "report.value": ("数值", "Value"),
    "report.originated_mean": ("平均放款总额（含期初贷款）", "Mean principal originated (initial loans included)"),
    "report.loans_originated_mean": ("平均放款笔数", "Mean number of loans originated"),
    "report.defaulted_ead_mean": ("平均违约敞口", "Mean defaulted exposure (EAD)"),
    "report.defaults_mean": ("平均违约笔数", "Mean number of defaults"),
    "report.recovered_mean": ("平均处置回收金额", "Mean amount recovered"),
    "report.initial_fund_capital": ("期初资金合计", "Initial fund capital"),
    "report.leverage_peak": ("峰值在贷余额 / 期初资金", "Peak outstanding / initial capital"),
    "report.lending_note": ("贷款放大倍数为期内放款总额除以期初资金合计（短期贷款周转会使其变大）；峰值在贷余额倍数为月末最高在贷余额除以期初资金，可与政策规定的放大倍数上限比较。",
                            "The lending multiplier is the principal originated over the horizon divided by the initial fund capital (short loans that turn over raise it); peak outstanding is the largest month-end loan balance over the same capital, the figure to compare with a policy leverage cap."),
    "report.parameter": ("参数", "Parameter"),
    "report.key": ("字段", "Key"),
    "report.note": ("说明", "Note"),
    "report.scn_meta": ("基本信息", "About the scenario"),
    "report.scn_simulation": ("模拟设置", "Simulation"),
    "report.scn_credit": ("信用风险", "Credit risk"),
    "report.scn_collateral": ("质押物处置", "Collateral"),
    "report.scn_sharing": ("风险分担与层级分配", "Loss sharing and tier split"),
    "report.scn_bands": ("按贷款金额分档的分担比例", "Sharing bands by loan size"),
    "report.scn_rules": ("补偿规则", "Rules"),
    "report.scn_parties": ("担保机构与保险机构", "Guarantor and insurer"),
    "report.scn_regions": ("地区与资金", "Regions and funds"),
    "report.regions_note": ("共 {n} 个地区，其中 {funded} 个设有本级资金，{lending} 个县开展贷款。", "{n} regions, {funded} with a fund of their own, {lending} counties that lend."),
    "report.total": ("合计", "Total"),
    "report.no_bands": ("未设分档：所有贷款均采用上表比例。", "No bands: every loan uses the shares above."),
    "report.yes": ("是", "yes"),
    "report.no": ("否", "no"),
    "report.off": ("0（不设）", "0 (none)"),
    "report.method_model": ("模型概要", "The model in brief"),
    "report.method_order": ("每月事件顺序", "Order of events within a month"),
    "report.method_rules": ("规则及其参数取值", "Every rule with its parameter values"),
    "report.rule": ("规则", "Rule"),
    "report.a_seed": ("随机种子", "Seed"),
    "report.a_paths": ("模拟路径数", "Paths"),
    "report.a_version": ("riskpool 版本", "riskpool version"),
    "report.a_commit": ("代码提交（git commit）", "Git commit"),
    "report.a_scenario_sha": ("情景 SHA-256", "Scenario SHA-256"),
    "report.a_base_sha": ("基准情景 SHA-256", "Base scenario SHA-256"),
    "report.a_manifest_sha": ("manifest.json 的 SHA-256", "SHA-256 of manifest.json"),
    "report.a_command": ("运行命令", "Command"),
    "report.a_started": ("开始时间（UTC）", "Started (UTC)"),
    "report.a_finished": ("完成时间（UTC）", "Finished (UTC)"),
    "report.a_platform": ("运行平台", "Platform"),
    "report.a_quantile": ("分位数方法", "Quantile method"),
    "report.a_rng": ("随机数", "Random numbers"),
    "report.a_rng_value": ("{generator}，每块 {block} 条路径，随机流：{streams}", "{generator}, blocks of {block} paths, streams: {streams}"),
    "report.a_sampling": ("抽样方法", "Sampling"),
    "report.a_shift": ("各年系统性因子的平移量", "Shift of the yearly systematic factor"),
    "report.a_ess": ("加权路径的有效样本量 / 路径数", "Effective sample size of the weighted paths / paths"),
    "report.a_ess_short": ("出现缺口路径的有效样本量", "Effective sample size among the paths that ran short"),
    "report.a_run": ("运行", "The run"),
    "report.a_versions": ("软件版本", "Library versions"),
    "report.a_package": ("软件包", "Package"),
    "report.a_version_col": ("版本", "Version"),
    "report.a_files": ("结果文件的 SHA-256", "SHA-256 of the result files"),
    "report.a_file": ("文件", "File"),
    "report.a_verify": ("复核", "Verification"),
    "report.a_verify_text": ("以下命令仅根据 manifest.json 重新运行模拟，并逐列比对全部结果文件；完全一致时输出 identical。{dir} 为本结果目录的路径（按运行时记录）。",
                             "This command reruns the run from manifest.json alone and compares every result file, column by column; it prints identical when everything matches. {dir} is the path of this result folder (as the run recorded it)."),
    "report.a_sweep_text": ("以下命令检查 sweep.parquet 与 sweep_nodes.parquet 的每一行是否与扫描设计及 manifest.json 一致，并随机抽取若干网格点重新运行、逐项比对（加 --points all 则复核全部网格点）；完全一致时输出 identical。{dir} 为本结果目录的路径（按运行时记录）。",
                            "This command checks every row of sweep.parquet and sweep_nodes.parquet against the sweep's design and manifest.json, reruns a random sample of points and compares them figure by figure (--points all reruns every point); it prints identical when everything matches. {dir} is the path of this result folder (as the run recorded it)."),
    "report.a_sens_text": ("以下命令检查全部设计点是否与 Sobol 设计及 manifest.json 一致，随机抽取若干点重新运行、逐项比对（加 --points all 则复核全部点），并根据已公布的点重新计算 Sobol 指数、与 sensitivity.parquet 比对；完全一致时输出 identical。{dir} 为本结果目录的路径（按运行时记录）。",
                           "This command checks every point against the Sobol design and manifest.json, reruns a random sample of points and compares them figure by figure (--points all reruns every point), and recomputes the Sobol indices from the published points to compare them with sensitivity.parquet; it prints identical when everything matches. {dir} is the path of this result folder (as the run recorded it)."),
    "report.a_size_text": ("以下命令仅根据 manifest.json 重新进行规模测算，并逐项比对 size.json；完全一致时输出 identical。{dir} 为本结果目录的路径（按运行时记录）。",
                           "This command reruns the sizing search from manifest.json alone and compares size.json field by field; it prints identical when everything matches. {dir} is the path of this result folder (as the run recorded it)."),
    "report.a_code_sha": ("代码摘要（code_sha256）", "Code digest (code_sha256)"),
    "report.a_dirty": ("代码含未提交的修改", "Code had uncommitted changes"),
    # sensitivity and sizing reports
    "report.sens_title": ("风险补偿资金池全局敏感性分析报告", "Global sensitivity report: IP pledge-loan risk-compensation fund"),
    "report.sens_line": ("{params} 个参数，Sobol 基础样本 {samples}，共 {points} 个点，每点 {n:,} 条路径，随机种子 {seed}；运行完成于 {finished}（UTC）",
                         "{params} parameters, Sobol base sample {samples}, {points} points of {n:,} paths each, seed {seed}; run finished {finished} (UTC)"),
    "report.sec_design": ("参数范围", "Parameter ranges"),
    "report.sec_indices": ("Sobol 敏感性指数", "Sobol indices"),
    "report.low": ("下限", "Low"),
    "report.high": ("上限", "High"),
    "report.output": ("输出指标", "Output"),
    "report.index": ("指数", "Index"),
    "report.s1": ("一阶指数 S1", "First-order S1"),
    "report.st": ("总效应指数 ST", "Total ST"),
    "report.sobol_title": ("{output}的 Sobol 指数", "Sobol indices of {output}"),
    "report.design_note": ("每个参数在其范围内服从均匀分布；点由 SALib 的 Sobol（Saltelli）抽样生成，共 N×(参数个数+2) 个点，所有点使用相同的随机种子。",
                           "Each parameter is uniform over its range; SALib's Sobol (Saltelli) sampling gives N × (parameters + 2) points, all on the same seed."),
    "report.indices_note": ("S1 为参数单独造成的方差占比，ST 为包括其与其他参数交互作用在内的总占比；± 为 SALib 自助法 95% 区间。输出在各点间不变时指数无定义（–）。",
                            "S1 is the share of the output's variance due to the parameter alone, ST its share including interactions with the others; ± is SALib's bootstrap 95 % interval. Where the output does not vary over the points the indices are undefined (–)."),
    "report.size_title": ("风险补偿资金规模测算报告", "Sizing report: how much capital is enough"),
    "report.size_line": ("目标充足率 {target}；每次评估 {n:,} 条路径，随机种子 {seed}，共 {evaluations} 次评估；运行完成于 {finished}（UTC）",
                         "Target sufficiency {target}; {n:,} paths per evaluation, seed {seed}, {evaluations} evaluations; run finished {finished} (UTC)"),
    "report.sec_answer": ("测算结果", "The answer"),
    "report.s_what": ("测算对象", "Funds sized"),
    "report.s_target": ("目标充足率", "Target sufficiency"),
    "report.s_capital_now": ("现有初始资金", "Initial capital now"),
    "report.s_scale": ("所需资金倍数（相对现有资金）", "Scale of the current funds needed"),
    "report.s_interval": ("倍数的 95% 区间", "95 % interval of the scale"),
    "report.s_capital_needed": ("所需初始资金", "Initial capital needed"),
    "report.s_sufficiency": ("该规模下的估计充足率", "Estimated sufficiency at that scale"),
    "report.s_leverage": ("杠杆上限", "Leverage cap"),
    "report.s_lifted": ("测算时取消（满足全部贷款需求）", "lifted while sizing (all demand for loans is met)"),
    "report.s_kept": ("保留（贷款随资金规模变化）", "kept (lending grows with the funds)"),
    "report.s_unreached": ("资金放大至 {max} 倍仍未达到目标充足率（承担补偿的资金可能没有可放大的资金）。",
                           "The target is not reached even with the funds scaled {max}× (a fund that receives claims may have no money to scale)."),
    "report.beyond": ("超出测算范围", "beyond reach"),
    "report.size_note": ("在共同随机数上对资金规模（初始资金与年度补充资金同比例放大）二分查找；区间为目标充足率落在估计值 95% 置信区间内的倍数范围。",
                         "Bisection on the scale of the funds (initial capital and top-ups scaled alike) on common random numbers; the interval is the range of scales over which the target lies inside the estimate's 95 % confidence interval."),
    "report.a_publish": ("引用本报告中的数字时，请同时公布 manifest.json 的 SHA-256，以便他人核对所用的结果目录。",
                         "When quoting figures from this report, publish the SHA-256 of manifest.json with them, so that readers can check the result folder they come from."),
    "report.not_recorded": ("未记录", "not recorded"),
    "report.axis": ("参数", "Parameter"),
    "report.values": ("取值", "Values"),
    "report.points": ("网格点数", "Points"),
    "report.point": ("序号", "Point"),
    "report.problem": ("问题", "Problem"),
    "report.p_short_tier": ("{tier}缺口概率", "P(shortfall), {tier}"),
    "report.sweep_note": ("所有网格点使用相同的随机种子（共同随机数），因此点与点之间的差异来自参数，而非随机误差。未列出的参数取基准情景的值。",
                          "Every point uses the same seed (common random numbers): differences between points come from the parameters, not from noise. Parameters not listed keep the base scenario's values."),
    "report.heatmap_note": ("颜色为资金池整体的缺口概率，黑线为充足率 95% 的等值线；其余参数轴取平均值。", "Colour is the whole fund's shortfall probability; the black line is where sufficiency is 95 %; any further axes are averaged."),
    "report.no_heatmap": ("少于两个数值参数轴，不绘制热力图。", "Fewer than two numeric axes: no heatmap."),
    # scenario parameters (the report's scenario tables; keys as in the scenario file, regions without their id)
    "param.funds.scale": ("全部资金与年度补充资金的倍数", "Scale of every fund and top-up"),
    "param.meta.name": ("情景名称", "Scenario name"),
    "param.meta.currency": ("币种", "Currency"),
    "param.meta.description": ("情景说明", "Description"),
    "param.meta.illustrative": ("示意性数据", "Illustrative figures"),
    "param.meta.sources": ("资料来源", "Sources"),
    "param.simulation.horizon_years": ("模拟期限（年）", "Horizon (years)"),
    "param.simulation.paths": ("模拟路径数", "Monte Carlo paths"),
    "param.simulation.seed": ("随机种子", "Seed"),
    "param.credit.annual_pd": ("年违约概率", "Annual probability of default"),
    "param.credit.asset_correlation": ("资产相关系数（全省）", "Asset correlation (province-wide factor)"),
    "param.credit.city_correlation": ("城市因子相关系数", "City-factor correlation"),
    "param.credit.stress": ("各年违约率压力系数", "Yearly PD stress factors"),
    "param.collateral.recovery_mean": ("平均回收率", "Mean recovery"),
    "param.collateral.recovery_sd": ("回收率标准差", "Standard deviation of recovery"),
    "param.collateral.disposal_cost": ("处置费用率", "Disposal cost"),
    "param.collateral.disposal_months_mean": ("平均处置期（月）", "Mean disposal time (months)"),
    "param.collateral.disposal_months_sd": ("处置期标准差（月）", "Standard deviation of disposal time (months)"),
    "param.collateral.recovery_factor_loading": ("回收率对经济周期的敏感度", "Downturn loading of recoveries"),
    "param.sharing.fund": ("补偿资金池分担比例", "Fund share"),
    "param.sharing.bank": ("银行分担比例", "Bank share"),
    "param.sharing.guarantor": ("担保机构分担比例", "Guarantor share"),
    "param.sharing.insurer": ("保险机构分担比例", "Insurer share"),
    "param.sharing.evaluator": ("评估机构分担比例", "Evaluator share"),
    "param.sharing.tiers.province": ("资金池部分中省级承担", "Province's part of the fund share"),
    "param.sharing.tiers.city": ("资金池部分中市级承担", "City's part of the fund share"),
    "param.sharing.tiers.county": ("资金池部分中县级承担", "County's part of the fund share"),
    "param.sharing.bands.max_loan": ("本档贷款金额上限", "Largest loan in the band"),
    "param.rules.compensation_basis": ("补偿基数", "Compensation basis"),
    "param.rules.claim_lag_months": ("违约后申请补偿的时滞（月）", "Claim lag after default (months)"),
    "param.rules.per_loan_cap": ("单笔补偿上限", "Cap per loan"),
    "param.rules.max_loan": ("单笔贷款金额上限", "Largest loan allowed"),
    "param.rules.shortfall": ("资金不足时的处理", "When a fund runs short"),
    "param.rules.leverage": ("放大倍数上限", "Leverage cap"),
    "param.rules.leverage_scope": ("放大倍数的计算范围", "Scope of the leverage cap"),
    "param.rules.circuit_breaker_npl": ("熔断不良率", "Circuit-breaker NPL ratio"),
    "param.rules.npl_warning": ("预警不良率", "NPL warning ratio"),
    "param.rules.circuit_breaker_months": ("熔断暂停放款（月）", "Circuit-breaker stop (months)"),
    "param.rules.fund_interest_rate": ("资金池存款年利率", "Interest on fund balances (a year)"),
    "param.parties.guarantor.capital": ("担保机构资本", "Guarantor's capital"),
    "param.parties.guarantor.fee_rate": ("担保费率（年）", "Guarantee fee (a year)"),
    "param.parties.insurer.premium_rate": ("保险费率（年）", "Insurance premium (a year)"),
    "param.parties.insurer.loss_ratio_cap": ("保险赔付上限（保费的倍数）", "Insurer's payout cap (multiple of premiums)"),
    "param.regions.id": ("代码", "Id"),
    "param.regions.parent": ("上级", "Parent"),
    "param.regions.fund": ("期初资金", "Initial fund"),
    "param.regions.annual_topup": ("年度补充资金", "Top-up a year"),
    "param.regions.pd_multiplier": ("违约率系数", "PD multiplier"),
    "param.regions.lending.initial_loans": ("期初贷款笔数", "Initial loans"),
    "param.regions.lending.new_loans_per_year": ("年新增贷款笔数", "New loans a year"),
    "param.regions.lending.loan_size_mean": ("平均贷款金额", "Mean loan size"),
    "param.regions.lending.loan_size_cv": ("贷款金额变异系数", "Loan size CV"),
    "param.regions.lending.tenor_months": ("贷款期限（月）", "Tenor (months)"),
    "param.regions.lending.ip_collateral_share": ("知识产权质押占比", "IP collateral share"),
    "choice.compensation_basis.principal": ("本金：先按本金补偿，处置回收后按比例返还", "claim on the principal; recoveries are clawed back later"),
    "choice.compensation_basis.net_loss": ("净损失：处置后按净损失补偿", "claim after the sale, on the net loss"),
    "choice.shortfall.queue": ("排队待付：资金到位后再支付", "the unpaid part waits until money comes in"),
    "choice.shortfall.parent": ("上级资金垫付", "the next fund up pays it"),
    "choice.shortfall.bank": ("银行承担", "the bank bears it"),
    "choice.leverage_scope.province": ("全省在贷余额对全部资金", "province-wide outstanding over all funds"),
    "choice.leverage_scope.county": ("各县在贷余额对本县资金", "each county's outstanding over its own fund"),
}


def translate(labels: dict[str, tuple[str, str]], key: str, lang: Lang, **values: object) -> str:
    """The label ``key`` of ``labels`` in ``lang``, formatted with ``values`` if it has placeholders."""
    text = labels[key][0 if lang == "zh" else 1]
    return text.format(**values) if values else text


def t(key: str, lang: Lang, **values: object) -> str:
    """A label shared by the app, the charts and the report."""
    return translate(LABELS, key, lang, **values)


def money(yuan: float | None, lang: Lang) -> str:
    """A sum of money as analysts read it: 万元/亿元 in Chinese, CNY millions in English.

    >>> money(296_000_000, "zh"), money(4_335_070, "zh"), money(296_000_000, "en")
    ('2.96 亿元', '433.5 万元', 'CNY 296.0 m')
    """
    if yuan is None or (isinstance(yuan, float) and math.isnan(yuan)):
        return "–"
    if lang == "zh":
        return f"{yuan / YI:,.2f} 亿元" if abs(yuan) >= YI else f"{yuan / WAN:,.1f} 万元"
    return f"CNY {yuan / 1e6:,.1f} m"


def money_axis(lang: Lang) -> tuple[float, str]:
    """Divisor and unit of money on chart axes: 万元 in Chinese, CNY m in English."""
    return (WAN, "万元") if lang == "zh" else (1e6, "CNY m")


def percent(p: float | None, se: float | None = None, digits: int = 1) -> str:
    """A probability in per cent, with its standard error when given.

    >>> percent(0.9975, 0.0011, digits=2)
    '99.75 % ± 0.11'
    """
    if p is None:
        return "–"
    text = f"{100 * p:.{digits}f} %"
    return text if se is None else f"{text} ± {100 * se:.{digits}f}"


def month_label(m: int | None, lang: Lang) -> str:
    if m is None:
        return t("none", lang)
    return f"第 {m} 月" if lang == "zh" else f"month {m}"
